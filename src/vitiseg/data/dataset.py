"""Torch dataset of photo/mask pairs, lazy or preloaded, giving uint8 batches."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.layout import Pair
from vitiseg.data.masks import IGNORE_INDEX, remap


def rescale(image: np.ndarray, mask: np.ndarray | None, scale: float):
    """Resize a photo (area) and its mask (nearest) by ``scale``; 1.0 returns them as is."""
    if scale == 1.0:
        return image, mask
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if mask is not None:
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return image, mask


class SegmentationDataset(Dataset):
    """Pairs as ``(image uint8 [3,H,W], mask uint8 [H,W])`` tensors.

    Args:
        pairs: photo/mask files.
        transform: albumentations pipeline applied to both.
        class_map: raw mask value -> class index, or None.
        scale: resize factor applied before the transform.
        preload: decode everything once now and keep it in memory as uint8.

    Keys may be an index or ``(index, seed)``: the seed fixes that sample's augmentation,
    which makes runs reproducible across workers and resumes (see ``EpochSampler``).
    """

    def __init__(
        self,
        pairs: list[Pair],
        transform: A.Compose,
        class_map: tuple[int, ...] | None = None,
        scale: float = 1.0,
        preload: bool = False,
    ) -> None:
        self.pairs = pairs
        self.transform = transform
        self.class_map = class_map
        self.scale = scale
        self.cache = [self._load(i) for i in range(len(pairs))] if preload else None

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        pair = self.pairs[index]
        image, _ = decode_image(pair.image)  # conversions were reported by the data check
        mask = remap(read_mask(pair.mask), self.class_map)
        return rescale(image, mask, self.scale)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        image, mask = self.cache[index] if self.cache is not None else self._load(index)
        if seed is not None:
            self.transform.set_random_seed(seed)
        out = self.transform(image=image, mask=mask)
        image_t = torch.from_numpy(np.ascontiguousarray(out["image"])).permute(2, 0, 1)
        return image_t, torch.from_numpy(np.ascontiguousarray(out["mask"]))


class JoinedDataset(Dataset):
    """Two datasets as one: keys below ``len(first)`` go to ``first``, the rest to
    ``second``, shifted (keys may carry a seed, as in :class:`SegmentationDataset`)."""

    def __init__(self, first: Dataset, second: Dataset) -> None:
        self.first, self.second = first, second

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        if index < len(self.first):
            return self.first[key]
        index -= len(self.first)
        return self.second[(index, seed) if seed is not None else index]


def pad_collate(
    batch: list[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack samples of different sizes, padding bottom/right (masks with IGNORE_INDEX)."""
    height = max(image.shape[1] for image, _ in batch)
    width = max(image.shape[2] for image, _ in batch)
    images, masks = [], []
    for image, mask in batch:
        pad = (0, width - image.shape[2], 0, height - image.shape[1])
        images.append(F.pad(image, pad, value=0))
        masks.append(F.pad(mask, pad, value=IGNORE_INDEX))
    return torch.stack(images), torch.stack(masks)
