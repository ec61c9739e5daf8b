"""Spearman rank correlation between `predict --uncertainty` and 1 - mIoU, per photo, on a
run's validation and training photos: `python benchmarks/uncertainty.py RUN_FOLDER`."""

import sys

import numpy as np
from scipy.stats import spearmanr

from vitiseg.config import TrainConfig
from vitiseg.data.imageio import read_image, read_mask
from vitiseg.data.split import read_split
from vitiseg.inference import Predictor
from vitiseg.model import load_model

run = (
    sys.argv[1]
    if len(sys.argv) > 1
    else sys.exit("usage: python benchmarks/uncertainty.py RUN_FOLDER (a run with a split.csv)")
)
config = TrainConfig.load(f"{run}/config.yaml")
splits = read_split(f"{run}/split.csv", config.directory)
model, info = load_model(run)
predictor = Predictor(model, info, "cpu", tile=2048)
for part in ("valid", "train"):
    u, err = [], []
    for pair in splits[part]:
        pred = predictor.predict(read_image(pair.image), uncertainty=True)
        truth = read_mask(pair.mask)
        ious = []
        for c in range(info.spec.classes):
            union = ((pred.mask == c) | (truth == c)).sum()
            if union:
                ious.append(((pred.mask == c) & (truth == c)).sum() / union)
        u.append(pred.uncertainty)
        err.append(1 - np.mean(ious))
    rho, p = spearmanr(u, err)
    print(
        f"{part}: {len(u)} photos, uncertainty {min(u):.3f}-{max(u):.3f}, 1-mIoU {min(err):.3f}-{max(err):.3f}, Spearman rho {rho:.2f} (p={p:.2f})"
    )
