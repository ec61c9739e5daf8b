"""Which per-photo uncertainty picks the photos a model gets wrong?

For each photo of a run's validation and training split: the model's error (1 - mean IoU
over the classes present in the truth or the prediction) and candidate uncertainties
computed from the same full-resolution prediction. Prints the Spearman rank correlation
of each candidate with the error (higher is better: uncertain photos are wrong photos).

    python benchmarks/uncertainty.py RUN_FOLDER

Candidates:
  entropy          mean normalised pixel entropy (every pixel weighs the same)
  low-confidence   share of pixels whose top class probability is under 0.5
  class-entropy    mean over predicted classes of the mean entropy of that class's pixels
                   (vitiseg.canopy.uncertainty.ClassEntropy: what `predict --uncertainty` writes)
  flip             1 - mean IoU between the masks of the photo and of its mirror image
"""

import sys

import numpy as np
import torch
from scipy.stats import spearmanr

import vitiseg
from vitiseg.canopy.uncertainty import ClassEntropy
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.evaluate import confusion_of
from vitiseg.training import metrics


def mean_iou(prediction: np.ndarray, truth: np.ndarray, classes: int) -> float:
    """Mean IoU over the classes present in either mask."""
    confusion = torch.from_numpy(confusion_of(truth, prediction, classes))
    return metrics.nanmean(metrics.iou(confusion).tolist())


def full_logits(model, image: np.ndarray) -> torch.Tensor:
    """The model's logits at the photo's size, (C, H, W)."""
    return torch.cat([logits for _, logits in model.predictor.photo_logits_rows(image)], 1)


def candidates(model, image: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    logits = full_logits(model, image)
    classes = logits.shape[0]
    log_p = logits.float().log_softmax(0)
    p = log_p.exp()
    entropy = -(p * log_p).sum(0) / np.log(classes)
    mask = logits.argmax(0)
    class_entropy = ClassEntropy(classes)
    class_entropy.add(logits, mask)
    mirrored = full_logits(model, np.ascontiguousarray(image[:, ::-1])).argmax(0).flip(1)
    return mask.numpy().astype(np.uint8), {
        "entropy": float(entropy.mean()),
        "low-confidence": float((p.max(0).values < 0.5).float().mean()),
        "class-entropy": class_entropy.value(),
        "flip": 1 - mean_iou(mask.numpy(), mirrored.numpy(), classes),
    }


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/uncertainty.py RUN_FOLDER (a run with a split.csv)")
    run = vitiseg.Run.open(sys.argv[1])
    model = vitiseg.load(run.root)
    for part in ("valid", "train"):
        errors, measures = [], {}
        for pair in run.pairs(part):
            mask, values = candidates(model, decode_image(pair.image)[0])
            errors.append(1 - mean_iou(mask, read_mask(pair.mask), model.classes))
            for name, value in values.items():
                measures.setdefault(name, []).append(value)
        print(f"{part}: {len(errors)} photos, 1 - mIoU {min(errors):.3f}-{max(errors):.3f}")
        for name, values in measures.items():
            rho, p = spearmanr(values, errors)
            print(f"  {name:15} Spearman rho {rho:+.2f} (p={p:.2f})")


if __name__ == "__main__":
    main()
