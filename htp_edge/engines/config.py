"""Device profiles and the frozen build configuration.

A device profile (``htp_edge/engines/profiles/<name>.json``: desktop, orin-agx, orin-nx, orin-nano)
holds the per-device defaults: workspace size, builder optimisation level, the expected compute
capability and how many DLA cores exist (DLA is always an opt-in). :meth:`BuildConfig.from_profile`
turns a profile plus command-line overrides into one validated :class:`BuildConfig`.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from htp_edge.errors import HtpEdgeError

MIB = 1 << 20
DEFAULT_PROFILE = "desktop"
PROFILES_ENV = "HTP_EDGE_PROFILES"


def profile_dirs() -> list[Path]:
    """Where profiles are looked up: ``$HTP_EDGE_PROFILES`` (the user's own), then the profiles
    the package carries (``htp_edge/engines/profiles``)."""
    from htp_edge.artifacts.resources import profiles_dir
    dirs = []
    if os.environ.get(PROFILES_ENV):
        dirs.append(Path(os.environ[PROFILES_ENV]))
    dirs.append(profiles_dir())
    return dirs


def available_profiles() -> list[str]:
    names = {p.stem for d in profile_dirs() if d.is_dir() for p in d.glob("*.json")}
    return sorted(names)


@dataclass(frozen=True)
class DeviceProfile:
    """Per-device build defaults, read from a profile JSON."""

    name: str
    description: str = ""
    workspace_mib: int = 2048
    builder_optimization_level: int = 3
    strongly_typed: bool = True
    timing_cache: str | None = "auto"
    compute_capability: str | None = None
    dla_cores: int = 0
    dla_gpu_fallback: bool = True

    def __post_init__(self) -> None:
        if self.workspace_mib <= 0:
            raise HtpEdgeError(f"device profile {self.name}: workspace_mib must be positive. "
                               f"Expected > 0, got {self.workspace_mib}.")
        if self.dla_cores < 0:
            raise HtpEdgeError(f"device profile {self.name}: dla.cores must be >= 0, got "
                               f"{self.dla_cores}.")

    @classmethod
    def from_json(cls, data: dict) -> "DeviceProfile":
        dla = data.get("dla") or {}
        return cls(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            workspace_mib=int(data.get("workspace_mib", 2048)),
            builder_optimization_level=int(data.get("builder_optimization_level", 3)),
            strongly_typed=bool(data.get("strongly_typed", True)),
            timing_cache=data.get("timing_cache", "auto"),
            compute_capability=data.get("compute_capability"),
            dla_cores=int(dla.get("cores", 0)),
            dla_gpu_fallback=bool(dla.get("gpu_fallback", True)),
        )


def find_profile(name_or_path: str | os.PathLike) -> Path:
    """Path of a profile given its name (``orin-agx``) or a path to a JSON file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" and candidate.is_file():
        return candidate
    for directory in profile_dirs():
        path = directory / f"{name_or_path}.json"
        if path.is_file():
            return path
    raise HtpEdgeError(
        f"build profile: unknown profile. Expected one of {', '.join(available_profiles()) or '(none found)'} "
        f"or a path to a profile JSON, got {str(name_or_path)!r}. The package carries its profiles in "
        f"htp_edge/engines/profiles/; set {PROFILES_ENV} to a folder of your own.")


def load_profile(name_or_path: str | os.PathLike = DEFAULT_PROFILE) -> DeviceProfile:
    path = find_profile(name_or_path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HtpEdgeError(f"build profile: cannot read {path}. Expected a JSON object, got "
                           f"{type(exc).__name__}: {exc}.") from None
    return DeviceProfile.from_json(data)


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides how an ONNX becomes an engine.

    Precision comes from the ONNX (an FP16 ONNX from ``htp-edge quantize --precision fp16`` or a
    Q/DQ INT8 ONNX) and a strongly typed network. ``fp16_flag_fallback`` asks for TensorRT 10's
    weakly typed ``BuilderFlag.FP16`` instead; it is used only when asked for and refused on
    TensorRT 11. ``timing_cache`` is ``"auto"`` (one file per GPU and TensorRT version beside the
    engine), a path, or ``None`` (no cache).
    """

    profile: str = DEFAULT_PROFILE
    workspace_bytes: int = 2048 * MIB
    builder_optimization_level: int = 3
    strongly_typed: bool = True
    fp16_flag_fallback: bool = False
    dla_core: int | None = None
    dla_gpu_fallback: bool = True
    dla_cores: int | None = None
    timing_cache: str | None = "auto"
    expected_compute_capability: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.timing_cache, str) and self.timing_cache.lower() in ("", "none", "off"):
            object.__setattr__(self, "timing_cache", None)
        if self.workspace_bytes <= 0:
            raise HtpEdgeError(f"build config: workspace must be positive. Expected bytes > 0, "
                               f"got {self.workspace_bytes}.")
        if not 0 <= self.builder_optimization_level <= 5:
            raise HtpEdgeError(f"build config: builder optimisation level out of range. Expected "
                               f"0..5 (3 is TensorRT's default), got {self.builder_optimization_level}.")
        if self.fp16_flag_fallback and self.strongly_typed:
            raise HtpEdgeError(
                "build config: fp16_flag_fallback needs a weakly typed network. Expected "
                "strongly_typed=False with fp16_flag_fallback=True, got both True. Prefer an FP16 "
                "ONNX from `htp-edge quantize --precision fp16` built strongly typed.")
        self._check_dla()

    def _check_dla(self) -> None:
        if self.dla_core is None:
            return
        if self.dla_core < 0:
            raise HtpEdgeError(f"build config: DLA core must be >= 0. Expected 0..N-1, got "
                               f"{self.dla_core}. Leave it unset to build for the GPU.")
        if self.dla_cores is not None and self.dla_core >= self.dla_cores:
            raise HtpEdgeError(
                f"build config: profile {self.profile} has {self.dla_cores} DLA core(s). Expected "
                f"--dla-core in 0..{self.dla_cores - 1}, got {self.dla_core}. "
                + ("This device has no DLA; drop --dla-core." if self.dla_cores == 0 else ""))

    @property
    def workspace_mib(self) -> int:
        return self.workspace_bytes // MIB

    @classmethod
    def from_profile(cls, profile: str | os.PathLike = DEFAULT_PROFILE, **overrides) -> "BuildConfig":
        """Profile defaults, then every override that is not ``None``.

        ``workspace_mib`` is accepted as an override too; ``fp16_flag_fallback=True`` implies a
        weakly typed network.
        """
        prof = load_profile(profile)
        values = dict(profile=prof.name, workspace_bytes=prof.workspace_mib * MIB,
                      builder_optimization_level=prof.builder_optimization_level,
                      strongly_typed=prof.strongly_typed, dla_gpu_fallback=prof.dla_gpu_fallback,
                      dla_cores=prof.dla_cores, timing_cache=prof.timing_cache,
                      expected_compute_capability=prof.compute_capability)
        workspace_mib = overrides.pop("workspace_mib", None)
        if workspace_mib is not None:
            values["workspace_bytes"] = int(workspace_mib) * MIB
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise HtpEdgeError(f"build config: unknown setting(s) {sorted(unknown)}. Expected "
                               f"fields of BuildConfig.")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("fp16_flag_fallback"):
            values["strongly_typed"] = False
        return cls(**values)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)
