"""Predict class masks for photos of any size: whole when small, else sliding windows.

Windows overlap and their logits are blended with Gaussian weights (highest at the
window's centre, as MONAI's ``sliding_window_inference`` and nnU-Net do), so no seam
shows. Rows of windows are streamed: only one band of ``tile`` rows of blended logits is
held at a time, so memory is bounded by the tile and the image width, never by the area.
Loads nothing from training: a model from :func:`vitiseg.engine.network.load_model` is enough.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vitiseg.canopy.uncertainty import ClassEntropy
from vitiseg.data.dataset import rescale
from vitiseg.engine.network import ModelInfo, normalize
from vitiseg.util.hardware import resolve_device


@dataclass(frozen=True)
class Prediction:
    """A class-index mask at the photo's size, and optionally one class's probability (0-255)."""

    mask: np.ndarray
    probability: np.ndarray | None = None
    uncertainty: float | None = None  # class-balanced mean entropy, see vitiseg.canopy.uncertainty


def _ceil_to(value: int, divisor: int) -> int:
    return -(-value // divisor) * divisor


def window_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Evenly spread window starts covering ``[0, length)`` with at least ``overlap`` shared.

    Example:
        >>> window_starts(2500, 1024, 0.25)
        [0, 738, 1476]
    """
    if length <= tile:
        return [0]
    stride = max(1, int(tile * (1 - overlap)))
    count = math.ceil((length - tile) / stride) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def gaussian_weights(height: int, width: int, sigma_scale: float = 0.125) -> torch.Tensor:
    """(H, W) weights, 1 at the centre, falling off with sigma = ``sigma_scale`` x side."""

    def axis(n: int) -> torch.Tensor:
        x = torch.arange(n, dtype=torch.float32) - (n - 1) / 2
        return torch.exp(-0.5 * (x / (sigma_scale * n)) ** 2)

    weights = axis(height)[:, None] * axis(width)[None, :]
    return (weights / weights.max()).clamp(min=1e-3)


def class_argmax(logits: torch.Tensor) -> torch.Tensor:
    """``logits.argmax(0)`` of (C, ...) logits, class by class: equal to it (ties to the
    first class), and many times faster on a CPU, where an argmax over the first
    dimension strides through memory."""
    best, classes = logits[0], torch.zeros(logits.shape[1:], dtype=torch.long, device=logits.device)  # fmt: skip
    for index in range(1, logits.shape[0]):
        higher = logits[index] > best
        best = torch.where(higher, logits[index], best)
        classes.masked_fill_(higher, index)
    return classes


