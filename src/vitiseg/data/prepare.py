"""From a training config to checked train/valid/test pairs and the facts about them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vitiseg.config import TrainConfig
from vitiseg.data.check import PairFacts, check_pairs
from vitiseg.data.layout import Pair, find_pairs, find_split_pairs
from vitiseg.data.masks import parse_class_map
from vitiseg.data.split import SPLITS, assign, read_split, split_names
from vitiseg.errors import DataError
from vitiseg.util.hardware import available_memory


class SmallImageWarning(UserWarning):
    """Photos smaller than the training crop are padded."""


@dataclass
class PreparedData:
    """Pairs per split, the check's facts about them, and the class map."""

    splits: dict[str, list[Pair]]
    facts: dict[str, list[PairFacts]]
    class_map: tuple[int, ...] | None

    def class_weights(self, num_classes: int, rule: str = "auto") -> list[float]:
        """Inverse-frequency weights over the training masks.

        ``auto``: the seed's ``total / (C * count)``; ``sqrt``: their square root, milder
        for classes of a few pixels. A class absent from the training masks gets weight 0.
        """
        counts = np.sum([f.class_counts for f in self.facts["train"]], axis=0).astype(np.float64)
        weights = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
        return (np.sqrt(weights) if rule == "sqrt" else weights).tolist()

    def preload_bytes(self, scale: float) -> int:
        """Memory the decoded train and valid photos (3 bytes/pixel) and masks (1) will take."""
        pixels = sum(f.width * f.height for part in ("train", "valid") for f in self.facts[part])
        return int(pixels * scale * scale * 4)


def split_pairs(config: TrainConfig, split_csv: Path | None = None) -> dict[str, list[Pair]]:
    """Pairs per split: from ``split_csv`` (a resumed run's) or ``--split``, else
    train/valid/test folders, else the seed's random split (or ``--group-by`` groups).

    Only a split file may leave the test split empty (training then skips the test stage).
    """
    split_csv = split_csv or (Path(config.split) if config.split else None)
    if split_csv is not None:
        if not split_csv.is_file():
            raise DataError(f"split={split_csv}: no such file")
        splits = read_split(split_csv, config.directory)
    elif (
        found := find_split_pairs(config.directory, config.mask_suffix, config.mask_dir)
    ) is not None:
        splits = found
    else:
        pairs = find_pairs(config.directory, config.mask_suffix, config.mask_dir)
        names = split_names([p.name for p in pairs], seed=config.seed, group_by=config.group_by)
        splits = assign(pairs, names)
    for part in SPLITS if split_csv is None else ("train", "valid"):
        if not splits[part]:
            where = split_csv or config.directory
            raise DataError(f"{where}: the {part} split has no images")
    return splits


def prepare(config: TrainConfig, split_csv: Path | None = None) -> PreparedData:
    """Find, split and check every pair; warn about photos smaller than the crop.

    Raises:
        DataError: any faulty file, an empty split, or a preload larger than free memory.
    """
    class_map = parse_class_map(config.class_map, config.classes)
    splits = split_pairs(config, split_csv)
    every = [pair for part in SPLITS for pair in splits[part]]
    checked = check_pairs(every, config.classes, class_map, workers=max(2, config.workers))
    facts, start = {}, 0
    for part in SPLITS:
        facts[part] = checked[start : start + len(splits[part])]
        start += len(splits[part])
    data = PreparedData(splits, facts, class_map)
    small = [
        (p, f)
        for p, f in zip(splits["train"], facts["train"], strict=True)
        if min(f.width, f.height) * config.scale < config.crop_size
    ]
    if small:
        pair, fact = small[0]
        warnings.warn(
            f"{len(small)} training photo(s) are smaller than the {config.crop_size} px crop "
            f"(e.g. {pair.image.name}, {fact.width}x{fact.height}); they are padded and the "
            "padding is ignored by the loss. A smaller --crop-size trains faster on them.",
            SmallImageWarning,
            stacklevel=2,
        )
    if config.preload:
        need, free = data.preload_bytes(config.scale), available_memory()
        if free is not None and need > 0.8 * free:
            raise DataError(
                f"preload=True needs {need / 2**30:.1f} GiB for the train and valid images but only "
                f"{free / 2**30:.1f} GiB is available; train with preload=False "
                "(images load lazily)"
            )
    return data
