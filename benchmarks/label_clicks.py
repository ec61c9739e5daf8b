"""How much work a photo is on the labelling page (`vitiseg label`), measured in clicks.

A simulated user corrects the mask of each validation photo of a run that never saw them
(the date split of benchmarks/quality.py: 8 photos of 3 dates, full HD), against the
photo's true mask, with the page's own tools (the interactive-segmentation protocol): at
each step it takes the one action that fixes the most wrong pixels, among

- a click on a region (the page's SLIC regions, `vitiseg.label.regions.over_segment`)
  giving it one class, or a drag of the region tool across up to 40 neighbouring regions
  (about 600 px), each fixing more pixels than it breaks,
- a fill click (the 4-connected area of one class under the click gets another class),
- a brush stroke (the pixels within the brush radius of a path, as the page paints them),
  of a diameter the page offers (6 to 100 px), grown from its best disk a step at a time in
  the direction that fixes the most, for at most 600 px of path (one drag of the mouse),

each counting as one click, until 95 % of the pixels agree with the true mask (and on to 50
clicks, for the agreement after 10, 20 and 50). It starts once from the model's pre-labels
and once from an empty mask (every pixel background: the page without a model).

    python benchmarks/label_clicks.py                        # runs/bundled_model/date_split
    python benchmarks/label_clicks.py --model RUN --photos 3 # quicker: the first 3 photos
    python benchmarks/label_clicks.py --photos 3 --model-fill 0.1 0.25 0.5
        # with a tool the page does not have (it saved 3 clicks of 98 on 3 photos, docs/labels.md): a
        # click gives a class to the connected area where the model's probability of it is
        # at least one of these thresholds

4.4 minutes on a 2-core CPU; the figures are in docs/labels.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from common import ROOT, machine, require

from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.engine.loaded import Model
from vitiseg.label.regions import over_segment
from vitiseg.run import Run

TARGET = 0.95
CHECKPOINTS = (10, 20, 50)
RADII = (3, 8, 20, 50)
"""Brush radii tried, in photo pixels (diameters 6 to 100 of the page's 1 to 120)."""
STROKE_PATH = 600
"""Longest path of one stroke, in photo pixels."""
REGION_DRAG = 40
"""Most regions one drag of the region tool crosses (about 600 photo pixels of path)."""
DIRECTIONS = [(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)]


@dataclass
class Action:
    """One click: what it is, the class it gives, how many pixels it fixes, and its pixels."""

    kind: str
    cls: int
    gain: int
    pixels: np.ndarray  # flat indices


@dataclass
class Outcome:
    """One correction: clicks to the target, agreement after each click, classes clicked."""

    clicks: int | None
    agreement: list[float]
    per_class_iou: dict[int, list[float]]
    kinds: dict[str, int] = field(default_factory=dict)
    clicked_classes: dict[int, int] = field(default_factory=dict)


def capsule(height: int, width: int, a, b, radius: float):
    """Flat indices of the pixels whose centre is within ``radius`` of segment a-b (the
    page's brush, ``paintSegment`` in label.js)."""
    (ax, ay), (bx, by) = a, b
    x0, x1 = max(0, int(np.floor(min(ax, bx) - radius))), min(width - 1, int(np.ceil(max(ax, bx) + radius)))  # fmt: skip
    y0, y1 = max(0, int(np.floor(min(ay, by) - radius))), min(height - 1, int(np.ceil(max(ay, by) + radius)))  # fmt: skip
    if x0 > x1 or y0 > y1:
        return np.empty(0, np.int64)
    ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0, 1) if length2 else 0
    inside = (xs - (ax + t * dx)) ** 2 + (ys - (ay + t * dy)) ** 2 <= radius * radius
    return (ys[inside] * width + xs[inside]).astype(np.int64)


