"""Data-parallel training with torch.distributed and DistributedDataParallel (torch).

Launched by ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT``), every rank runs the same training loop:

* the process group is ``nccl`` on CUDA (rank ``r`` on the GPU of its ``LOCAL_RANK``) and
  ``gloo`` on the CPU;
* **every rank draws the same global batch** from the same seeded batch stream, and the
  diffusion noise (t, eps) of the whole global batch from the same seeded generator, then keeps
  its own contiguous slice of ``batch_size / world_size`` clips (:meth:`Group.rows`). So the
  global batch of a step, its noise, and therefore the loss (the mean over the global batch)
  and the gradient (DDP averages the ranks' gradients of their slice means) are the ones a
  single process computes, up to float rounding in the all-reduce; a run can resume on another
  number of ranks and continue the same batch sequence;
* stochastic depth (``--drop-path``) draws its masks from torch's global generator, which is
  seeded per rank (rank 0 keeps the single-process stream); with it on, a multi-rank step
  drops other samples' paths than a single process would;
* only rank 0 writes the checkpoint (atomically, in D3DP's layout), prints and draws progress
  bars; the per-rank random states are gathered into the checkpoint, so a resume on the same
  number of ranks continues bit for bit.

The cost of drawing the same global batch everywhere is that every rank samples all of it
(``--workers`` sampling processes per rank); the batch itself is what keeps the run identical
for any number of ranks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from htp_edge.errors import HtpEdgeError

ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
RANK_SEED_STRIDE = 104_729  # rank r > 0 seeds torch's global generator with seed + r * this


def launched() -> bool:
    """True when this process was started by torchrun (or anything that sets its variables)."""
    return any(name in os.environ for name in ENV)


def is_main() -> bool:
    """False on the ranks other than 0 of an initialised process group (they stay quiet)."""
    import torch.distributed as dist
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


@dataclass(frozen=True)
class Group:
    """This process's place in the process group."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    def __post_init__(self) -> None:
        if not (0 <= self.rank < self.world_size and self.local_rank >= 0):
            raise HtpEdgeError(f"train: bad torchrun environment. Expected 0 <= RANK < WORLD_SIZE and "
                               f"LOCAL_RANK >= 0, got RANK={self.rank} WORLD_SIZE={self.world_size} "
                               f"LOCAL_RANK={self.local_rank}.")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def rows(self, batch: int) -> slice:
        """This rank's contiguous slice of a global batch of ``batch`` clips."""
        if batch % self.world_size:
            fit = -(-batch // self.world_size) * self.world_size
            raise HtpEdgeError(f"train: a global batch of {batch} clips does not split evenly over "
                               f"{self.world_size} ranks. Expected --batch-size a multiple of {self.world_size}, "
                               f"got {batch}. Use --batch-size {fit}.")
        per = batch // self.world_size
        return slice(self.rank * per, (self.rank + 1) * per)

    def mean(self, tensor):
        """The mean of ``tensor`` over the ranks (a new tensor; every rank gets it)."""
        import torch.distributed as dist
        total = tensor.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total / self.world_size

    def gather(self, obj) -> list:
        """``obj`` of every rank, in rank order (every rank gets the list)."""
        import torch.distributed as dist
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        import torch.distributed as dist
        dist.barrier()

    def wrap(self, module, device):
        """``module`` in DistributedDataParallel (its buffers are constants: not re-broadcast)."""
        import inspect

        from torch.nn.parallel import DistributedDataParallel
        ids = [device.index] if device.type == "cuda" else None
        newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
        no_sync = {"forward_sync_buffers": False} if newer else {"broadcast_buffers": False}  # renamed in torch 2.13
        return DistributedDataParallel(module, device_ids=ids, output_device=device.index if ids else None, **no_sync)

    def record(self) -> dict:
        return {"world_size": self.world_size, "backend": self.backend}


def start(device, require: bool | None = None):
    """Join the process group torchrun describes; returns ``(group or None, this rank's device)``.

    ``require``: None joins when launched by torchrun, True insists on it, False stays single."""
    import torch
    import torch.distributed as dist
    if require is False or (require is None and not launched()):
        return None, device
    missing = [name for name in ENV if name not in os.environ]
    if missing:
        raise HtpEdgeError(f"train: distributed training needs torchrun's environment. Expected {', '.join(ENV)} "
                           f"to be set, got {', '.join(missing)} missing. Launch with "
                           f"`torchrun --nproc_per_node N -m htp_edge train ...`.")
    try:
        rank, world, local = (int(os.environ[name]) for name in ENV)
    except ValueError:
        raise HtpEdgeError(f"train: bad torchrun environment. Expected integers, got "
                           f"{', '.join(f'{n}={os.environ[n]!r}' for n in ENV)}.") from None
    backend = "nccl" if device.type == "cuda" else "gloo"
    group = Group(rank, world, local, backend)
    if device.type == "cuda":
        if device.index is not None and world > 1:
            raise HtpEdgeError(f"train: under torchrun each rank uses the GPU of its LOCAL_RANK. Expected "
                               f"--device cuda, got --device {device}. Pick GPUs with CUDA_VISIBLE_DEVICES.")
        if local >= torch.cuda.device_count():
            raise HtpEdgeError(f"train: LOCAL_RANK {local} has no GPU. Expected at most "
                               f"{torch.cuda.device_count()} processes per node, got --nproc_per_node > "
                               f"{torch.cuda.device_count()}.")
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if not dist.is_available():
        raise HtpEdgeError("train: this torch build has no torch.distributed. Expected a build with it, got "
                           "torch.distributed.is_available() False. Run in one process.")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world)
    return group, device


def stop(group, clean: bool) -> None:
    """Leave the process group (after a barrier when every rank got here cleanly)."""
    import torch.distributed as dist
    if group is None or not dist.is_initialized():
        return
    if clean:
        dist.barrier()
    dist.destroy_process_group()


def seed_rank(group, seed: int) -> None:
    """Seed torch's global generator per rank (stochastic depth masks); rank 0 keeps its stream."""
    import torch
    if group is not None and group.rank:
        torch.manual_seed(seed + RANK_SEED_STRIDE * group.rank)
