"""The self-description every exported graph carries: a typed, frozen record.

Written by the export stage into ONNX ``metadata_props[META_GRAPH]`` (and the engine manifest's
``graph``), read back by the runtime. :meth:`GraphMeta.from_json` checks types and ranges and
refuses a record that cannot describe a graph this runtime can run; :meth:`check_io` checks the
record against the graph's real inputs and outputs.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from htp_edge.artifacts import names
from htp_edge.artifacts.naming import GraphLayout
from htp_edge.errors import HtpEdgeError

KINDS = ("denoiser", "planner", "sampler")
LAYOUT_TEXT = "N = flip x clip x hypothesis (flip outermost)"


def _int(data: Mapping, key: str, where: str, low: int = 1, optional: bool = False) -> int | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HtpEdgeError(f"{where}: graph metadata field {key!r} must be an integer >= {low}, got {value!r}. "
                           f"Re-export the graph with `htp-edge export`.")
    return value


def _sha(data: Mapping, key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise HtpEdgeError(f"{where}: graph metadata field {key!r} must be a hex sha256, got {value!r}.")
    return value


@dataclass(frozen=True)
class GraphMeta:
    """What a graph is (kind, model config) and its static batch layout."""

    kind: str
    frames: int
    joints: int
    clips: int
    hypotheses: int
    flip: bool
    batch: int | None            # None: any batch (eager torch)
    steps: int | None = None     # unrolled DDIM steps (sampler graphs)
    n1: int | None = None        # TCEP's kept frames
    planner: bool = False        # a planner graph must run first
    kept: int | None = None      # tokens reaching the last block
    tag: str = ""
    model: Mapping[str, Any] = field(default_factory=dict)
    origin: Mapping[str, Any] = field(default_factory=dict)
    macs_per_pass: float | None = None
    planner_sha256: str | None = None  # the planner graph exported with this one (set integrity)
    causal: bool = False         # output frame t sees input frames <= t only: stream the newest frame
    layout_text: str = LAYOUT_TEXT

    # -- derived -----------------------------------------------------------------------------
    @property
    def layout(self) -> GraphLayout:
        return GraphLayout(clips=self.clips, hypotheses=self.hypotheses, flip=self.flip, steps=self.steps)

    @property
    def unrolled(self) -> bool:
        return self.kind == "sampler"

    @property
    def model_name(self) -> str:
        return str(self.model.get("name", self.tag or "model"))

    def expected_batch(self) -> int:
        """Denoiser passes per call for denoiser and sampler graphs; clips for the planner."""
        if self.kind == "planner":
            return self.clips
        return self.clips * self.hypotheses * (2 if self.flip else 1)

    # -- JSON --------------------------------------------------------------------------------
    def to_json(self) -> dict:
        data = asdict(self)
        data["layout"] = data.pop("layout_text")
        data["model"], data["origin"] = dict(self.model), dict(self.origin)
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), default=str)

    @classmethod
    def from_json(cls, data: Any, where: str = "graph") -> "GraphMeta":
        if not isinstance(data, Mapping):
            raise HtpEdgeError(f"{where}: graph metadata must be a JSON object, got {type(data).__name__}. "
                               f"Re-export the graph with `htp-edge export`.")
        kind = data.get("kind")
        if kind not in KINDS:
            raise HtpEdgeError(f"{where}: graph metadata field 'kind' must be one of {', '.join(KINDS)}, "
                               f"got {kind!r}.")
        flip = data.get("flip")
        if not isinstance(flip, bool):
            raise HtpEdgeError(f"{where}: graph metadata field 'flip' must be true or false, got {flip!r}.")
        for key in ("model", "origin"):
            if data.get(key) is not None and not isinstance(data.get(key), Mapping):
                raise HtpEdgeError(f"{where}: graph metadata field {key!r} must be an object, got "
                                   f"{type(data.get(key)).__name__}.")
        causal = data.get("causal", (data.get("model") or {}).get("causal", False))
        if not isinstance(causal, bool):
            raise HtpEdgeError(f"{where}: graph metadata field 'causal' must be true or false, got {causal!r}.")
        macs = data.get("macs_per_pass")
        if macs is not None and (isinstance(macs, bool) or not isinstance(macs, (int, float)) or macs <= 0):
            raise HtpEdgeError(f"{where}: graph metadata field 'macs_per_pass' must be a positive number, "
                               f"got {macs!r}.")
        meta = cls(
            kind=kind, frames=_int(data, "frames", where), joints=_int(data, "joints", where),
            clips=_int(data, "clips", where), hypotheses=_int(data, "hypotheses", where), flip=flip,
            batch=_int(data, "batch", where, optional=True), steps=_int(data, "steps", where, optional=True),
            n1=_int(data, "n1", where, optional=True), planner=bool(data.get("planner", data.get("n1"))),
            kept=_int(data, "kept", where, optional=True), tag=str(data.get("tag") or ""),
            model=dict(data.get("model") or {}), origin=dict(data.get("origin") or {}),
            macs_per_pass=float(macs) if macs is not None else None,
            planner_sha256=_sha(data, "planner_sha256", where), causal=causal,
            layout_text=str(data.get("layout") or LAYOUT_TEXT))
        if kind == "sampler" and meta.steps is None:
            raise HtpEdgeError(f"{where}: a sampler graph must record its unrolled 'steps', got none.")
        if meta.n1 is not None and meta.n1 > meta.frames:
            raise HtpEdgeError(f"{where}: graph metadata keeps n1={meta.n1} of {meta.frames} frames. "
                               f"Expected n1 <= frames.")
        if meta.batch is not None and meta.batch != meta.expected_batch():
            raise HtpEdgeError(f"{where}: graph metadata batch {meta.batch} does not match its layout "
                               f"(clips {meta.clips} x hypotheses {meta.hypotheses} x flip {meta.flip} -> "
                               f"{meta.expected_batch()} for a {kind} graph).")
        return meta

    @classmethod
    def loads(cls, text: str, where: str = "graph") -> "GraphMeta":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise HtpEdgeError(f"{where}: graph metadata is not valid JSON ({exc}). Re-export the graph.") from None
        return cls.from_json(data, where)

    def replace(self, **changes) -> "GraphMeta":
        return dataclasses.replace(self, **changes)

    # -- agreement with the graph ------------------------------------------------------------
    def check_io(self, inputs: Sequence, outputs: Sequence, where: str = "graph") -> None:
        """Refuse a record that disagrees with the graph's real I/O (``TensorSpec`` lists)."""
        ins = {s.name: s for s in inputs}
        outs = {s.name for s in outputs}
        need_in = {names.KEYPOINTS_2D}
        if self.kind == "denoiser":
            need_in |= {names.NOISY_POSE, names.TIMESTEP}
            need_out = {names.POSE_3D}
        elif self.kind == "sampler":
            need_in |= {names.NOISE}
            need_out = {names.POSE_3D}
        else:
            need_out = set()
        missing = sorted(need_in - set(ins)) + sorted(need_out - outs)
        if missing:
            raise HtpEdgeError(f"{where}: the graph lacks {missing} that its metadata ({self.kind}) requires. "
                               f"Expected a graph written by `htp-edge export`, got inputs {sorted(ins)}, "
                               f"outputs {sorted(outs)}.")
        shape = ins[names.KEYPOINTS_2D].shape
        if shape is None:
            return
        rows = self.batch if self.kind == "denoiser" and self.batch is not None else self.clips
        want = (rows, self.frames, self.joints, 2)
        if len(shape) != 4 or any(d is not None and int(d) != w for d, w in zip(shape, want)):
            raise HtpEdgeError(f"{where}: input {names.KEYPOINTS_2D!r} has shape {tuple(shape)} but the metadata "
                               f"says {want}. The metadata does not describe this graph; re-export it.")