def _source_positions(size: int, out_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each of ``out_size`` positions, the two source positions around it and the
    weight of the second, as bilinear resizing with ``align_corners=False`` takes them."""
    position = ((torch.arange(out_size) + 0.5) * size / out_size - 0.5).clamp(min=0)
    first = position.floor().long().clamp(max=size - 1)
    return first, (first + 1).clamp(max=size - 1), position - first


def _row_windows(
    bands: Iterator[tuple[int, torch.Tensor]], height: int, out_height: int
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Source rows that arrive as bands ``(top, (C, rows, w))``, as the output rows they
    complete: ``(done, kept, above, below, weight)``, output rows from ``done`` on lying
    between ``kept``'s rows ``above`` and ``below`` (indices into ``kept``) with
    ``weight``. Only the rows still needed are kept."""
    above, below, weight = _source_positions(height, out_height)
    kept, kept_top, done = None, 0, 0  # source rows from kept_top on
    for top, band in bands:
        if kept is None:  # positions on the logits' device (indexing with each other)
            above, below, weight = above.to(band.device), below.to(band.device), weight.to(band.device)  # fmt: skip
        kept = band if kept is None else torch.cat([kept, band], 1)
        end = int((below < top + band.shape[1]).sum())
        if end == done:
            continue
        yield done, kept, above[done:end] - kept_top, below[done:end] - kept_top, weight[done:end]
        done = end
        if done < out_height:
            kept, kept_top = kept[:, int(above[done]) - kept_top :], int(above[done])


def upsample_rows(
    bands: Iterator[tuple[int, torch.Tensor]], source: tuple[int, int], target: tuple[int, int]
) -> Iterator[tuple[int, torch.Tensor]]:
    """Resize logits that arrive as row bands ``(top, (C, rows, w))`` from ``source`` to
    ``target`` (height, width), bilinearly, yielding row bands of the target size.

    The result equals ``F.interpolate(..., mode="bilinear", align_corners=False)`` of the
    whole map, but only one band and the rows it still needs are held at a time.
    """
    for done, kept, above, below, weight in _row_windows(bands, source[0], target[0]):
        rows = torch.unique(torch.cat([above, below]))  # width-resize only the rows used
        wide = F.interpolate(
            kept[None, :, rows], (len(rows), target[1]), mode="bilinear", align_corners=False
        )[0]
        place = torch.searchsorted(rows, torch.stack([above, below]))
        yield done, torch.lerp(wide[:, place[0]], wide[:, place[1]], weight[:, None].to(wide))


def upsampled_classes(
    bands: Iterator[tuple[int, torch.Tensor]], source: tuple[int, int], target: tuple[int, int]
) -> Iterator[tuple[int, torch.Tensor]]:
    """The argmax of :func:`upsample_rows`'s logits, as row bands of class indices, at a
    fraction of its cost: a pixel whose four source pixels share their class gets it (a
    convex combination of logit vectors with one argmax has that argmax), and only the
    others, along class edges, are interpolated."""
    left, right, across = _source_positions(source[1], target[1])
    for done, kept, above, below, weight in _row_windows(bands, source[0], target[0]):
        left, right, across = left.to(kept.device), right.to(kept.device), across.to(kept.device)
        classes = class_argmax(kept).to(torch.uint8)
        # a source pixel whose neighbours below, right and below-right (the last row and
        # column: itself) share its class; every target pixel has its four source pixels
        # at one such pixel and those neighbours (below = above + 1, right = left + 1)
        step_down = torch.cat([classes[1:], classes[-1:]])
        same = (classes == step_down) & (classes == torch.cat([classes[:, 1:], classes[:, -1:]], 1))
        same &= classes == torch.cat([step_down[:, 1:], step_down[:, -1:]], 1)
        out = classes[above][:, left]
        ys, xs = (~same[above][:, left]).nonzero(as_tuple=True)
        if len(ys):
            a, b, lx, rx = above[ys], below[ys], left[xs], right[xs]
            w = across[xs].to(kept)
            upper = torch.lerp(kept[:, a, lx], kept[:, a, rx], w)
            lower = torch.lerp(kept[:, b, lx], kept[:, b, rx], w)
            out[ys, xs] = class_argmax(torch.lerp(upper, lower, weight[ys].to(kept))).to(out.dtype)
        yield done, out


class Predictor:
    """Run an exported model over photos.

    Args:
        model: network in eval mode (from :func:`vitiseg.engine.network.load_model`), or a
            backend such as :class:`vitiseg.engine.backends.OnnxBackend`.
        info: its ``model.json`` facts (normalisation, scale).
        device: ``auto``, ``cpu``, ``cuda``...
        tile: largest window side; photos up to this size go through whole.
        overlap: least share of a window shared with its neighbour.
        batch_size: windows per forward pass.
        tta: also predict the mirrored photo and average the logits.
        precision: ``32``, ``bf16`` or ``16`` (autocast).
    """

    def __init__(
        self,
        model: torch.nn.Module | Callable[[torch.Tensor], torch.Tensor],
        info: ModelInfo,
        device: str = "auto",
        tile: int = 2048,
        overlap: float = 0.25,
        batch_size: int = 2,
        tta: bool = False,
        precision: str = "32",
    ) -> None:
        # sides the network can halve to its deepest level
        is_network = isinstance(model, torch.nn.Module)
        self.divisor = model.encoder.output_stride if is_network else model.output_stride
        if tile < self.divisor or tile % self.divisor:
            raise ValueError(f"tile must be a multiple of {self.divisor}, got {tile}")
        if not 0 <= overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {overlap}")
        self.device = resolve_device(device)
        if isinstance(model, torch.nn.Module):
            model = model.to(self.device, memory_format=torch.channels_last).eval()
        self.model = model  # or a backend: pixels (N, 3, h, w) -> logits (vitiseg.engine.backends)
        self.info = info
        self.tile = tile
        self.overlap = overlap
        self.batch_size = batch_size
        self.tta = tta
        self.dtype = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}[precision]

    def _autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @torch.inference_mode()
    def _logits(self, windows: torch.Tensor) -> torch.Tensor:
        """uint8 windows (N, 3, h, w) -> float32 logits (N, C, h, w)."""
        if not isinstance(self.model, torch.nn.Module):  # a backend normalises itself
            logits = self.model(windows)
            if self.tta:
                logits = (logits + self.model(windows.flip(-1)).flip(-1)) / 2
            return logits.to(self.device)
        x = normalize(windows.to(self.device), self.info.mean, self.info.std)
        x = x.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            logits = self.model(x).float()
            if self.tta:
                logits = (logits + self.model(x.flip(-1)).float().flip(-1)) / 2
        return logits

    def predict_logits_rows(self, image: np.ndarray):
        """Yield ``(row_start, logits)`` bands of final blended logits, top to bottom.

        ``image`` is uint8 (H, W, 3) at model scale; each band is float32 (C, rows, W).
        """
        height, width = image.shape[:2]
        tile_h = min(self.tile, _ceil_to(height, self.divisor))
        tile_w = min(self.tile, _ceil_to(width, self.divisor))
        padded = torch.from_numpy(image).permute(2, 0, 1)
        pad_h, pad_w = max(0, tile_h - height), max(0, tile_w - width)
        if pad_h or pad_w:
            padded = F.pad(padded, (0, pad_w, 0, pad_h))
        full_h, full_w = padded.shape[1:]
        ys, xs = (
            window_starts(full_h, tile_h, self.overlap),
            window_starts(full_w, tile_w, self.overlap),
        )
        weights = (
            gaussian_weights(tile_h, tile_w)
            if len(ys) * len(xs) > 1
            else torch.ones(tile_h, tile_w)
        )
        weights = weights.to(self.device)
        classes = self.info.spec.classes
        band = torch.zeros(classes, tile_h, full_w, device=self.device)
        band_weight = torch.zeros(tile_h, full_w, device=self.device)
        band_top = 0
        for row, y in enumerate(ys):
            shift = y - band_top
            if shift:  # rows above y are final: no later window reaches them
                yield (
                    band_top,
                    (band[:, :shift] / band_weight[:shift])[:, : height - band_top, :width],
                )
                band = torch.cat([band[:, shift:], band.new_zeros(classes, shift, full_w)], 1)
                band_weight = torch.cat([band_weight[shift:], band_weight.new_zeros(shift, full_w)])
                band_top = y
            for start in range(0, len(xs), self.batch_size):
                chunk = xs[start : start + self.batch_size]
                windows = torch.stack([padded[:, y : y + tile_h, x : x + tile_w] for x in chunk])
                for x, logits in zip(chunk, self._logits(windows), strict=True):
                    band[:, :, x : x + tile_w] += logits * weights
                    band_weight[:, x : x + tile_w] += weights
            if row == len(ys) - 1:
                rows = min(tile_h, height - band_top)
                yield band_top, (band[:, :rows] / band_weight[:rows])[:, :, :width]

    def _scaled_logits_rows(self, image: np.ndarray):
        """The photo at the model's scale, and its logits' row bands at that scale."""
        scaled, _ = rescale(image, None, self.info.scale)
        return scaled, self.predict_logits_rows(scaled)

    def photo_logits_rows(self, image: np.ndarray):
        """Like :meth:`predict_logits_rows`, for a photo at its own size: scaled to the
        model's scale, and the logits (not classes: finer edges) resized back."""
        scaled, bands = self._scaled_logits_rows(image)
        if scaled.shape[:2] != image.shape[:2]:
            bands = upsample_rows(bands, scaled.shape[:2], image.shape[:2])
        return bands

    def photo_classes(self, image: np.ndarray) -> np.ndarray:
        """The class mask of a photo at its own size: the argmax of
        :meth:`photo_logits_rows`, with logits resized only along class edges
        (:func:`upsampled_classes`)."""
        mask = np.empty(image.shape[:2], np.uint8)
        scaled, bands = self._scaled_logits_rows(image)
        if scaled.shape[:2] == image.shape[:2]:
            bands = ((top, class_argmax(logits)) for top, logits in bands)
        else:
            bands = upsampled_classes(bands, scaled.shape[:2], image.shape[:2])
        for top, classes in bands:
            mask[top : top + classes.shape[0]] = classes.to(torch.uint8).cpu().numpy()
        return mask

    def predict(
        self, image: np.ndarray, probability_of: int | None = None, uncertainty: bool = False
    ) -> Prediction:
        """Class mask (and optionally ``probability_of``'s probability, the uncertainty of
        :class:`vitiseg.canopy.uncertainty.ClassEntropy`) at the photo's size."""
        original = image.shape[:2]
        if probability_of is None and not uncertainty:
            return Prediction(self.photo_classes(image))
        bands = self.photo_logits_rows(image)
        mask = np.empty(original, np.uint8)
        probability = np.empty(original, np.uint8) if probability_of is not None else None
        entropy = ClassEntropy(self.info.spec.classes) if uncertainty else None
        for top, logits in bands:
            rows = slice(top, top + logits.shape[1])
            predicted = class_argmax(logits)
            if entropy is not None:
                entropy.add(logits, predicted)
            mask[rows] = predicted.to(torch.uint8).cpu().numpy()
            if probability is not None:
                p = logits.softmax(0)[probability_of] * 255 + 0.5
                probability[rows] = p.to(torch.uint8).cpu().numpy()
        return Prediction(mask, probability, entropy.value() if entropy is not None else None)
