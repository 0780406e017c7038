"""Training batches from the real-motion train split (numpy; prepares the cache if needed)."""
from __future__ import annotations

from typing import Iterator

import numpy as np


def motion_batches(frames: int, batch_size: int, cache_dir=None, augment=None):
    """A ``batches(rng)`` factory for :func:`htp_edge.train.trainer.train` over the train split.

    ``augment`` is an :class:`htp_edge.data.augment.AugmentConfig` (default: its defaults)."""
    from htp_edge.data import load_motion, prepare_motion
    from htp_edge.data.augment import AugmentConfig
    from htp_edge.data.sampler import SamplerConfig, TrainSampler
    prepare_motion(cache_dir=cache_dir)
    clips = load_motion(cache_dir)

    def batches(rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        sampler = TrainSampler(clips, SamplerConfig(frames=frames, batch_size=batch_size,
                                                      augment=augment or AugmentConfig()),
                               seed=int(rng.integers(2 ** 31)), split="train")
        for batch in sampler:
            yield batch.kp2d, batch.pose3d

    return batches
