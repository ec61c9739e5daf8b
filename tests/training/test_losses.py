import pytest
import torch

from vitiseg.config import LOSSES
from vitiseg.data.masks import IGNORE_INDEX
from vitiseg.training.losses import build_loss


@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_is_finite_and_decreases_on_a_tiny_batch(name):
    torch.manual_seed(0)
    target = torch.randint(0, 3, (2, 16, 16))
    target[:, :2] = IGNORE_INDEX  # padding rows count nowhere
    logits = torch.zeros(2, 3, 16, 16, requires_grad=True)
    loss_fn = build_loss(name, torch.tensor([1.0, 2.0, 0.5]) if name in ("ce", "ce+dice") else None)
    optimizer = torch.optim.SGD([logits], lr=5.0)
    values = []
    for _ in range(6):
        loss = loss_fn(logits, target)
        values.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(torch.isfinite(torch.tensor(values)))
    assert values[-1] < values[0]


def test_ignored_pixels_do_not_change_the_loss():
    torch.manual_seed(1)
    logits = torch.randn(1, 3, 8, 8)
    target = torch.randint(0, 3, (1, 8, 8))
    padded_logits = torch.cat([logits, torch.randn(1, 3, 8, 8) * 10], dim=3)
    padded_target = torch.cat([target, torch.full((1, 8, 8), IGNORE_INDEX)], dim=2)
    for name in ("ce", "dice", "focal"):
        loss_fn = build_loss(name)
        assert loss_fn(padded_logits, padded_target).item() == pytest.approx(
            loss_fn(logits, target).item(), rel=1e-5
        )


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="choose from ce, dice"):
        build_loss("hinge")
