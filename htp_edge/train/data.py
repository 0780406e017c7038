"""Training batches from the real-motion train split (numpy; prepares the cache if needed) or from an
outside dataset's training subjects (:func:`dataset_batches`).

The streams are checkpointable: ``state()`` is their position (plain ints and strings, so it
survives ``torch.load(weights_only=True)``) and ``restore(state)`` continues from it, so a
resumed run draws exactly the batches the uninterrupted run would have drawn.
"""
from __future__ import annotations

import functools
import json

import numpy as np

from htp_edge.errors import HtpEdgeError


def motion_batches(frames: int, batch_size: int, cache_dir=None, augment=None, workers: int = 0, static=None,
                   val_clips=()):
    """A ``batches(rng)`` factory for :func:`htp_edge.train.trainer.train` over the train split.

    ``augment`` is an :class:`htp_edge.data.augment.AugmentConfig` (default: its defaults);
    ``static`` a :class:`htp_edge.data.static_train.StaticCameraConfig` (default: none).
    ``workers`` > 0 samples in that many background processes (a GPU outruns one sampler); each
    worker has its own seed and batches come round-robin, so a seed and a worker count fix the
    stream. Either stream is a :class:`SamplerStream` / :class:`WorkerStream` (checkpointable).
    ``val_clips`` (train clip names) are held out (:func:`htp_edge.data.motion.hold_out`): never drawn."""
    from htp_edge.data import load_motion, prepare_motion
    from htp_edge.data.augment import AugmentConfig
    from htp_edge.data.sampler import SamplerConfig
    if workers < 0:
        raise HtpEdgeError(f"train: workers must be >= 0, got {workers}.")
    prepare_motion(cache_dir=cache_dir)
    clips = load_motion(cache_dir)
    if val_clips:
        from htp_edge.data.motion import hold_out
        clips = hold_out(clips, val_clips)
    from htp_edge.data.static_train import StaticCameraConfig
    config = SamplerConfig(frames=frames, batch_size=batch_size, augment=augment or AugmentConfig(),
                           static=static or StaticCameraConfig())
    return _stream_factory(functools.partial(_sampler, clips, config), workers,
                           [c.num_frames for c in clips if c.split == "train"])


def dataset_batches(dataset, frames: int, batch_size: int, workers: int = 0):
    """A ``batches(rng)`` factory over the training subjects of ``dataset`` (a
    :class:`htp_edge.data.datasets.DatasetConfig` naming h36m or 3dhp): D3DP's examples
    (:class:`htp_edge.data.recording_sampler.RecordingSampler`), streams as in :func:`motion_batches`."""
    from htp_edge.data.datasets import open_recordings
    from htp_edge.data.sampler import SamplerConfig
    if workers < 0:
        raise HtpEdgeError(f"train: workers must be >= 0, got {workers}.")
    recordings = open_recordings(dataset, "train")
    config = SamplerConfig(frames=frames, batch_size=batch_size)
    return _stream_factory(functools.partial(_recording_sampler, recordings, config), workers,
                           [r.num_frames for r in recordings])


def _stream_factory(make_sampler, workers: int, lengths):
    def batches(rng: np.random.Generator):
        seed = int(rng.integers(2 ** 31))
        if workers == 0:
            return SamplerStream(make_sampler, seed)
        return WorkerStream(make_sampler, seed, workers)

    batches.sequence_lengths = tuple(int(n) for n in lengths)  # frames per training sequence (D3DP's epoch)
    return batches


def generator_state(rng: np.random.Generator) -> str:
    """A numpy Generator's bit-generator state as JSON (its 128-bit ints kept exactly, as text)."""
    return json.dumps(rng.bit_generator.state, sort_keys=True)


def set_generator_state(rng: np.random.Generator, state: str) -> None:
    """Put ``rng`` back at a position saved by :func:`generator_state`."""
    rng.bit_generator.state = json.loads(state)


def _sampler(clips, config, seed: int):
    from htp_edge.data.sampler import TrainSampler
    return TrainSampler(clips, config, seed=seed, split="train")


def _recording_sampler(recordings, config, seed: int):
    from htp_edge.data.recording_sampler import RecordingSampler
    return RecordingSampler(recordings, config, seed=seed)


def _worker_seed(seed: int, worker: int) -> int:
    return int(np.random.SeedSequence([seed, worker]).generate_state(1)[0])


