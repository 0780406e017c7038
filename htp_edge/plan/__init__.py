"""The latency-budget planner (workstation half): sweep a checkpoint's own knobs -- TCEP's kept
frames n1, MGPTP's kept tokens f, DDIM steps K, hypotheses H, flip and precision -- on one
backend, measure MPJPE (:mod:`htp_edge.evaluation`) and latency (:mod:`htp_edge.bench`) of each
setting, and keep the Pareto front of (MPJPE, p50 latency).

* :mod:`~htp_edge.plan.grid`: the sweep grid and one setting (frozen, validated).
* :mod:`~htp_edge.plan.variants`: a checkpoint at other n1 / f (no retraining).
* :mod:`~htp_edge.plan.graphs`: the graph each setting runs (FP32 export, quantised variant).
* :mod:`~htp_edge.plan.measure`: accuracy and latency of one setting.
* :mod:`~htp_edge.plan.results`: the result cache (checkpoint sha256, setting, backend, data, host).
* :mod:`~htp_edge.plan.front`: the Pareto front and the recommendation under a budget.
* :mod:`~htp_edge.plan.commands`: the export / quantize / build commands of a point.
* :mod:`~htp_edge.plan.plot`: MPJPE vs p50 latency.
* :mod:`~htp_edge.plan.sweep`: the whole run.
"""