class User:
    """The simulated user of one photo: its true mask, regions and the mask being corrected."""

    def __init__(self, truth: np.ndarray, regions: np.ndarray, classes: int) -> None:
        self.truth, self.classes = truth, classes
        self.height, self.width = truth.shape
        self.flat_truth = truth.ravel().astype(np.int64)
        self.regions = regions.ravel().astype(np.int64)
        count = int(self.regions.max()) + 1
        self.region_truth = np.bincount(
            self.regions * classes + self.flat_truth, minlength=count * classes
        ).reshape(count, classes)
        order = np.argsort(self.regions, kind="stable")
        self.region_pixels = np.split(order, np.cumsum(np.bincount(self.regions))[:-1])
        self.painted = np.zeros(truth.size, bool)  # a stroke's pixels while it grows
        self.neighbours = _adjacency(regions, count)

    def best(self, mask: np.ndarray) -> Action:
        """The action that fixes the most wrong pixels of ``mask``."""
        right = mask.ravel() == self.truth.ravel()
        clicks = [c for c in (self._region(right), self._fill(mask, right)) if c is not None]
        floor = max(c.gain for c in clicks)
        candidates = clicks + self._strokes(mask, right, floor)
        return max(candidates, key=lambda c: c.gain)

    def _region(self, right: np.ndarray) -> Action:
        """The best region click, or drag: from the best region of a class, on to the
        neighbouring region that fixes the most while one fixes more than it breaks."""
        correct = np.bincount(self.regions, weights=right, minlength=len(self.region_truth))
        gains = self.region_truth - correct[:, None]
        best = None
        for c in range(self.classes):
            chain = [int(np.argmax(gains[:, c]))]
            total = float(gains[chain[0], c])
            taken = set(chain)
            while len(chain) < REGION_DRAG:
                options = [r for r in self.neighbours[chain[-1]] if r not in taken]
                if not options:
                    break
                nxt = max(options, key=lambda r: gains[r, c])
                if gains[nxt, c] <= 0:
                    break
                chain.append(nxt)
                taken.add(nxt)
                total += float(gains[nxt, c])
            if best is None or total > best[0]:
                best = (total, c, chain)
        total, c, chain = best
        kind = "region" if len(chain) == 1 else "region drag"
        pixels = np.concatenate([self.region_pixels[r] for r in chain])
        return Action(kind, c, int(total), pixels)

    def _fill(self, mask: np.ndarray, right: np.ndarray) -> Action | None:
        best = None
        for value in np.unique(mask):
            count, parts = cv2.connectedComponents((mask == value).astype(np.uint8), connectivity=4)
            flat = parts.ravel().astype(np.int64)
            hist = np.bincount(
                flat * self.classes + self.flat_truth, minlength=count * self.classes
            )
            hist = hist.reshape(count, self.classes)
            gains = hist - hist[:, [int(value)]]  # a fill's pixels were right where truth is value
            gains[0] = -1  # label 0: the other classes' pixels
            k, c = np.unravel_index(int(np.argmax(gains)), gains.shape)
            if best is None or gains[k, c] > best[0]:
                best = (int(gains[k, c]), int(c), k, parts)
        if best is None or best[0] <= 0:
            return None
        gain, c, k, parts = best
        return Action("fill", c, gain, np.flatnonzero(parts.ravel() == k))

    def _strokes(self, mask: np.ndarray, right: np.ndarray, floor: int) -> list[Action]:
        """The best stroke: for each radius, grown from the best disk of the class whose
        disk there fixes the most (a stroke cannot fix more than its area: radii that could
        not beat the best stroke so far are not grown)."""
        wrong_or_right = -right.astype(np.float32).reshape(self.height, self.width)
        h, w = self.height // 2 * 2, self.width // 2 * 2
        starts: dict[int, tuple] = {}  # radius: (disk gain, class, centre, gain map)
        for c in range(self.classes):
            gain_map = (self.truth == c).astype(np.float32) + wrong_or_right
            # where to start: the best disk, looked for on 2 x 2 sums (4 times fewer pixels)
            pooled = gain_map[:h, :w].reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3))
            for radius in RADII:
                size = radius | 1
                disks = cv2.boxFilter(pooled, -1, (size, size), normalize=False)
                y, x = np.unravel_index(int(np.argmax(disks)), disks.shape)
                if disks[y, x] > 0 and (radius not in starts or disks[y, x] > starts[radius][0]):
                    starts[radius] = (float(disks[y, x]), c, (2 * int(x), 2 * int(y)), gain_map)
        best: Action | None = None
        for radius in sorted(starts, reverse=True):
            _, c, centre, gain_map = starts[radius]
            most = np.pi * radius * radius + 2 * radius * STROKE_PATH
            if most <= max(floor, best.gain if best is not None else 0):
                continue
            stroke = self._grow(gain_map.ravel(), c, radius, centre)
            if best is None or stroke.gain > best.gain:
                best = stroke
        return [] if best is None or best.gain <= 0 else [best]

    def _grow(self, gain_map: np.ndarray, c: int, radius: float, start) -> Action:
        """A stroke from ``start``, grown a step at a time (forwards, then backwards from the
        start) while a step fixes more pixels than it breaks."""
        painted = self.painted
        pixels = capsule(self.height, self.width, start, start, radius)
        taken = [pixels]
        painted[pixels] = True
        gain = float(gain_map[pixels].sum())
        path = 0.0
        step = max(4.0, float(radius))
        for _ in ("forwards", "backwards"):
            point = start
            while path + step <= STROKE_PATH:
                best = None
                for dx, dy in DIRECTIONS:
                    nxt = (int(round(point[0] + dx * step)), int(round(point[1] + dy * step)))
                    if not (0 <= nxt[0] < self.width and 0 <= nxt[1] < self.height):
                        continue
                    pixels = capsule(self.height, self.width, point, nxt, radius)
                    new = pixels[~painted[pixels]]
                    extra = float(gain_map[new].sum())
                    if best is None or extra > best[0]:
                        best = (extra, nxt, new)
                if best is None or best[0] <= 0:
                    break
                gain += best[0]
                painted[best[2]] = True
                taken.append(best[2])
                point = best[1]
                path += step
        pixels = np.concatenate(taken)
        painted[pixels] = False
        return Action(f"brush {2 * radius}", c, int(round(gain)), pixels)