class SamplerStream:
    """Batches (x2d, x3d) from one :class:`TrainSampler` in the training process.

    The sampler's numpy Generator is its only random state (camera, augmentation, detector
    noise, mirroring, chunk choice all draw from it), so its position is the stream's."""

    kind = "in-process"

    def __init__(self, make_sampler, seed: int) -> None:
        self.seed, self.consumed = int(seed), 0
        self._make = make_sampler  # seed -> sampler with .sample() and .rng
        self._sampler = make_sampler(self.seed)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        batch = self._sampler.sample()
        self.consumed += 1
        return batch.kp2d, batch.pose3d

    def state(self) -> dict:
        return {"kind": self.kind, "seed": self.seed, "consumed": self.consumed,
                "sampler": generator_state(self._sampler.rng)}

    def restore(self, state: dict) -> None:
        _check_kind(state, self.kind, 0)
        self.seed, self.consumed = int(state["seed"]), int(state["consumed"])
        self._sampler = self._make(self.seed)
        set_generator_state(self._sampler.rng, state["sampler"])

    def close(self) -> None:
        pass


class WorkerStream:
    """Batches from ``workers`` processes (torch's DataLoader, which takes them round-robin).

    Each worker yields its sampler's Generator state with every batch, so the main process
    knows each worker's position after the last batch it *consumed*; batches prefetched but not
    consumed at a checkpoint are simply drawn again after a resume. Batch ``n`` comes from
    worker ``n % workers``: a resumed loader starts its worker 0 as worker ``consumed % workers``.
    The DataLoader gets its own torch generator, so starting it does not draw from (and shift)
    torch's global generator, which the training step's stochastic depth uses."""

    kind = "workers"

    def __init__(self, make_sampler, seed: int, workers: int) -> None:
        self.seed, self.workers, self.consumed = int(seed), int(workers), 0
        self._states: list[str] = [""] * self.workers  # "" = not drawn from yet: starts from its seed
        self._make = make_sampler  # picklable: seed -> sampler
        self._iter = None

    def __iter__(self):
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        if self._iter is None:
            self._iter = self._start()
        x2d, x3d, worker, state = next(self._iter)
        expected = self.consumed % self.workers
        if int(worker) != expected:  # the round-robin order is what makes the stream reproducible
            raise HtpEdgeError(f"train: sampling workers out of order. Expected a batch from worker {expected}, "
                               f"got one from worker {int(worker)}.")
        self._states[expected] = state
        self.consumed += 1
        return x2d.numpy(), x3d.numpy()

    def _start(self):
        import torch
        import torch.utils.data as tud
        dataset = _worker_dataset(self._make, self.seed, self.workers, self.consumed % self.workers,
                                 list(self._states))
        loader = tud.DataLoader(dataset, batch_size=None, num_workers=self.workers, prefetch_factor=4,
                                generator=torch.Generator().manual_seed(self.seed))
        return iter(loader)

    def state(self) -> dict:
        return {"kind": self.kind, "seed": self.seed, "consumed": self.consumed, "workers": self.workers,
                "samplers": list(self._states)}

    def restore(self, state: dict) -> None:
        _check_kind(state, self.kind, self.workers)
        if self._iter is not None:
            raise HtpEdgeError("train: cannot restore a sampling stream that has already started.")
        self.seed, self.consumed = int(state["seed"]), int(state["consumed"])
        self._states = [str(s) for s in state["samplers"]]

    def close(self) -> None:
        """Stop the worker processes now (rather than whenever the stream is collected)."""
        it, self._iter = self._iter, None
        shutdown = getattr(it, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()


def _check_kind(state: dict, kind: str, workers: int) -> None:
    saved = int(state.get("workers", 0)) if state.get("kind") == "workers" else 0
    if state.get("kind") != kind or saved != workers:
        raise HtpEdgeError(f"train: the checkpoint's batches came from {saved} sampling workers. Expected "
                           f"--workers {saved} to resume it, got {workers}.")


def _worker_dataset(make_sampler, seed: int, workers: int, offset: int, states: list[str]):
    """One infinite sampler per DataLoader worker: worker ``id`` plays stream worker ``(id + offset) %
    workers`` from its saved state (or its seed), yielding (x2d, x3d, worker, state after the batch)."""
    args = (make_sampler, seed, workers, offset, states)
    return _dataset_class()(*args)


@functools.lru_cache(maxsize=None)
def _dataset_class():
    import torch.utils.data as tud  # torch only once workers are asked for

    class WorkerDataset(tud.IterableDataset):
        def __init__(self, *args) -> None:
            self.args = args

        def __reduce__(self):  # pickles (under spawn) as a call to the module-level factory
            return _worker_dataset, self.args

        def __iter__(self):
            make_sampler, seed, workers, offset, states = self.args
            worker = (tud.get_worker_info().id + offset) % workers
            sampler = make_sampler(_worker_seed(seed, worker))
            if states[worker]:
                set_generator_state(sampler.rng, states[worker])
            while True:
                batch = sampler.sample()
                yield batch.kp2d, batch.pose3d, worker, generator_state(sampler.rng)

    return WorkerDataset
