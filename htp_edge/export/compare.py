"""Numerical comparison of ONNX models against reference outputs, with the shared tolerance table.

- :func:`compare_outputs`: two ``{name: array}`` dicts, pure numpy.
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

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Union

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.tolerances import Tol, agreement, tolerance

Tolerances = Union[str, Tol, Mapping[str, Tol]]
IntSampler = Callable[[str, tuple, np.dtype, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class OutputDiff:
    """Worst differences of one output over all compared feeds (``agreement``: smallest
    fraction of equal elements, for integer/bool outputs only)."""

    name: str
    max_abs: float
    max_rel: float
    agreement: float | None
    passed: bool
    tol: Tol


@dataclass(frozen=True)
class CompareReport:
    """Per-output differences; ``ok`` when every output passed its tolerance."""

    ok: bool
    outputs: tuple[OutputDiff, ...]
    feeds: int
    tool: str
    polygraphy_passed: bool | None = None

    @property
    def max_abs(self) -> dict[str, float]:
        return {o.name: o.max_abs for o in self.outputs}

    @property
    def max_rel(self) -> dict[str, float]:
        return {o.name: o.max_rel for o in self.outputs}

    def failures(self) -> list[str]:
        return [f"{o.name} (max abs {o.max_abs:.3g}"
                + (f", agreement {o.agreement:.3f})" if o.agreement is not None else ")")
                for o in self.outputs if not o.passed]


def resolve_tolerance(tolerances: Tolerances, output: str, is_index: bool = False) -> Tol:
    """The :class:`Tol` of ``output`` from a precision name, a mapping or a single Tol."""
    if isinstance(tolerances, Tol):
        return tolerances
    if isinstance(tolerances, str):
        return tolerance(tolerances, output, is_index=is_index)
    if output in tolerances:
        return tolerances[output]
    if "*" in tolerances:
        return tolerances["*"]
    raise HtpEdgeError(f"compare: no tolerance for output '{output}'. Expected a key "
                       f"'{output}' or '*', got keys {sorted(tolerances)}.")


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


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
              "tensor(double)": np.float64, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
              "tensor(bool)": np.bool_}


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
        dtype = np.dtype(_ORT_TYPES.get(spec.type, np.float32))
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

def _is_index(array: np.ndarray) -> bool:
    return not np.issubdtype(np.asarray(array).dtype, np.floating)


def _stats(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float, float | None]:
    """(max abs diff, max rel diff, agreement or None for float outputs) of two arrays."""
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    diff = np.abs(a - e)
    rel = diff / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    agree = None if np.issubdtype(expected.dtype, np.floating) else agreement(actual, expected)
    if diff.size == 0:
        return 0.0, 0.0, agree
    return float(diff.max()), float(rel.max()), agree


def _check_shapes(name: str, actual: np.ndarray, expected: np.ndarray) -> None:
    if actual.shape != expected.shape:
        raise HtpEdgeError(f"compare: output '{name}' shape differs. Expected {expected.shape}, "
                           f"got {actual.shape}.")


def _diffs(pairs: Mapping[str, list], tolerances: Tolerances) -> tuple[OutputDiff, ...]:
    """Fold per-feed (actual, expected) pairs of each output into one OutputDiff."""
    result = []
    for name, items in pairs.items():
        tol = resolve_tolerance(tolerances, name, _is_index(items[0][1]))
        stats = [_stats(a, e) for a, e in items]
        result.append(OutputDiff(
            name=name, max_abs=max(s[0] for s in stats), max_rel=max(s[1] for s in stats),
            agreement=None if stats[0][2] is None else min(s[2] for s in stats),
            passed=all(tol.passes(a, e) for a, e in items), tol=tol))
    return tuple(result)


def compare_outputs(actual: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray],
                    tolerances: Tolerances, tool: str = "numpy") -> CompareReport:
    """Compare every output in ``expected`` with the same-named output in ``actual``."""
    missing = sorted(set(expected) - set(actual))
    if missing:
        raise HtpEdgeError(f"compare: outputs missing. Expected {sorted(expected)}, got "
                           f"{sorted(actual)} (missing {missing}).")
    pairs = {}
    for name, exp in expected.items():
        act, exp = np.asarray(actual[name]), np.asarray(exp)
        _check_shapes(name, act, exp)
        pairs[name] = [(act, exp)]
    outputs = _diffs(pairs, tolerances)
    return CompareReport(ok=all(o.passed for o in outputs), outputs=outputs, feeds=1, tool=tool)


def compare_with_onnxruntime(onnx_path, feed: Mapping[str, np.ndarray],
                             reference_outputs: Mapping[str, np.ndarray],
                             tolerances: Tolerances) -> CompareReport:
    """Run ``onnx_path`` on ``feed`` with ONNX Runtime (CPU); compare to ``reference_outputs``."""
    actual = run_onnxruntime(onnx_path, feed)
    return compare_outputs(actual, reference_outputs, tolerances, tool="onnxruntime")


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
    pairs = {name: [(np.asarray(c[name]), np.asarray(r[name]))
                    for c, r in zip(candidate, reference)] for name in names}
    for name, items in pairs.items():
        for act, exp in items:
            _check_shapes(name, act, exp)
    outputs = _polygraphy_stats(_diffs(pairs, tols), accuracy)
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
    tols = {name: resolve_tolerance(tolerances, name, _is_index(first[name]))
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
            diff = OutputDiff(name=diff.name, max_abs=_finite_max(c.max_absdiff for c in found),
                              max_rel=_finite_max(c.max_reldiff for c in found),
                              agreement=diff.agreement, passed=diff.passed, tol=diff.tol)
        merged.append(diff)
    return tuple(merged)
