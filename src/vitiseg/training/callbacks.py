"""Callbacks that write the run folder: epoch line, metrics CSV and plot, periodic checkpoints."""

from __future__ import annotations

import errno
import json
import logging
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.plugins.io import TorchCheckpointIO

from vitiseg.report.history import history_frame, plot_history
from vitiseg.run import Run
from vitiseg.training import metrics
from vitiseg.util.atomic import atomic_path, write_text

log = logging.getLogger(__name__)


class DiskFullError(OSError):
    """A checkpoint could not be written for lack of space; the earlier file is intact."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save checkpoints to a temporary file renamed into place: a kill never truncates one."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        """Write ``checkpoint`` to ``path`` atomically; :class:`DiskFullError` on a full disk."""
        try:
            with atomic_path(path) as tmp:
                torch.save(checkpoint, tmp)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFullError(
                    errno.ENOSPC,
                    f"disk full while saving {path}; the previous version of that file is "
                    "intact. Free some space and resume",
                ) from None
            raise

    def load_checkpoint(self, path, map_location=None, weights_only: bool | None = True):
        """Load ``path`` with ``weights_only=True`` whatever is asked (no pickled code)."""
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)


def epoch_line(row: dict, epochs: int) -> str:
    """One line per epoch, as the seed prints it (validation figures)."""
    val = row["val"]
    return (
        f"Epoch: {str(row['epoch']).zfill(len(str(epochs)))}/{epochs} "
        f"Time: {row['minutes']:.2f}m "
        f"MIoU: {metrics.nanmean(val['IoU']):.3f} "
        f"MAccuracy: {metrics.nanmean(val['Accuracy']):.3f} "
        f"MPrecision: {metrics.nanmean(val['Precision']):.3f} "
        f"MRecall: {metrics.nanmean(val['Recall']):.3f}"
    )


class RunFiles(L.Callback):
    """After each validation (rank 0): print the epoch line, rewrite CSV, plot and JSON."""

    def __init__(self, run: Run, name: str, class_names: list[str]) -> None:
        self.run = run
        self.name = name
        self.class_names = class_names

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """Log the epoch line; rewrite ``Train_NAME.csv``, ``history.json``, ``metrics.png``."""
        if trainer.sanity_checking or not trainer.is_global_zero or not module.history:
            return
        history = module.history
        log.info(epoch_line(history[-1], trainer.max_epochs))
        frame = history_frame(history, len(self.class_names))
        with atomic_path(self.run.train_csv(self.name)) as tmp:
            frame.to_csv(tmp, encoding="utf-8")
        write_text(self.run.history, json.dumps(history, indent=1))
        plot_history(frame, self.run.metrics_plot, self.class_names)


class EpochProgressBar(TQDMProgressBar):
    """Lightning's bar, with epochs counted from 1 as the epoch lines count them."""

    def on_train_epoch_start(self, trainer: L.Trainer, *_) -> None:
        """Label the bar ``Epoch E/N``, E counted from 1."""
        super().on_train_epoch_start(trainer)
        self.train_progress_bar.set_description(
            f"Epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"
        )


class PeriodicCheckpoint(L.Callback):
    """Save ``NAME_E.ckpt`` every ``every`` epochs (the seed's ``-s``), E counted from 1."""

    def __init__(self, run: Run, name: str, every: int) -> None:
        self.run = run
        self.name = name
        self.every = every

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """Save ``NAME_E.ckpt`` when the epoch E is a multiple of ``every``."""
        epoch = trainer.current_epoch + 1
        if not trainer.sanity_checking and epoch % self.every == 0:
            trainer.save_checkpoint(self.run.periodic(self.name, epoch))


class ResumeHint(L.Callback):
    """On Ctrl-C, say which checkpoint holds the last finished epoch and how to resume."""

    def __init__(self, last_checkpoint: Path, resume_command: str) -> None:
        self.last_checkpoint = last_checkpoint
        self.resume_command = resume_command

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception) -> None:
        """On Ctrl-C (rank 0): log how many epochs the last checkpoint holds and how to resume."""
        if isinstance(exception, KeyboardInterrupt) and trainer.is_global_zero:
            if self.last_checkpoint.is_file():
                saved = torch.load(
                    self.last_checkpoint, map_location="cpu", weights_only=True, mmap=True
                )
                done = saved["epoch"] + 1
                log.info(
                    "\nStopped. %s holds the %d finished epoch(s); resume with:\n  %s",
                    self.last_checkpoint, done, self.resume_command,
                )  # fmt: skip
            else:
                log.info("\nStopped before the first epoch ended: nothing to resume from.")
