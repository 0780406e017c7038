"""Comparing ONNX models on the workstation, through the one comparator
(:mod:`htp_edge.runtime.compare`) and the shared tolerance table.

- :func:`compare_with_onnxruntime`: run one ONNX file with ONNX Runtime on a feed and compare
  with given reference outputs (e.g. from torch).
- :func:`compare_onnx_files`: run two ONNX files (e.g. FP32 vs FP16/INT8) on the same feeds with
  Polygraphy's ``Comparator`` and ONNX Runtime runners.

Tolerances are a precision name (looked up per output in :mod:`htp_edge.tolerances`; integer
outputs the table does not name get its exact "index" row), a mapping ``{output name: Tol}``
("*" for the rest) or one :class:`~htp_edge.tolerances.Tol` for all. Index outputs
(``Tol.exact``) are judged by their agreement (fraction of equal elements).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from htp_edge.artifacts.onnx_meta import ORT_DTYPES
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.compare import (
    CompareReport,
    OutputDiff,
    Tolerances,
    compare_outputs,
    compare_pairs,
    is_index,
    resolve_tolerance,
)

IntSampler = Callable[[str, tuple, np.dtype, np.random.Generator], np.ndarray]


# -- ONNX Runtime helpers ----------------------------------------------------------------------

def ort_session(path_or_model, providers=("CPUExecutionProvider",)):
    """An ONNX Runtime session for a path or ``onnx.ModelProto`` (CPU by default)."""
    import onnxruntime as ort

    is_path = isinstance(path_or_model, (str, Path))
    source = str(path_or_model) if is_path else path_or_model.SerializeToString()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(source, sess_options=options, providers=list(providers))
    except Exception as err:  # onnxruntime raises its own exception types
        raise HtpEdgeError(f"ONNX Runtime: cannot load the model. Expected a valid ONNX graph, "
                           f"got: {' '.join(str(err).split())[:300]}.") from None


def run_onnxruntime(path_or_model, feed: Mapping[str, np.ndarray],
                    providers=("CPUExecutionProvider",), session=None) -> dict[str, np.ndarray]:
    """Run a model once; returns ``{output name: array}``."""
    session = session or ort_session(path_or_model, providers)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(feed))))


def random_feed(session, rng: np.random.Generator,
                int_sampler: IntSampler | None = None) -> dict[str, np.ndarray]:
    """Random inputs of the session's static shapes: floats ~ N(0, 1), ints from ``int_sampler``.

    Integer and boolean inputs usually index something (timesteps, joints), so they need a
    sampler that knows their valid range: ``int_sampler(name, shape, dtype, rng) -> array``.
    """
    feed = {}
    for spec in session.get_inputs():
        shape = tuple(spec.shape)
        if not all(isinstance(d, int) for d in shape):
            raise HtpEdgeError(f"random feed: input '{spec.name}' has a dynamic shape. Expected "
                               f"static dims, got {shape}. Export with static shapes or pass a "
                               f"feed.")
        dtype = np.dtype(ORT_DTYPES.get(spec.type, np.float32))
        if np.issubdtype(dtype, np.floating):
            feed[spec.name] = rng.standard_normal(shape).astype(dtype)
        elif int_sampler is None:
            raise HtpEdgeError(f"random feed: input '{spec.name}' is {dtype.name}. Expected a "
                               f"valid-range sampler for integer inputs, got none. Pass a feed or "
                               f"int_sampler(name, shape, dtype, rng).")
        else:
            feed[spec.name] = np.asarray(int_sampler(spec.name, shape, dtype, rng), dtype=dtype)
    return feed


# -- comparisons -------------------------------------------------------------------------------

def compare_with_onnxruntime(onnx_path, feed: Mapping[str, np.ndarray],
                             reference_outputs: Mapping[str, np.ndarray],
                             tolerances: Tolerances) -> CompareReport:
    """Run ``onnx_path`` on ``feed`` with ONNX Runtime (CPU); compare to ``reference_outputs``."""
    actual = run_onnxruntime(onnx_path, feed)
    return compare_outputs(reference_outputs, actual, tolerances, tool="onnxruntime")


def compare_onnx_files(reference_path, candidate_path,
                       feeds: Iterable[Mapping[str, np.ndarray]],
                       tolerances: Tolerances, providers=("cpu",),
                       verbose: bool = False) -> CompareReport:
    """Compare two ONNX files on the same feeds with Polygraphy (``Comparator.run`` +
    ``compare_accuracy``, ONNX Runtime runners, ``SimpleCompareFunc``).

    The verdict ``ok`` follows the shared tolerance table (element-wise
    ``atol + rtol * |ref|``, agreement for index outputs); Polygraphy's own verdict (element-wise,
    fails where both atol and rtol are exceeded) is kept as ``polygraphy_passed``. Polygraphy's
    log is shown only with ``verbose``.
    """
    from polygraphy.exception import PolygraphyException
    from polygraphy.logger import G_LOGGER

    feeds = [dict(f) for f in feeds]
    if not feeds:
        raise HtpEdgeError("compare: no feeds. Expected at least one feed, got 0.")
    severity = G_LOGGER.INFO if verbose else G_LOGGER.CRITICAL
    try:
        with G_LOGGER.verbosity(severity), np.errstate(divide="ignore", invalid="ignore"):
            results, accuracy, tols = _polygraphy_run(reference_path, candidate_path, feeds,
                                                      tolerances, providers)
    except PolygraphyException as err:
        raise HtpEdgeError(f"compare (Polygraphy): the comparison failed to run. Expected two "
                           f"loadable ONNX files and feeds matching their inputs, got: "
                           f"{' '.join(str(err).split())[:300]}.") from None
    reference, candidate = results["reference"], results["candidate"]
    names = list(tols)
    pairs = {name: [(np.asarray(r[name]), np.asarray(c[name]))
                    for c, r in zip(candidate, reference)] for name in names}
    outputs = _polygraphy_stats(compare_pairs(pairs, tols, "polygraphy").outputs, accuracy)
    return CompareReport(ok=all(o.passed for o in outputs), outputs=outputs, feeds=len(feeds),
                         tool="polygraphy", polygraphy_passed=bool(accuracy))


def _polygraphy_run(reference_path, candidate_path, feeds, tolerances, providers):
    """Run both files with ONNX Runtime runners and compare candidate against reference."""
    from polygraphy.backend.onnxrt import OnnxrtRunner, SessionFromOnnx
    from polygraphy.comparator import Comparator, SimpleCompareFunc

    runners = [OnnxrtRunner(SessionFromOnnx(str(path), providers=list(providers)), name=name)
               for name, path in (("reference", reference_path), ("candidate", candidate_path))]
    results = Comparator.run(runners, data_loader=feeds)
    first = results["reference"][0]
    tols = {name: resolve_tolerance(tolerances, name, is_index(first[name]))
            for name in first.keys()}
    func = SimpleCompareFunc(atol={n: t.atol for n, t in tols.items()},
                             rtol={n: t.rtol for n, t in tols.items()}, check_error_stat="elemwise")
    accuracy = Comparator.compare_accuracy(results, comparisons=[(1, 0)], compare_func=func)
    return results, accuracy, tols


def _finite_max(values) -> float:
    """Largest non-NaN value (0.0 when there is none)."""
    finite = [v for v in values if v == v]
    return max(finite) if finite else 0.0


def _polygraphy_stats(outputs: tuple[OutputDiff, ...], accuracy) -> tuple[OutputDiff, ...]:
    """Take max abs/rel diffs from Polygraphy's per-iteration results where it reports them."""
    per_output: dict[str, list] = {}
    for result in accuracy:
        for iterations in result.values():
            for iteration in iterations:
                for name, cmp in iteration.items():
                    if getattr(cmp, "max_absdiff", None) is not None:
                        per_output.setdefault(name, []).append(cmp)
    merged = []
    for diff in outputs:
        found = per_output.get(diff.name)
        if found:
            diff = dataclasses.replace(diff, max_abs=_finite_max(c.max_absdiff for c in found),
                                       max_rel=_finite_max(c.max_reldiff for c in found))
        merged.append(diff)
    return tuple(merged)
