"""A sampler whose order and per-sample augmentation seeds depend only on (seed, epoch)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochSampler(Sampler[tuple[int, int]]):
    """Yield ``(index, sample_seed)``; reproducible across resumes, workers and processes.

    Training (``shuffle=True``): each index ``repeats`` times (each draw gets its own seed,
    hence its own crop), in a permutation drawn from ``seed`` and the epoch, padded by
    repetition to a multiple of the process count, one share per process (like
    ``DistributedSampler``). Evaluation (``shuffle=False``): indices in order, shared
    round-robin without padding, so every sample is counted exactly once.
    Lightning calls :meth:`set_epoch` before each epoch. After :meth:`mix_in`, a share
    of the training draws takes further indices instead (``--unlabeled``).
    """

    def __init__(self, length: int, seed: int, shuffle: bool, repeats: int = 1) -> None:
        if repeats > 1 and not shuffle:
            raise ValueError("repeats are for training (shuffle=True) only")
        self.length = length
        self.draws = length * repeats
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self.extra_first = self.extra = 0
        self.extra_share = 0.0

    def mix_in(self, first: int, count: int, share: float) -> None:
        """Let about ``share`` of the training draws pick, by their seed, one of ``count``
        further samples: indices ``length + first`` to ``length + first + count - 1``."""
        if not self.shuffle:
            raise ValueError("only training draws mix in further samples")
        self.extra_first, self.extra, self.extra_share = first, count, share

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch whose order and sample seeds are drawn next."""
        self.epoch = epoch

    def _indices(self) -> list[int]:
        rank, world = _world()
        if not self.shuffle:
            return list(range(rank, self.length, world))
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.draws, generator=generator).tolist()
        order += order[: (-len(order)) % world]
        return order[rank::world]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch + 7)
        seeds = torch.randint(0, 2**31 - 1, (self.draws,), generator=generator).tolist()
        return iter([(self._index(draw, seeds[draw]), seeds[draw]) for draw in self._indices()])

    def _index(self, draw: int, seed: int) -> int:
        if self.extra and seed % 1000 < self.extra_share * 1000:
            return self.length + self.extra_first + seed // 1000 % self.extra
        return draw % self.length

    def __len__(self) -> int:
        rank, world = _world()
        if self.shuffle:
            return -(-self.draws // world)
        return len(range(rank, self.length, world))
