"""``--unlabeled``: learn from photos nobody labelled, through the model's own pseudo-labels.

Self-training as in Casado-Garcia et al. (2022) for vineyard photos, with the teacher of
mean-teacher methods: after 50, 70 and 85 % of the learning-rate schedule, the model as
it was just validated (the EMA weights with ``--ema``) labels the unlabelled photos. A
pixel keeps its label when the model gives its class a probability of at least
``--pseudo-threshold``, or when it is among the more confident half of the pixels of its
class in that photo (class-balanced, as in CBST, Zou et al. 2018): an absolute threshold
alone leaves out nearly all of the thin trunks and posts the model is less sure of, and
the photos then teach only the large classes. The other pixels are ignored by the loss.
From then on a share (``--unlabeled-share``) of the training
crops comes from these photos and the latest round's labels, with the same augmentations,
so an epoch keeps its number of steps and the schedule its plan. Each round's labels are
PNG files of their own in the run folder (``pseudo-labels/round-K/``), written once, and
the rounds made are kept in the checkpoints: a run resumed from any checkpoint trains on
the very labels it had.

With ``--teacher MODEL`` another model (an earlier run, last season's) labels the photos
once, before training, into ``pseudo-labels/teacher/``, by the same rule; its labels are
mixed in from the first epoch and the model makes no rounds of its own.
"""

from __future__ import annotations

import csv
import logging
import random
import time
from pathlib import Path

import cv2
import lightning as L
import numpy as np
import torch
from PIL import Image

from vitiseg.config import InferenceOptions, TrainConfig
from vitiseg.data.dataset import rescale
from vitiseg.data.imageio import decode_image
from vitiseg.data.layout import Pair
from vitiseg.data.masks import IGNORE_INDEX
from vitiseg.data.photos import Photo, collect_photos
from vitiseg.data.sampler import EpochSampler
from vitiseg.engine.loaded import load
from vitiseg.engine.network import ModelInfo
from vitiseg.engine.onnx_contract import is_onnx_file
from vitiseg.engine.tiling import Predictor
from vitiseg.errors import ConfigError, DataError
from vitiseg.util.atomic import atomic_path
from vitiseg.util.hardware import inference_precision, resolve_device, resolve_precision

log = logging.getLogger(__name__)

ROUNDS = (0.5, 0.7, 0.85)
"""Shares of the schedule after which the pseudo-labels are made again."""

CLASS_SHARE = 0.5
"""Each class keeps at least this share of its pixels in a photo, its most confident ones."""

MOST_PHOTOS = 200
"""At most this many unlabelled photos (a seeded sample): each round labels all of them."""


def unlabeled_photos(
    directory: str | Path, labelled: list[Pair], seed: int, run_root: Path
) -> list[Photo]:
    """The photos of ``directory`` (and its sub-folders) that decode; labelled photos and
    their masks, and anything in the run folder ``run_root``, left out; at most
    :data:`MOST_PHOTOS` of them.

    Raises:
        DataError: no photo in ``directory``, or none that can be read.
    """
    taken = {p.resolve() for pair in labelled for p in (pair.image, pair.mask)}
    try:
        found = collect_photos([str(directory)], recursive=True)
    except DataError as exc:
        raise DataError(f"unlabeled={directory}: {exc}") from None
    photos = [
        photo
        for photo in found
        if photo.path.resolve() not in taken and not photo.path.resolve().is_relative_to(run_root)
    ]
    if not photos:
        raise DataError(f"unlabeled={directory}: no photos besides the labelled ones")
    if len(photos) > MOST_PHOTOS:
        log.info("--unlabeled: %d of the %d photos (a seeded sample)", MOST_PHOTOS, len(photos))
        photos = sorted(random.Random(seed).sample(photos, MOST_PHOTOS), key=lambda p: p.key)
    readable = []
    for photo in photos:
        try:
            decode_image(photo.path)
        except (DataError, OSError) as exc:
            log.warning("--unlabeled: %s cannot be read and is left out (%s)", photo.path, exc)
            continue
        readable.append(photo)
    if not readable:
        raise DataError(f"unlabeled={directory}: none of its {len(photos)} photos can be read")
    return readable


