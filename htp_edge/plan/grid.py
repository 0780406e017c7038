"""The sweep grid of the planner and one point of it (a :class:`Setting`).

A setting is everything the planner may change without retraining: TCEP's kept frames ``n1``
and MGPTP's kept tokens ``f`` (``None`` for a model without pruning, e.g. d3dp), DDIM steps K,
hypotheses H, the flip augmentation and the precision of the graph. The grid is the cross
product of value lists; combinations the model cannot run (f > n1, n1 > F, or no pruning left
at all) are skipped with the reason.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

from htp_edge.errors import HtpEdgeError

PRECISIONS = ("fp32", "fp16", "int8", "int8-dynamic", "int8-cpu")
# what each backend runs; fp16 and INT8 are ONNX graphs (htp-edge quantize), so torch runs FP32 only
BACKEND_PRECISIONS = {"onnxruntime": PRECISIONS, "openvino": ("fp32",), "torch": ("fp32",)}
# the default sweep: INT8 dynamic is ONNX Runtime's fast CPU format; FP16 has no fast CPU kernels
DEFAULT_PRECISIONS = {"onnxruntime": ("fp32", "int8-dynamic"), "openvino": ("fp32",), "torch": ("fp32",)}
MAX_STEPS, MAX_HYPOTHESES = 1000, 64


@dataclass(frozen=True)
class Setting:
    """One point of the sweep."""

    n1: int | None
    f: int | None
    steps: int = 1
    hypotheses: int = 1
    flip: bool = True
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if (self.n1 is None) != (self.f is None):
            raise HtpEdgeError(f"plan: n1 and f go together. Expected both or neither, got n1={self.n1}, f={self.f}.")
        for name, value in (("n1", self.n1), ("f", self.f)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise HtpEdgeError(f"plan: {name} must be a positive integer, got {value!r}.")
        for name, high in (("steps", MAX_STEPS), ("hypotheses", MAX_HYPOTHESES)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise HtpEdgeError(f"plan: {name} must be an integer from 1 to {high}, got {value!r}.")
        if self.precision not in PRECISIONS:
            raise HtpEdgeError(f"plan: unknown precision. Expected one of {', '.join(PRECISIONS)}, "
                               f"got {self.precision!r}.")

    @property
    def pruned(self) -> bool:
        return self.n1 is not None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Setting":
        return cls(**{k: d[k] for k in ("n1", "f", "steps", "hypotheses", "flip", "precision")})

    def label(self) -> str:
        """A short label for tables and plots, e.g. ``n1=14 f=7 K1 H1 flip fp32``."""
        knobs = f"n1={self.n1} f={self.f} " if self.pruned else ""
        return f"{knobs}K{self.steps} H{self.hypotheses} {'flip' if self.flip else 'noflip'} {self.precision}"


@dataclass(frozen=True)
class Grid:
    """Value lists of every knob; ``n1``/``f`` are ``(None,)`` for a model without pruning."""

    n1: tuple[int | None, ...]
    f: tuple[int | None, ...]
    steps: tuple[int, ...] = (1,)
    hypotheses: tuple[int, ...] = (1,)
    flip: tuple[bool, ...] = (True, False)
    precision: tuple[str, ...] = ("fp32",)

    def __post_init__(self) -> None:
        for name in ("n1", "f", "steps", "hypotheses", "flip", "precision"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not values:
                raise HtpEdgeError(f"plan: the {name} list is empty. Expected at least one value, got {values!r}.")
            if len(set(values)) != len(values):
                raise HtpEdgeError(f"plan: the {name} list repeats a value, got {', '.join(map(str, values))}.")

    def settings(self, frames: int) -> tuple[list[Setting], list[dict]]:
        """Every runnable setting for a model of ``frames`` frames, and the skipped combinations."""
        kept, skipped = [], []
        for n1, f in itertools.product(self.n1, self.f):
            reason = pruning_problem(n1, f, frames)
            if reason:
                skipped.append({"n1": n1, "f": f, "reason": reason})
                continue
            for k, h, flip, prec in itertools.product(self.steps, self.hypotheses, self.flip, self.precision):
                kept.append(Setting(n1=n1, f=f, steps=k, hypotheses=h, flip=flip, precision=prec))
        if not kept:
            raise HtpEdgeError(f"plan: no runnable setting in the grid. Expected f <= n1 <= {frames} and some "
                               f"pruning left, got n1 {list(self.n1)}, f {list(self.f)}: "
                               + "; ".join(f"n1={s['n1']} f={s['f']}: {s['reason']}" for s in skipped[:3]) + ".")
        return kept, skipped


def pruning_problem(n1: int | None, f: int | None, frames: int) -> str | None:
    """Why the model cannot run with (n1, f), or None."""
    if n1 is None or f is None:
        return None if n1 is f else "n1 and f go together"
    if n1 > frames:
        return f"n1 exceeds the {frames} frames"
    if f > n1:
        return "MGPTP keeps a subset of TCEP's frames (f <= n1)"
    if n1 == frames and f == n1:
        return "nothing pruned: the token recovery the checkpoint was trained with would be dropped"
    return None


def default_grid(frames: int, n1: int | None, f: int | None, backend: str) -> Grid:
    """A small CPU grid around the trained (n1, f): n1 at 2/3, 1 and 4/3 of the trained value, f at
    0.6 and 1; K=1, H=1; flip on and off; FP32 and the backend's fast reduced precision."""
    if n1 is None or f is None:
        n1s, fs = (None,), (None,)
    else:
        n1s = tuple(sorted({max(f, round(n1 * 2 / 3)), n1, min(frames, round(n1 * 4 / 3))}))
        fs = tuple(sorted({max(1, round(f * 0.6)), f}))
    return Grid(n1=n1s, f=fs, steps=(1,), hypotheses=(1,), flip=(True, False),
                precision=DEFAULT_PRECISIONS[backend])


def check_backend(backend: str, precisions) -> None:
    """Refuse a backend the planner cannot sweep, or a precision it does not run."""
    if backend == "tensorrt":
        raise HtpEdgeError("plan: the tensorrt backend is not swept yet (every point would need an engine built on "
                           "the device). Expected onnxruntime or torch, got 'tensorrt'. Plan on onnxruntime, then "
                           "build the recommended graph with the printed htp-edge build command.")
    if backend not in BACKEND_PRECISIONS:
        raise HtpEdgeError(f"plan: unknown backend. Expected one of {', '.join(BACKEND_PRECISIONS)}, got {backend!r}.")
    bad = [p for p in precisions if p not in BACKEND_PRECISIONS[backend]]
    if bad:
        raise HtpEdgeError(f"plan: the {backend} backend does not run {', '.join(bad)}. Expected "
                           f"{', '.join(BACKEND_PRECISIONS[backend])} there, got --precision {','.join(precisions)}. "
                           f"Reduced precisions are ONNX graphs: use --backend onnxruntime.")
