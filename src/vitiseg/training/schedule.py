"""OneCycle learning-rate schedule that survives a resume and fits a time budget."""

from __future__ import annotations

import statistics
import time
import warnings

import lightning as L
from lightning.pytorch.callbacks import Timer
from torch.optim.lr_scheduler import OneCycleLR

from vitiseg.hardware import is_rank_zero


class ResumableOneCycleLR(OneCycleLR):
    """``OneCycleLR`` that can be re-planned for another total length mid-run.

    Resuming with more (or fewer) epochs keeps the step counter and follows the schedule
    planned for the new total, instead of failing when the old total is passed.
    """

    def replan(self, total_steps: int) -> None:
        """Stretch or shrink the schedule to ``total_steps``, keeping the steps made."""
        if self.last_epoch >= total_steps:
            raise ValueError(
                f"the run already made {self.last_epoch} steps, more than the {total_steps} "
                "the new number of epochs allows"
            )
        warmup = (self._schedule_phases[0]["end_step"] + 1) / self.total_steps
        self._schedule_phases[0]["end_step"] = warmup * total_steps - 1
        self._schedule_phases[-1]["end_step"] = total_steps - 1
        self.total_steps = total_steps
        with warnings.catch_warnings():  # get_lr() outside step() warns, needlessly here
            warnings.simplefilter("ignore", UserWarning)
            rates = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, rates, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def load_state_dict(self, state_dict: dict) -> None:
        planned = self.total_steps
        super().load_state_dict(state_dict)
        if self.total_steps == planned:
            return
        if is_rank_zero():
            print(
                f"Learning-rate schedule rebuilt for the new length: {self.total_steps} -> "
                f"{planned} steps, continuing from step {self.last_epoch}"
            )
        self.replan(planned)


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
        self.epoch_ended = time.monotonic()
        self.asked_epochs = trainer.max_epochs

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
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
                print(f"--max-time: about {fitting} epochs fit; learning-rate schedule re-planned")
            self.announced = True
