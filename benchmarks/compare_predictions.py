"""How far two `vitiseg predict` output folders of the same photos are apart: masks and traits.

    python benchmarks/compare_predictions.py REFERENCE OTHER

For a change that must not move results (a faster resize, bf16 against fp32, int8
against fp32): the share of pixels with the same class, the mean IoU of OTHER's masks
against REFERENCE's, and each trait's largest and mean absolute difference (hues on the
circle) beside a tenth of its tolerance (:attr:`vitiseg.canopy.trait_table.Trait.tolerance`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from vitiseg.canopy.circular import angle_difference
from vitiseg.canopy.trait_table import BY_NAME, DAILY


def mask_agreement(reference: Path, other: Path) -> tuple[float, float, int]:
    """Share of equal pixels, mean IoU (classes present in either) and the photo count."""
    equal = total = 0
    intersection: dict[int, int] = {}
    union: dict[int, int] = {}
    names = sorted(p.name for p in (reference / "masks").glob("*.png"))
    for name in names:
        a = np.asarray(Image.open(reference / "masks" / name))
        b = np.asarray(Image.open(other / "masks" / name))
        equal += int((a == b).sum())
        total += a.size
        for c in np.union1d(np.unique(a), np.unique(b)).tolist():
            intersection[c] = intersection.get(c, 0) + int(((a == c) & (b == c)).sum())
            union[c] = union.get(c, 0) + int(((a == c) | (b == c)).sum())
    miou = float(np.mean([intersection[c] / union[c] for c in union]))
    return equal / total, miou, len(names)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("reference", type=Path)
    parser.add_argument("other", type=Path)
    args = parser.parse_args()
    same, miou, photos = mask_agreement(args.reference, args.other)
    print(f"{photos} photos: {same:.6%} of pixels the same class; mIoU of the other's masks "
          f"against the reference's {miou:.5f} (1 - mIoU = {1 - miou:.5f})")  # fmt: skip
    a = pd.read_csv(args.reference / "canopy.csv").set_index("file")
    b = pd.read_csv(args.other / "canopy.csv").set_index("file").loc[a.index]
    print(f"{'trait':<16}{'max |diff|':>12}{'mean |diff|':>13}{'tolerance/10':>14}")
    for trait in DAILY:
        info = BY_NAME[trait]
        if info.circular:
            diff = np.abs(angle_difference(b[trait].to_numpy(float), a[trait].to_numpy(float)))
        else:
            diff = np.abs(b[trait].to_numpy(float) - a[trait].to_numpy(float))
        limit = f"{info.tolerance / 10:14.4f}" if info.tolerance else f"{'(none)':>14}"
        print(f"{trait:<16}{np.nanmax(diff):12.6f}{np.nanmean(diff):13.6f}{limit}")


if __name__ == "__main__":
    main()
