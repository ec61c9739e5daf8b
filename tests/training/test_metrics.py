import math

import numpy as np
import pytest
import torch
from sklearn.metrics import jaccard_score, precision_score, recall_score
from torchmetrics.classification import MulticlassConfusionMatrix

from vitiseg.training import metrics


def test_figures_of_a_hand_computed_matrix():
    # truth rows, predictions columns: class 0 has 3 right, 1 predicted as class 1
    cm = torch.tensor([[3, 1], [0, 4]])
    assert metrics.iou(cm).tolist() == [0.75, 0.8]
    assert metrics.precision(cm).tolist() == [1.0, 0.8]
    assert metrics.recall(cm).tolist() == [0.75, 1.0]
    assert metrics.accuracy(cm).tolist() == [7 / 8, 7 / 8]
    assert metrics.f1(cm).tolist() == pytest.approx([6 / 7, 8 / 9])


def test_class_absent_everywhere_is_nan_and_skipped_by_the_mean():
    cm = torch.tensor([[5, 0, 0], [1, 2, 0], [0, 0, 0]])
    iou = metrics.iou(cm).tolist()
    assert math.isnan(iou[2])
    assert metrics.nanmean(iou) == pytest.approx((5 / 6 + 2 / 3) / 2)


def test_non_square_matrix_is_refused():
    with pytest.raises(ValueError, match="square"):
        metrics.iou(torch.zeros(2, 3))


def test_matches_sklearn_on_random_masks():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 5000)
    pred = np.where(rng.random(5000) < 0.6, truth, rng.integers(0, 4, 5000))
    confusion = MulticlassConfusionMatrix(4)(torch.tensor(pred), torch.tensor(truth))
    labels = list(range(4))
    assert metrics.iou(confusion).numpy() == pytest.approx(
        jaccard_score(truth, pred, average=None, labels=labels)
    )
    assert metrics.precision(confusion).numpy() == pytest.approx(
        precision_score(truth, pred, average=None, labels=labels)
    )
    assert metrics.recall(confusion).numpy() == pytest.approx(
        recall_score(truth, pred, average=None, labels=labels)
    )


def test_epoch_matrix_differs_from_the_seeds_mean_of_batch_ious():
    # batch 1: a tiny image where class 1 is missed; batch 2: a big one where all is right
    truth1, pred1 = torch.tensor([1, 1]), torch.tensor([0, 0])
    truth2, pred2 = torch.ones(98, dtype=torch.long), torch.ones(98, dtype=torch.long)
    epoch = MulticlassConfusionMatrix(2)
    epoch.update(pred1, truth1)
    epoch.update(pred2, truth2)
    assert metrics.iou(epoch.compute())[1] == pytest.approx(0.98)
    per_batch = [
        metrics.iou(MulticlassConfusionMatrix(2)(p, t))[1]
        for p, t in ((pred1, truth1), (pred2, truth2))
    ]
    assert float(sum(per_batch) / 2) == pytest.approx(0.5)  # what averaging batches would claim
