"""Training batches from the real-motion train split (numpy; prepares the cache if needed)."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from htp_edge.errors import HtpEdgeError


def motion_batches(frames: int, batch_size: int, cache_dir=None, augment=None, workers: int = 0):
    """A ``batches(rng)`` factory for :func:`htp_edge.train.trainer.train` over the train split.

    ``augment`` is an :class:`htp_edge.data.augment.AugmentConfig` (default: its defaults).
    ``workers`` > 0 samples in that many background processes (a GPU outruns one sampler); each
    worker has its own seed and batches come round-robin, so a seed and a worker count fix the
    stream."""
    from htp_edge.data import load_motion, prepare_motion
    from htp_edge.data.augment import AugmentConfig
    from htp_edge.data.sampler import SamplerConfig, TrainSampler
    if workers < 0:
        raise HtpEdgeError(f"train: workers must be >= 0, got {workers}.")
    prepare_motion(cache_dir=cache_dir)
    clips = load_motion(cache_dir)
    config = SamplerConfig(frames=frames, batch_size=batch_size, augment=augment or AugmentConfig())

    def sampler(seed) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for batch in TrainSampler(clips, config, seed=seed, split="train"):
            yield batch.kp2d, batch.pose3d

    def batches(rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        seed = int(rng.integers(2 ** 31))
        if workers == 0:
            return sampler(seed)
        return _worker_stream(sampler, seed, workers)

    return batches


def _worker_stream(sampler, seed: int, workers: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches from ``workers`` processes (torch's DataLoader, which takes them round-robin)."""
    import torch.utils.data as tud

    class Stream(tud.IterableDataset):
        def __iter__(self):
            worker = tud.get_worker_info().id
            return sampler(int(np.random.SeedSequence([seed, worker]).generate_state(1)[0]))

    loader = tud.DataLoader(Stream(), batch_size=None, num_workers=workers, prefetch_factor=4)
    for x2d, x3d in loader:
        yield x2d.numpy(), x3d.numpy()
