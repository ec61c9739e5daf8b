"""Spearman rank correlation between `predict --uncertainty` and 1 - mIoU, per photo, on a
run's validation and training photos: `python benchmarks/uncertainty.py RUN_FOLDER`."""

import sys

import numpy as np
from scipy.stats import spearmanr

import vitiseg
from vitiseg.data.imageio import read_mask

if len(sys.argv) < 2:
    sys.exit("usage: python benchmarks/uncertainty.py RUN_FOLDER (a run with a split.csv)")
run = vitiseg.Run.open(sys.argv[1])
model = vitiseg.load(run.root)
for part in ("valid", "train"):
    u, err = [], []
    for pair in run.pairs(part):
        pred = model.predict(pair.image, uncertainty=True)
        truth = read_mask(pair.mask)
        ious = []
        for c in range(model.classes):
            union = ((pred.mask == c) | (truth == c)).sum()
            if union:
                ious.append(((pred.mask == c) & (truth == c)).sum() / union)
        u.append(pred.uncertainty)
        err.append(1 - np.mean(ious))
    rho, p = spearmanr(u, err)
    print(
        f"{part}: {len(u)} photos, uncertainty {min(u):.3f}-{max(u):.3f}, "
        f"1-mIoU {min(err):.3f}-{max(err):.3f}, Spearman rho {rho:.2f} (p={p:.2f})"
    )
