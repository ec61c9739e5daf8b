"""The LightningModule: network, loss, optimiser, schedule and epoch-level metrics."""

from __future__ import annotations

import math
import time

import lightning as L
import torch
from torchmetrics.classification import MulticlassConfusionMatrix

from vitiseg.data.masks import IGNORE_INDEX
from vitiseg.engine.network import ModelSpec, build_model, input_normalisation, normalize
from vitiseg.training import metrics
from vitiseg.training.losses import build_loss
from vitiseg.training.schedule import OneCycleSchedule


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run stops with the last good checkpoint kept."""

    def __init__(self, value: float, epoch: int, step: int) -> None:
        self.value, self.epoch, self.step = value, epoch, step
        super().__init__(f"loss became {value} at epoch {epoch}, step {step}")


class SegmentationModule(L.LightningModule):
    """U-Net training as the seed does it, with whole-epoch confusion-matrix metrics.

    After each validation the epoch's figures are appended to :attr:`history` (saved in
    every checkpoint, so a resumed run continues the same table).
    """

    def __init__(
        self,
        spec: ModelSpec,
        encoder_weights: str | None,
        learning_rate: float,
        weight_decay: float,
        warmup: float = 0.3,
        loss: str = "ce",
        class_weights: list[float] | None = None,
        channels_last: bool = True,
        compile_model: bool = False,
        initial_weights: dict[str, torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.encoder_weights = encoder_weights
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.loss_name = loss
        self.class_weights = class_weights
        self.channels_last = channels_last
        self.compile_model = compile_model
        self.history: list[dict] = []
        self.mean, self.std = input_normalisation(spec.encoder)
        self.configure_network(initial_weights)
        self.configure_losses()
        self.configure_metrics()

    def configure_network(self, initial_weights: dict[str, torch.Tensor] | None = None) -> None:
        """Build the network from ``spec`` and ``encoder_weights``, or start it from a trained
        model's ``initial_weights`` (fine-tuning); channels-last if asked."""
        self.model = build_model(self.spec, self.encoder_weights)
        if initial_weights is not None:
            self.model.load_state_dict(initial_weights)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    def configure_losses(self) -> None:
        """Build the ``--loss`` criterion, with the class weights if given."""
        weights = torch.tensor(self.class_weights) if self.class_weights else None
        self.criterion = build_loss(self.loss_name, weights)

    def configure_metrics(self) -> None:
        """Make the training and validation confusion matrices (ignored pixels left out)."""
        confusion = MulticlassConfusionMatrix(
            self.spec.classes, ignore_index=IGNORE_INDEX, validate_args=False
        )
        self.train_confusion = confusion
        self.val_confusion = confusion.clone()

    def configure_model(self) -> None:
        """Compile the network with ``torch.compile`` under ``--compile`` (once)."""
        if self.compile_model and not isinstance(self.model, torch._dynamo.OptimizedModule):
            self.model = torch.compile(self.model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (N, C, H, W) of normalised images (N, 3, H, W)."""
        return self.model(images)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Normalise the uint8 images on the device (channels-last if asked); masks as int64."""
        images, masks = batch
        images = normalize(images, self.mean, self.std)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, masks.long()

    def on_train_epoch_start(self) -> None:
        """Note when the epoch started (its ``minutes`` in :attr:`history`)."""
        self._epoch_started = time.monotonic()

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        """Return a batch's float32 loss (logged as ``train_loss``) and count its predictions in the
        training confusion matrix; a :class:`NonFiniteLossError` if the loss is NaN or infinite."""
        images, masks = batch
        logits = self(images)
        loss = self.criterion(logits.float(), masks)
        self.train_confusion.update(logits.detach().argmax(1), masks)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(loss.item(), self.current_epoch + 1, batch_idx + 1)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        """Count a validation batch's predictions in the validation confusion matrix."""
        images, masks = batch
        self.val_confusion.update(self(images).argmax(1), masks)

    def on_validation_epoch_end(self) -> None:
        """Append the epoch's training and validation figures to :attr:`history`, log
        ``val_mIoU``, ``val_mAccuracy`` and each class's IoU, and reset the confusion matrices."""
        if self.trainer.sanity_checking:
            return
        train, val = self.train_confusion.compute(), self.val_confusion.compute()
        self.train_confusion.reset()
        self.val_confusion.reset()
        row = {
            "epoch": self.current_epoch + 1,
            "minutes": (time.monotonic() - getattr(self, "_epoch_started", time.monotonic())) / 60,
            "train": metrics.per_class(train.cpu()),
            "val": metrics.per_class(val.cpu()),
            "val_confusion": val.cpu().tolist(),
        }
        self.history.append(row)
        val_miou = metrics.nanmean(row["val"]["IoU"])
        self.log("val_mIoU", val_miou if not math.isnan(val_miou) else 0.0, sync_dist=False)
        self.log("val_mAccuracy", metrics.nanmean(row["val"]["Accuracy"]), sync_dist=False)
        for name, values in (("train", row["train"]), ("val", row["val"])):  # for --logger
            self.log_dict(
                {f"{name}_IoU_{c}": v for c, v in enumerate(values["IoU"]) if not math.isnan(v)},
                sync_dist=False,
            )

    def configure_optimizers(self):
        """AdamW with the :class:`OneCycleSchedule`, stepped after every batch."""
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        scheduler = OneCycleSchedule(
            optimizer,
            max_lr=self.learning_rate,
            total_steps=self.trainer.estimated_stepping_batches,
            warmup=self.warmup,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Keep :attr:`history` in the checkpoint (``vitiseg_history``)."""
        checkpoint["vitiseg_history"] = self.history

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Restore :attr:`history`, so a resumed run continues the same table."""
        self.history = list(checkpoint.get("vitiseg_history", []))