class ModelFillUser(User):
    """A user who may also click the model's areas: the connected pixels where the model's
    probability of a class (``probabilities``, C x H x W, 0-255) is at least a threshold."""

    def __init__(self, truth, regions, classes, probabilities, thresholds) -> None:
        super().__init__(truth, regions, classes)
        self.areas = []  # (class, area of each pixel, pixels of the class in each area)
        for c in range(classes):
            for threshold in thresholds:
                above = (probabilities[c] >= threshold * 255).astype(np.uint8)
                count, areas = cv2.connectedComponents(above, connectivity=8)
                flat = areas.ravel().astype(np.int64)
                truth_c = np.bincount(flat, weights=self.flat_truth == c, minlength=count)
                self.areas.append((c, flat, truth_c))

    def best(self, mask: np.ndarray) -> Action:
        best = super().best(mask)
        right = mask.ravel() == self.flat_truth
        for c, flat, truth_c in self.areas:
            gains = truth_c - np.bincount(flat, weights=right, minlength=len(truth_c))
            gains[0] = -1  # label 0: below the threshold
            k = int(np.argmax(gains))
            if gains[k] > best.gain:
                best = Action("model fill", c, int(gains[k]), np.flatnonzero(flat == k))
        return best


def _adjacency(regions: np.ndarray, count: int) -> list[np.ndarray]:
    """The regions that touch each region (left-right or up-down)."""
    pairs = np.concatenate([
        np.stack([regions[:, :-1].ravel(), regions[:, 1:].ravel()], 1),
        np.stack([regions[:-1].ravel(), regions[1:].ravel()], 1),
    ])  # fmt: skip
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(np.concatenate([pairs, pairs[:, ::-1]]), axis=0)
    starts = np.searchsorted(pairs[:, 0], np.arange(count + 1))
    return [pairs[starts[r] : starts[r + 1], 1] for r in range(count)]


