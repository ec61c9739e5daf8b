"""OneCycle learning-rate schedule that survives a resume and fits a time budget."""

from __future__ import annotations

import logging
import math
import statistics
import time

import lightning as L
from lightning.pytorch.callbacks import Timer
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from vitiseg.util.hardware import is_rank_zero

log = logging.getLogger(__name__)


class OneCycleSchedule(LRScheduler):
    """The one-cycle policy (Smith & Topin 2018) as PyTorch's ``OneCycleLR`` computes it,
    cosine annealing, momentum cycled inversely, that can be re-planned mid-run.

    The rate rises from ``max_lr / 25`` to ``max_lr`` over the first ``warmup`` share of
    ``total_steps``, then falls to ``max_lr / 25e4`` at the last step; the first Adam beta
    (momentum) falls from 0.95 to 0.85 and rises back. Every figure it needs is a public
    attribute saved in its state, so resuming with more (or fewer) epochs re-plans the
    remaining steps instead of failing when the old total is passed.
    """

    def __init__(
        self, optimizer: Optimizer, max_lr: float, total_steps: int, warmup: float = 0.3
    ) -> None:
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.warmup = warmup
        self.initial_lr = max_lr / 25
        self.min_lr = self.initial_lr / 1e4
        self.momentum = (0.95, 0.85)  # at the start and end, at the peak of the rate
        for group in optimizer.param_groups:
            group["lr"] = self.initial_lr
            group.setdefault("initial_lr", self.initial_lr)
        super().__init__(optimizer)

    @property
    def warmup_steps(self) -> float:
        """The step at which the rate peaks."""
        return self.warmup * self.total_steps - 1

    def factors(self, step: int) -> tuple[float, float]:
        """(learning rate, momentum) at ``step``."""
        if step > self.total_steps:
            raise ValueError(f"step {step} is past the schedule's {self.total_steps} steps")
        top, low = self.momentum
        if step <= self.warmup_steps:
            share = step / self.warmup_steps
            return _cosine(self.initial_lr, self.max_lr, share), _cosine(top, low, share)
        share = (step - self.warmup_steps) / (self.total_steps - 1 - self.warmup_steps)
        return _cosine(self.max_lr, self.min_lr, share), _cosine(low, top, share)

    def get_lr(self) -> list[float]:
        """The rate at the current step, per group; sets Adam's first beta to the momentum."""
        rate, momentum = self.factors(self.last_epoch)
        for group in self.optimizer.param_groups:
            if "betas" in group:
                group["betas"] = (momentum, *group["betas"][1:])
        return [rate for _ in self.optimizer.param_groups]

    def replan(self, total_steps: int) -> None:
        """Stretch or shrink the schedule to ``total_steps``, keeping the steps made."""
        if self.last_epoch >= total_steps:
            raise ValueError(
                f"the run already made {self.last_epoch} steps, more than the {total_steps} "
                "the new number of epochs allows"
            )
        self.total_steps = total_steps
        for group, rate in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = rate
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the schedule; re-plan it if this run plans another number of steps."""
        planned = self.total_steps
        super().load_state_dict(state_dict)
        if self.total_steps == planned:
            return
        if is_rank_zero():
            log.info(
                "Learning-rate schedule rebuilt for the new length: %d -> %d steps, "
                "continuing from step %d", self.total_steps, planned, self.last_epoch,
            )  # fmt: skip
        self.replan(planned)


def _cosine(start: float, end: float, share: float) -> float:
    """Cosine annealing from ``start`` (share 0) to ``end`` (share 1)."""
    return end + (start - end) / 2 * (1 + math.cos(math.pi * share))


class FitScheduleToTime(L.Callback):
    """With ``--max-time``: end the run, learning rate annealed, within the time budget.

    From the second epoch on, the epochs that still fit are estimated from the median
    duration of the last epochs (validation and saving included; never the first, which
    pays the warm-up: cuDNN tuning, compilation); the run's length is set to that, up to
    the ``-e`` asked, and the OneCycle schedule re-planned to end then, rather than cut at
    a high rate.
    """

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.epoch_ended = 0.0
        self.asked_epochs = 0
        self.announced = False

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """Start timing the epochs; note the number ``-e`` asked for."""
        self.epoch_ended = time.monotonic()
        self.asked_epochs = trainer.max_epochs

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """Set the run's length to the epochs that fit ``--max-time``; re-plan the schedule."""
        now = time.monotonic()  # epoch to epoch: loading, validation and saving included
        self.durations.append(now - self.epoch_ended)
        self.epoch_ended = now
        if len(self.durations) < 2:
            return
        timer = next(c for c in trainer.callbacks if isinstance(c, Timer))
        typical = statistics.median(self.durations[1:][-5:])  # recent epochs
        done = trainer.current_epoch + 1
        spare = timer.time_remaining() - typical / 2  # a margin for a slower epoch
        fitting = trainer.strategy.broadcast(
            min(self.asked_epochs, done + max(0, int(spare // typical)))
        )
        if done < fitting != trainer.max_epochs:
            trainer.fit_loop.max_epochs = fitting
            trainer.lr_scheduler_configs[0].scheduler.replan(fitting * trainer.num_training_batches)
            if trainer.is_global_zero and not self.announced:
                log.info(
                    "--max-time: about %d epochs fit; learning-rate schedule re-planned", fitting
                )
            self.announced = True
