"""The INT8 calibration set: real inputs the denoiser actually sees (numpy + the runtime).

Clips come from the real-motion *train* split (random virtual cameras, detector-like noise), or
from an outside dataset's training subjects (``dataset=``: its own 2D, F-frame windows);
the noisy poses x_t are recorded at every DDIM step while the FP32 graph samples, so the
activation ranges match deployment rather than random noise. The set is stored as one .npz
(feeds stacked per input) with its sha256, which goes into the quantized model's metadata.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from htp_edge.errors import HtpEdgeError


@dataclass(frozen=True)
class CalibrationRecipe:
    split: str = "train"
    clips: int = 24
    steps: int = 5
    seed: int = 1234
    description: str = ""

    def __post_init__(self) -> None:
        if self.clips < 1 or self.steps < 1:
            raise HtpEdgeError(f"calibration: clips and steps must be >= 1, "
                               f"got clips={self.clips}, steps={self.steps}.")

    @classmethod
    def from_file(cls, path) -> "CalibrationRecipe":
        try:
            data = json.loads(Path(path).read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise HtpEdgeError(f"calibration: cannot read recipe {path} ({exc}). Expected a JSON object with "
                               f"split, clips, steps, seed.") from None


class _Recorder:
    """Wraps a runner and keeps a copy of every feed it is given."""

    def __init__(self, runner) -> None:
        self.runner, self.feeds = runner, []

    def __getattr__(self, name):
        return getattr(self.runner, name)

    def infer(self, feed):
        self.feeds.append({k: np.array(v) for k, v in feed.items()})
        return self.runner.infer(feed)


def train_clips(frames: int, recipe: CalibrationRecipe, cache_dir=None, dataset=None) -> np.ndarray:
    """(clips, F, 17, 2) normalised 2D clips from the recipe's split (of ``dataset``, a
    :class:`htp_edge.data.datasets.DatasetConfig`, when it names h36m or 3dhp)."""
    from htp_edge.data import SamplerConfig, TrainSampler, load_motion, prepare_motion
    if dataset is not None and dataset.name != "motion":
        from htp_edge.data.datasets import open_recordings
        from htp_edge.data.recording_sampler import RecordingSampler
        config = SamplerConfig(frames=frames, batch_size=recipe.clips, mirror_prob=0.0)
        return RecordingSampler(open_recordings(dataset, recipe.split), config, seed=recipe.seed).sample().kp2d
    prepare_motion(cache_dir=cache_dir, progress=False)
    sampler = TrainSampler(load_motion(cache_dir), SamplerConfig(frames=frames, batch_size=recipe.clips),
                           seed=recipe.seed, split=recipe.split)
    return sampler.sample().kp2d


def record_feeds(onnx_path, recipe: CalibrationRecipe, cache_dir=None, dataset=None) -> list[dict[str, np.ndarray]]:
    """Run the FP32 graph's sampler over the recipe's clips, recording every denoiser feed."""
    from htp_edge.runtime.lifter import Lifter
    lifter = Lifter.load(onnx_path, backend="onnxruntime", steps=recipe.steps, seed=recipe.seed)
    if lifter.unrolled:
        raise HtpEdgeError("calibration: the unrolled-sampler graph takes noise as input. Calibrate the per-step "
                           "denoiser graph, or pass --calibration with a recorded .npz.")
    rec = _Recorder(lifter.graphs.denoiser)
    lifter.graphs.denoiser = rec
    lifter.lift_clips(train_clips(lifter.frames, recipe, cache_dir, dataset))
    return rec.feeds


def save_feeds(feeds: list[dict[str, np.ndarray]], path) -> str:
    """Stack feeds per input into one .npz (atomic); returns the sha256 of the arrays."""
    from htp_edge.artifacts.files import atomic_write
    from htp_edge.precision.metadata import sha256_arrays
    stacked = {k: np.stack([f[k] for f in feeds]) for k in feeds[0]}  # name -> (n_feeds, *shape)
    atomic_write(path, lambda handle: np.savez_compressed(handle, **stacked))
    return sha256_arrays(feeds)


def load_feeds(path) -> list[dict[str, np.ndarray]]:
    """Inverse of :func:`save_feeds`."""
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise HtpEdgeError(f"calibration: cannot read {path} ({type(exc).__name__}). Expected an .npz written by "
                           f"htp-edge quantize.") from None
    n = len(next(iter(data.values())))
    return [{k: data[k][i] for k in data.files} for i in range(n)]


def calibration_set(onnx_path, source=None, out_dir="calibration/out", cache_dir=None, dataset=None):
    """Feeds for ``onnx_path`` from ``source`` (a recipe .json, a recorded .npz, or the default recipe),
    recorded on ``dataset``'s clips when it names h36m or 3dhp.

    Returns (feeds, sha256, description dict).
    """
    from htp_edge.precision.metadata import sha256_arrays
    if source is not None and str(source).endswith(".npz"):
        feeds = load_feeds(source)
        return feeds, sha256_arrays(feeds), {"source": str(source)}
    recipe = CalibrationRecipe.from_file(source) if source else _default_recipe()
    feeds = record_feeds(onnx_path, recipe, cache_dir, dataset)
    from htp_edge.artifacts.naming import calibration_set as calibration_name
    out = Path(out_dir) / calibration_name(onnx_path, recipe.seed)
    if dataset is not None and dataset.name != "motion":
        out = out.with_name(f"{out.stem}_{dataset.name}{out.suffix}")
    sha = save_feeds(feeds, out)
    desc = {"recipe": asdict(recipe), "saved": str(out), "feeds": len(feeds)}
    if dataset is not None and dataset.name != "motion":
        subjects = dataset.subjects(recipe.split)
        desc["dataset"] = dataset.describe()
        desc["clips_from"] = (f"{dataset.name} {recipe.split} subjects "
                              f"{','.join(subjects) if subjects else '(all in the file)'}: their own 2D, "
                              f"{recipe.clips} random windows (the recipe's description is of the built-in split)")
    return feeds, sha, desc


def heldout_feeds(onnx_path, dataset, clips: int = 4, steps: int = 2, seed: int = 7) -> list[dict[str, np.ndarray]]:
    """Denoiser feeds on ``dataset``'s *test* subjects (for comparing a quantised graph with FP32)."""
    recipe = CalibrationRecipe(split="test", clips=clips, steps=steps, seed=seed)
    return record_feeds(onnx_path, recipe, dataset=dataset)


def _default_recipe() -> CalibrationRecipe:
    from htp_edge.artifacts.resources import recipe_path
    return CalibrationRecipe.from_file(recipe_path("default"))
