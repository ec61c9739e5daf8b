"""OneCycle learning-rate schedule that survives a resume with a different length."""

from __future__ import annotations

from torch.optim.lr_scheduler import OneCycleLR

from vitiseg.hardware import is_rank_zero


class ResumableOneCycleLR(OneCycleLR):
    """``OneCycleLR`` whose saved state may come from a run of another total length.

    Resuming with more (or fewer) epochs keeps the step counter and follows the schedule
    planned for the new total, instead of failing when the old total is passed.
    """

    def load_state_dict(self, state_dict: dict) -> None:
        if state_dict.get("total_steps") == self.total_steps:
            super().load_state_dict(state_dict)
            return
        last_epoch = state_dict["last_epoch"]
        if last_epoch >= self.total_steps:
            raise ValueError(
                f"the run already made {last_epoch} steps, more than the {self.total_steps} "
                "the new number of epochs allows"
            )
        self.last_epoch = last_epoch
        self._step_count = state_dict.get("_step_count", last_epoch + 1)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        if is_rank_zero():
            print(
                f"Learning-rate schedule rebuilt for the new length: {state_dict.get('total_steps')}"
                f" -> {self.total_steps} steps, continuing from step {last_epoch}"
            )
