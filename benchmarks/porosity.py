"""Where the porosity error comes from, and which gap rule a model's masks measure best.

For a trained run and the photos of one part of its split (default: the validation
photos), each photo is predicted at full resolution and its porosity measured on the
true and on the predicted mask, by vitiseg's rule and by variants:

- the error split in two: leaf from the prediction with the true base line (the leaf
  class's edges and holes), and true leaf with the predicted base line (pipe/trunk);
- gaps smaller than a minimum area (a share of the photo's pixels) counted as leaf, on
  both masks: porosity at a stated scale, which a model that smooths tiny holes can meet;
- inter-row hue: the same photo's hue on the true and the predicted inter-row pixels.

    python benchmarks/porosity.py runs/bench_quality/lite0-pre-s04-20min [--part valid]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import AGROCAM, machine, require
from scipy import ndimage

from vitiseg.canopy.traits import class_hue, porosity
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.engine.loaded import Model
from vitiseg.run import Run

MIN_GAPS = (0.0, 1e-5, 5e-5, 2e-4, 1e-3)
"""Shares of the photo's pixels; at 1920 x 1080: 0, 21, 104, 415 and 2,074 pixels."""


def filled(mask: np.ndarray, leaf: int, min_gap: float) -> np.ndarray:
    """``mask`` with its non-leaf patches smaller than ``min_gap`` of the photo made leaf."""
    if not min_gap:
        return mask
    labels, count = ndimage.label(mask != leaf)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    small = sizes < min_gap * mask.size
    small[0] = False
    out = mask.copy()
    out[small[labels]] = leaf
    return out


def swapped_leaf(base: np.ndarray, leaf_from: np.ndarray, leaf: int) -> np.ndarray:
    """``base``'s classes with its leaf pixels replaced by those of ``leaf_from``."""
    out = base.copy()
    out[base == leaf] = 0
    out[leaf_from == leaf] = leaf
    return out


def error(pairs: list[tuple[float, float]]) -> str:
    diff = np.array([p - t for t, p in pairs if np.isfinite(p) and np.isfinite(t)])
    return f"MAE {np.abs(diff).mean():.3f}  bias {diff.mean():+.3f}  ({len(diff)} photos)"


def hue_error(pairs: list[tuple[float, float]]) -> str:
    diff = np.array([(p - t + 180) % 360 - 180 for t, p in pairs if np.isfinite(p) and np.isfinite(t)])  # fmt: skip
    return f"MAE {np.abs(diff).mean():.2f} deg  bias {diff.mean():+.2f} deg  ({len(diff)} photos)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("run", type=Path, help="a run folder (benchmarks/quality.py writes them)")
    parser.add_argument("--part", default="valid", choices=("train", "valid", "test"))
    args = parser.parse_args()
    require(AGROCAM / "labeled")
    run = Run.open(args.run)
    model = Model(run.root)
    roles = model.roles
    leaf = roles.leaf
    rows = []
    for pair in run.pairs(args.part):
        image = decode_image(pair.image)[0]
        truth, predicted = read_mask(pair.mask), model.predict(image).mask
        rows.append((pair.name, image, truth, predicted))
        print(f"predicted {pair.name}", flush=True)
    print(f"\n{machine()}\nrun {run.root}, {len(rows)} {args.part} photos, roles {roles}\n")
    print("truth porosity per photo:", " ".join(f"{porosity(t, roles)[0]:.3f}" for _, _, t, _ in rows))  # fmt: skip
    for min_gap in MIN_GAPS:
        both = [(porosity(filled(t, leaf, min_gap), roles)[0], porosity(filled(p, leaf, min_gap), roles)[0])
                for _, _, t, p in rows]  # fmt: skip
        print(f"gaps >= {min_gap:g} of the photo: {error(both)}")
    leaf_only = [(porosity(t, roles)[0], porosity(swapped_leaf(t, p, leaf), roles)[0]) for _, _, t, p in rows]  # fmt: skip
    line_only = [(porosity(t, roles)[0], porosity(swapped_leaf(p, t, leaf), roles)[0]) for _, _, t, p in rows]  # fmt: skip
    print(f"predicted leaf, true base line:  {error(leaf_only)}")
    print(f"true leaf, predicted base line:  {error(line_only)}")
    rules = [(porosity(t, roles)[1], porosity(p, roles)[1]) for _, _, t, p in rows]
    print(f"base rules (true, predicted): {rules}")
    hues = [(class_hue(i, t, roles.inter_row), class_hue(i, p, roles.inter_row)) for _, i, t, p in rows]  # fmt: skip
    print(f"inter-row hue: {hue_error(hues)}")


if __name__ == "__main__":
    main()