def iou_per_class(mask: np.ndarray, truth: np.ndarray, classes: int) -> list[float]:
    """IoU of each class (NaN where neither mask has it)."""
    out = []
    for c in range(classes):
        union = np.count_nonzero((mask == c) | (truth == c))
        out.append(np.count_nonzero((mask == c) & (truth == c)) / union if union else float("nan"))
    return out


def correct(user: User, start: np.ndarray, limit: int) -> Outcome:
    """Click until TARGET agreement and at least the last checkpoint, or ``limit`` clicks."""
    mask = start.copy()
    flat = mask.ravel()
    truth = user.truth
    agreement = [float(np.mean(mask == truth))]
    ious = {0: iou_per_class(mask, truth, user.classes)}
    outcome = Outcome(None if agreement[0] < TARGET else 0, agreement, ious)
    while len(agreement) <= limit:
        if outcome.clicks is not None and len(agreement) > CHECKPOINTS[-1]:
            break
        action = user.best(mask)
        if action.gain <= 0:
            break
        flat[action.pixels] = action.cls
        agreement.append(float(np.mean(mask == truth)))
        clicks = len(agreement) - 1
        kind = action.kind.split()[0]
        if outcome.clicks is None:
            outcome.kinds[kind] = outcome.kinds.get(kind, 0) + 1
            outcome.clicked_classes[action.cls] = outcome.clicked_classes.get(action.cls, 0) + 1
        if clicks in CHECKPOINTS:
            ious[clicks] = iou_per_class(mask, truth, user.classes)
        if outcome.clicks is None and agreement[-1] >= TARGET:
            outcome.clicks = clicks
    return outcome


