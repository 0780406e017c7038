"""Frozen configurations of the denoiser (D3DP's MixSTE2) and of HTP's pruning stages.

The HTP pruning stages are a reconstruction (see :mod:`htp_edge.model.pruning`): every choice
the paper's abstract leaves open is a field here, so that each ablation is a config switch.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from htp_edge.errors import HtpEdgeError

PLAN_SPACES = ("image", "body")


@dataclass(frozen=True)
class PruningConfig:
    """Hierarchical Temporal Pruning: TCEP (frame level) -> SFT MHSA -> MGPTP (token level) -> TRA.

    Layer indices count block pairs (spatial + temporal); a stage placed at layer ``i`` acts
    before block pair ``i``. ``n1`` and ``f`` are static: the exported graph keeps exactly that
    many frames, whatever the input.
    """

    tcep: bool = True
    tcep_layer: int = 1
    n1: int = 121
    eta: float = 1.0          # graph edge threshold: cos-sim > eta * (clip mean similarity)
    tcep_window: int = 4      # temporal neighbourhood radius used for the correlation score
    tcep_alpha: float = 0.5   # weight of motion saliency vs the uniform-coverage prior
    sft: bool = True          # distance-aware temporal attention on the kept frames
    mgptp: bool = True
    mgptp_layer: int = 3
    f: int = 61
    knn_k: int = 2
    mgptp_mode: str = "features"  # "pose2d": cluster the kept frames' 2D poses in the planner graph
    mask_guided: bool = True  # features: learned informativeness mask; pose2d: TCEP's score as the mask
    recovery_skip: bool = True  # TRA query = learned token + the full-frame tokens before pruning
    # the 2D space TCEP and MGPTP (pose2d) score motion in: "image" (normalised image coordinates,
    # so a person's translation and change of size count as motion) or "body" (each frame
    # root-relative and divided by its own 2D body size: articulation only)
    plan_space: str = "image"

    def __post_init__(self) -> None:
        if self.n1 < 1 or self.f < 1:
            raise HtpEdgeError(f"pruning: kept counts must be positive. Expected n1, f >= 1, "
                               f"got n1={self.n1}, f={self.f}.")
        if self.tcep and self.mgptp and self.f > self.n1:
            raise HtpEdgeError(f"pruning: MGPTP keeps a subset of TCEP's frames. Expected f <= n1, "
                               f"got f={self.f}, n1={self.n1}.")
        if self.tcep and self.mgptp and self.mgptp_layer <= self.tcep_layer:
            raise HtpEdgeError(
                f"pruning: MGPTP must come after TCEP. Expected mgptp_layer > tcep_layer, "
                f"got mgptp_layer={self.mgptp_layer}, tcep_layer={self.tcep_layer}.")
        if self.mgptp_mode not in ("features", "pose2d"):
            raise HtpEdgeError(f"pruning: unknown mgptp_mode. Expected features or pose2d, got {self.mgptp_mode!r}.")
        if self.plan_space not in PLAN_SPACES:
            raise HtpEdgeError(f"pruning: unknown plan_space. Expected one of {', '.join(PLAN_SPACES)}, "
                               f"got {self.plan_space!r}.")
        if self.knn_k < 1:
            raise HtpEdgeError(f"pruning: knn_k must be >= 1, got {self.knn_k}.")


@dataclass(frozen=True)
class ModelConfig:
    """The denoiser. Defaults are D3DP's: MixSTE2(243, 17, 2, 512, depth 8, heads 8, mlp 2)."""

    name: str = "d3dp"
    frames: int = 243
    joints: int = 17
    in_chans: int = 2
    embed_dim: int = 512
    depth: int = 8
    num_heads: int = 8
    mlp_ratio: float = 2.0
    qkv_bias: bool = True
    drop_path_rate: float = 0.0
    pruning: PruningConfig | None = None
    causal: bool = False  # each frame attends only to itself and earlier frames (see htp_edge.model.pruning)

    def __post_init__(self) -> None:
        if not isinstance(self.causal, bool):
            raise HtpEdgeError(f"model: causal must be true or false, got {self.causal!r}.")
        for key in ("frames", "joints", "embed_dim", "depth", "num_heads"):
            if getattr(self, key) < 1:
                raise HtpEdgeError(f"model: {key} must be positive, got {getattr(self, key)}.")
        if self.embed_dim % self.num_heads:
            raise HtpEdgeError(
                f"model: embed_dim must be divisible by num_heads. "
                f"Got embed_dim={self.embed_dim}, num_heads={self.num_heads}.")
        if self.embed_dim % 2:
            raise HtpEdgeError(f"model: embed_dim must be even (sinusoidal timestep embedding), got {self.embed_dim}.")
        p = self.pruning
        if p is None:
            return
        for stage, layer in (("tcep", p.tcep_layer), ("mgptp", p.mgptp_layer)):
            if getattr(p, stage) and not 1 <= layer < self.depth:
                raise HtpEdgeError(
                    f"pruning: {stage}_layer out of range. "
                    f"Expected 1..{self.depth - 1} (a block pair index), got {layer}.")
        if p.tcep and p.n1 > self.frames:
            raise HtpEdgeError(f"pruning: n1 exceeds the frame count. Expected n1 <= {self.frames}, got {p.n1}.")
        if p.mgptp and p.f > (p.n1 if p.tcep else self.frames):
            raise HtpEdgeError(f"pruning: f exceeds the frames left before MGPTP, got f={p.f}.")
        if self.causal and self.mgptp_active and p.mgptp_mode != "pose2d":
            raise HtpEdgeError(
                f"model: a causal model plans MGPTP's tokens from the 2D input. Expected mgptp_mode "
                f"'pose2d' with causal=True, got {p.mgptp_mode!r}. Feature clustering ranks every frame "
                f"against later ones; use mgptp_mode='pose2d' or turn MGPTP off.")

    # -- derived -------------------------------------------------------------------------------
    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @property
    def mlp_hidden(self) -> int:
        return int(self.embed_dim * self.mlp_ratio)

    @property
    def tcep_active(self) -> bool:
        p = self.pruning
        return p is not None and p.tcep and p.n1 < self.frames

    @property
    def mgptp_active(self) -> bool:
        p = self.pruning
        return p is not None and p.mgptp and p.f < (p.n1 if self.tcep_active else self.frames)

    @property
    def planned_tokens(self) -> bool:
        """MGPTP's token choice comes from the 2D input (planner graph) rather than features."""
        return self.mgptp_active and self.pruning.mgptp_mode == "pose2d"

    @property
    def has_planner(self) -> bool:
        return self.tcep_active or self.planned_tokens

    @property
    def prunes(self) -> bool:
        return self.tcep_active or self.mgptp_active

    def frames_at(self, layer: int) -> int:
        """Number of frames that block pair ``layer`` runs on."""
        n = self.frames
        p = self.pruning
        if self.tcep_active and layer >= p.tcep_layer:
            n = p.n1
        if self.mgptp_active and layer >= p.mgptp_layer:
            n = p.f
        return n

    def with_frames(self, frames: int) -> "ModelConfig":
        """The same architecture at another frame count, pruning ratios kept (rounded up)."""
        p = self.pruning
        if p is not None:
            n1 = max(1, -(-p.n1 * frames // self.frames))
            f = max(1, -(-p.f * frames // self.frames))
            p = replace(p, n1=min(n1, frames), f=min(f, n1, frames))
        return replace(self, frames=frames, pruning=p)

    def tag(self) -> str:
        """Architecture tag (see :mod:`htp_edge.artifacts.naming`), e.g. ``htp_f243_n121_m61``."""
        parts = [self.name.split("-")[0], f"f{self.frames}"]
        if self.tcep_active:
            parts.append(f"n{self.pruning.n1}")
        if self.mgptp_active:
            parts.append(f"m{self.pruning.f}")
        if self.embed_dim != 512 or self.depth != 8:
            parts.append(f"c{self.embed_dim}d{self.depth}")
        if self.causal:
            parts.append("causal")
        return "_".join(parts)


def _presets() -> dict[str, ModelConfig]:
    small = dict(frames=27, embed_dim=128, depth=4, num_heads=4)
    return {
        "d3dp": ModelConfig(name="d3dp"),
        "htp": ModelConfig(name="htp", pruning=PruningConfig(mgptp_mode="pose2d")),
        "d3dp-small": ModelConfig(name="d3dp-small", **small),
        "htp-small": ModelConfig(
            name="htp-small", **small,
            pruning=PruningConfig(tcep_layer=1, n1=14, mgptp_layer=2, f=7, mgptp_mode="pose2d")),
    }




CAUSAL_SUFFIX = "-causal"


def causal_variant(cfg: ModelConfig) -> ModelConfig:
    """The same architecture with causal temporal attention, named ``<name>-causal``."""
    name = cfg.name if cfg.name.endswith(CAUSAL_SUFFIX) else cfg.name + CAUSAL_SUFFIX
    return replace(cfg, name=name, causal=True)


def with_plan_space(cfg: ModelConfig, space: str) -> ModelConfig:
    """The same architecture with TCEP/MGPTP scoring in ``space`` (:data:`PLAN_SPACES`); a model
    without pruning is returned as it is (it has no plan)."""
    if cfg.pruning is None or cfg.pruning.plan_space == space:
        return cfg
    return replace(cfg, pruning=replace(cfg.pruning, plan_space=space))


# which of HTP's two pruning stages a model runs: "both" (HTP), or one alone for an ablation
PRUNING_STAGES = ("both", "tcep", "mgptp")


def with_pruning_stages(cfg: ModelConfig, stages: str) -> ModelConfig:
    """The same architecture with only TCEP or only MGPTP on (:data:`PRUNING_STAGES`), named
    ``<name>-tcep`` / ``<name>-mgptp``; ``both`` returns ``cfg``. The stage kept has its preset's
    layer and count (MGPTP alone keeps ``f`` of all F frames at its layer). Raises
    :class:`HtpEdgeError` for a model without pruning or an unknown choice."""
    if stages not in PRUNING_STAGES:
        raise HtpEdgeError(f"model: unknown pruning stages. Expected one of {', '.join(PRUNING_STAGES)}, "
                           f"got {stages!r}.")
    if stages == "both":
        return cfg
    if cfg.pruning is None:
        raise HtpEdgeError(f"model: {cfg.name} has no pruning to take a stage from. Expected an htp model with "
                           f"--pruning {stages}, got {cfg.name} (an unpruned model is the d3dp preset).")
    base = cfg.name.removesuffix(CAUSAL_SUFFIX)
    name = f"{base}-{stages}" + (CAUSAL_SUFFIX if cfg.name.endswith(CAUSAL_SUFFIX) else "")
    return replace(cfg, name=name, pruning=replace(cfg.pruning, tcep=stages == "tcep", mgptp=stages == "mgptp"))


def preset(name: str, frames: int | None = None) -> ModelConfig:
    """A named architecture (``d3dp``, ``htp``, ``d3dp-small``, ``htp-small``), optionally at another F;
    ``<name>-causal`` is its causal variant (:func:`causal_variant`)."""
    presets = _presets()
    base = name.removesuffix(CAUSAL_SUFFIX)
    if base not in presets:
        raise HtpEdgeError(f"model: unknown preset. Expected one of {', '.join(presets)} (optionally with "
                           f"{CAUSAL_SUFFIX}), got {name!r}.")
    cfg = presets[base] if base == name else causal_variant(presets[base])
    return cfg.with_frames(frames) if frames and frames != cfg.frames else cfg


def preset_names() -> tuple[str, ...]:
    return tuple(_presets())