def write_photo_list(path: Path, photos: list[Photo]) -> None:
    """Keep the photos a run took, so that its resumes take the very same ones."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "path"])
        writer.writerows([photo.key, str(photo.path)] for photo in photos)


def read_photo_list(path: Path) -> list[Photo]:
    """The photos of :func:`write_photo_list`.

    Raises:
        DataError: a photo of the list is no longer there.
    """
    with open(path, newline="") as handle:
        photos = [Photo(Path(row["path"]), row["key"]) for row in csv.DictReader(handle)]
    for photo in photos:
        if not photo.path.is_file():
            raise DataError(
                f"{photo.path}: an unlabelled photo of this run (listed in {path}) is gone; "
                "put it back to resume"
            )
    return photos


def round_pairs(photos: list[Photo], folder: Path, teacher: bool = False) -> list[Pair]:
    """Every photo with its label file of each round: round K's photo i is item
    ``(K - 1) * len(photos) + i``. A teacher's labels are the one round."""
    rounds = ["teacher"] if teacher else [f"round-{k}" for k in range(1, len(ROUNDS) + 1)]
    return [
        Pair(photo.key, photo.path, folder / name / f"{photo.key}.png")
        for name in rounds
        for photo in photos
    ]


def pseudo_label(predictor: Predictor, image: np.ndarray, threshold: float) -> np.ndarray:
    """The class of each pixel of ``image`` (at its size), or IGNORE_INDEX where the
    model's top class probability is under ``threshold`` and the pixel is not among the
    surer :data:`CLASS_SHARE` of the pixels of its class."""
    scaled, _ = rescale(image, None, predictor.info.scale)
    bands = [logits.softmax(0).max(0) for _, logits in predictor.predict_logits_rows(scaled)]
    confidence = torch.cat([c for c, _ in bands])
    label = torch.cat([k for _, k in bands])
    sure = confidence >= threshold
    for value in label.unique():
        of_class = label == value
        values = confidence[of_class]  # kthvalue: quantile() refuses over 16 M values
        cut = values.kthvalue(max(1, int(values.numel() * (1 - CLASS_SHARE)))).values
        sure |= of_class & (confidence >= cut)
    label[~sure] = IGNORE_INDEX
    mask = label.to(torch.uint8).cpu().numpy()
    if mask.shape != image.shape[:2]:
        mask = cv2.resize(mask, image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    return mask


def load_teacher(config: TrainConfig) -> Predictor:
    """``--teacher``'s model, on the device and at the precision the run trains in.

    Raises:
        WeightsError: no model at the path.
        ConfigError: an ``.onnx`` file, or its classes are not the run's.
    """
    if is_onnx_file(config.teacher):
        raise ConfigError(
            f"teacher={config.teacher}: give the run or model folder, not its .onnx file "
            "(the teacher labels in PyTorch)"
        )
    device = "cpu" if config.accelerator == "cpu" else "auto"
    trained_in = resolve_precision(config.precision, config.accelerator)
    precision = inference_precision(trained_in, resolve_device(device))
    options = InferenceOptions(device=device, batch_size=1, precision=precision)
    teacher = load(config.teacher, inference=options, backend="torch")
    if teacher.classes != config.classes:
        raise ConfigError(
            f"teacher={config.teacher}: its {teacher.classes} classes "
            f"({', '.join(teacher.class_names)}) are not this run's {config.classes} "
            f"({', '.join(config.names_of_classes)})"
        )
    if config.class_names and teacher.class_names != config.class_names:
        log.warning(
            "--teacher: its class names (%s) differ from this run's (%s); taken in that order",
            ", ".join(teacher.class_names), ", ".join(config.class_names),
        )  # fmt: skip
    return teacher.predictor


class PseudoLabels(L.Callback):
    """Make the pseudo-labels at the rounds of :data:`ROUNDS` and mix them into training,
    or, with a ``teacher``, mix in the teacher's labels (:meth:`label_with_teacher`) from
    the start.

    Place it before Lightning's ``WeightAveraging`` so that at validation's end the
    module still holds the averaged weights it was validated with.
    """

    def __init__(
        self,
        photos: list[Photo],
        folder: Path,
        info: ModelInfo,
        threshold: float,
        share: float,
        has_teacher: bool = False,
    ) -> None:
        self.photos = photos
        self.pairs = round_pairs(photos, folder, has_teacher)
        self.info = info
        self.threshold = threshold
        self.share = share
        self.teacher: Predictor | None = None  # set by the caller where labels are missing
        self.has_teacher = has_teacher
        self.rounds = 1 if has_teacher else 0
        self.sampler: EpochSampler | None = None

    def attach(self, sampler: EpochSampler) -> None:
        """Mix into the training loader's ``sampler`` (now if labels exist)."""
        self.sampler = sampler
        if self.rounds:
            self._mix()

    def missing(self) -> list[Pair]:
        """The teacher's labels not written yet (a resumed run has them all)."""
        return [pair for pair in self.pairs if not pair.mask.is_file()] if self.has_teacher else []

    def label_with_teacher(self) -> None:
        """Write the :attr:`teacher`'s missing labels, then let the teacher go."""
        missing = self.missing()
        if self.teacher is not None and missing:
            self._write(self.teacher, missing, "by the teacher")
        self.teacher = None

    def state_dict(self) -> dict:
        """The rounds of pseudo-labels made so far, saved in the checkpoint."""
        return {"rounds": self.rounds}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the rounds made and mix their labels into training again."""
        # Lightning restores this before the resumed epoch's loader draws its samples
        self.rounds = state_dict["rounds"]
        if self.rounds:
            self._mix()

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """When a round of :data:`ROUNDS` is due (no teacher): label the photos, mix them in."""
        if trainer.sanity_checking or self.has_teacher:
            return
        planned = trainer.lr_scheduler_configs[0].scheduler.total_steps
        due = sum(trainer.global_step >= share * planned for share in ROUNDS)
        if due <= self.rounds or trainer.global_step >= planned:  # none due, or no step left
            return
        if trainer.is_global_zero:
            self._label(module, trainer.precision, due)
        trainer.strategy.barrier()
        self.rounds = due
        self._mix()

    def _mix(self) -> None:
        first = (self.rounds - 1) * len(self.photos)
        self.sampler.mix_in(first, len(self.photos), self.share)

    def _label(self, module: L.LightningModule, precision: str, number: int) -> None:
        """Write round ``number``'s labels (made after ``ROUNDS[number - 1]``)."""
        network = getattr(module.model, "_orig_mod", module.model)  # under --compile
        was_training = network.training
        predictor = Predictor(
            network,
            self.info,
            device=str(module.device),
            batch_size=1,
            precision=inference_precision(precision, module.device),
        )
        first = (number - 1) * len(self.photos)
        try:
            when = f"after {ROUNDS[number - 1]:.0%} of the schedule"
            self._write(predictor, self.pairs[first : first + len(self.photos)], when)
        finally:
            network.train(was_training)

    @torch.no_grad()
    def _write(self, predictor: Predictor, pairs: list[Pair], when: str) -> None:
        started = time.monotonic()
        labelled = []
        for pair in pairs:
            mask = pseudo_label(predictor, decode_image(pair.image)[0], self.threshold)
            with atomic_path(pair.mask) as tmp:
                Image.fromarray(mask).save(tmp, format="PNG")
            labelled.append(float((mask != IGNORE_INDEX).mean()))
        log.info(
            "Pseudo-labels %s: %d unlabelled photos, %.0f%% of their pixels confident, %.0f s",
            when, len(pairs), 100 * np.mean(labelled), time.monotonic() - started,
        )  # fmt: skip