def after(outcome: Outcome, clicks: int) -> float:
    """Agreement after ``clicks`` clicks (the last one reached if the user stopped)."""
    return outcome.agreement[min(clicks, len(outcome.agreement) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, default=ROOT / "runs" / "bundled_model" / "date_split"
    )
    parser.add_argument("--photos", type=int, default=None, help="only the first N photos")
    parser.add_argument("--limit", type=int, default=400, help="most clicks per photo")
    parser.add_argument("--model-fill", type=float, nargs="+", default=None,
                        help="also offer a model fill at these probability thresholds")  # fmt: skip
    args = parser.parse_args()
    require(args.model / "model.safetensors")
    run = Run.open(args.model)
    pairs = run.pairs("valid")[: args.photos]
    model = Model(args.model)
    classes, names = model.classes, model.class_names
    print(machine())
    print(
        f"model {args.model} ({model.info.spec.encoder}), {len(pairs)} validation photos it never saw"
    )
    rows = []
    started = time.monotonic()
    for pair in pairs:
        image, _ = decode_image(pair.image)
        truth = read_mask(pair.mask).astype(np.uint8)
        guess = model.predict(image).mask.astype(np.uint8)
        tic = time.monotonic()
        regions = over_segment(image)
        region_s = time.monotonic() - tic
        user = User(truth, regions, classes)  # the page without a model has no model fill
        with_model = user
        if args.model_fill:
            probabilities = [model.predict(image, probability_of=c).probability for c in range(classes)]  # fmt: skip
            with_model = ModelFillUser(truth, regions, classes, probabilities, args.model_fill)
        pre = correct(with_model, guess, args.limit)
        empty = correct(user, np.zeros_like(truth), args.limit)
        rows.append((pair.name, pre, empty))
        print(f"{pair.name} ({image.shape[1]}x{image.shape[0]}, {int(regions.max()) + 1} regions "
              f"in {region_s:.1f} s): pre-labels {pre.agreement[0]:.3f} -> 95 % in "
              f"{_clicks(pre)} clicks {pre.kinds}; empty {empty.agreement[0]:.3f} -> 95 % in "
              f"{_clicks(empty)} clicks {empty.kinds}", flush=True)  # fmt: skip
    print(f"\n{len(rows)} photos in {(time.monotonic() - started) / 60:.1f} min\n")
    print("| photo | start agreement (pre / empty) | clicks to 95 %: pre-labels | empty | "
          "clicks to 90 %: pre / empty | the guess is worth (clicks from empty to its agreement) | "
          + " | ".join(f"after {n}: pre / empty" for n in CHECKPOINTS) + " |")  # fmt: skip
    print("|---|---|---|---|---|---|" + "---|" * len(CHECKPOINTS))
    for name, pre, empty in rows:
        cells = " | ".join(f"{after(pre, n):.3f} / {after(empty, n):.3f}" for n in CHECKPOINTS)
        print(f"| {name} | {pre.agreement[0]:.3f} / {empty.agreement[0]:.3f} | {_clicks(pre)} | "
              f"{_clicks(empty)} | {_text(reached(pre, 0.9))} / {_text(reached(empty, 0.9))} | "
              f"{_text(reached(empty, pre.agreement[0]))} | {cells} |")  # fmt: skip
    pre_clicks = [_count(pre, args.limit) for _, pre, _ in rows]
    empty_clicks = [_count(empty, args.limit) for _, _, empty in rows]
    median_pre, median_empty = statistics.median(pre_clicks), statistics.median(empty_clicks)
    print(f"\nmedian clicks to 95 %: from pre-labels {median_pre:g}, from an empty mask "
          f"{median_empty:g} ({median_empty / max(median_pre, 1):.1f}x; "
          f"a photo that never got there counts as {args.limit + 1})")  # fmt: skip
    worth = [reached(e, p.agreement[0]) for _, p, e in rows]
    to_90 = [[_or(reached(o, 0.9), args.limit + 1) for o in (p, e)] for _, p, e in rows]
    print(f"median clicks to 90 %: from pre-labels {statistics.median(t[0] for t in to_90):g}, "
          f"from an empty mask {statistics.median(t[1] for t in to_90):g}; the model's guess is "
          f"worth a median {statistics.median(_or(w, args.limit + 1) for w in worth):g} clicks "
          "from an empty mask")  # fmt: skip
    print(f"mean agreement after {', '.join(map(str, CHECKPOINTS))} clicks: pre-labels "
          + ", ".join(f"{np.mean([after(p, n) for _, p, _ in rows]):.3f}" for n in CHECKPOINTS)
          + "; empty "
          + ", ".join(f"{np.mean([after(e, n) for _, _, e in rows]):.3f}" for n in CHECKPOINTS))  # fmt: skip
    print(
        "\nper class: mean IoU over the photos at the start and after 10 / 20 / 50 clicks; "
        "clicks giving the class on the way to 95 % (all photos)"
    )
    print("| class | pre-labels: start, 10, 20, 50 | clicks | empty: start, 10, 20, 50 | clicks |")
    print("|---|---|---|---|---|")
    for c, name in enumerate(names):

        def trail(outcomes, c=c):
            return ", ".join(
                f"{np.nanmean([o.per_class_iou.get(n, o.per_class_iou[max(o.per_class_iou)])[c] for o in outcomes]):.2f}"
                for n in (0, *CHECKPOINTS)
            )  # fmt: skip

        pres = [p for _, p, _ in rows]
        empties = [e for _, _, e in rows]
        print(f"| {name} | {trail(pres)} | {sum(o.clicked_classes.get(c, 0) for o in pres)} | "
              f"{trail(empties)} | {sum(o.clicked_classes.get(c, 0) for o in empties)} |")  # fmt: skip


def reached(outcome: Outcome, level: float) -> int | None:
    """The clicks after which the agreement first reached ``level`` (None: never)."""
    return next((i for i, a in enumerate(outcome.agreement) if a >= level), None)


def _text(clicks: int | None) -> str:
    return "never" if clicks is None else str(clicks)


def _or(clicks: int | None, instead: int) -> int:
    return instead if clicks is None else clicks


def _clicks(outcome: Outcome) -> str:
    return "never" if outcome.clicks is None else str(outcome.clicks)


def _count(outcome: Outcome, limit: int) -> int:
    return limit + 1 if outcome.clicks is None else outcome.clicks


if __name__ == "__main__":
    main()
