"""Keep library chatter (deprecations, info logs) away from users; show vitiseg's own warnings briefly."""

from __future__ import annotations

import logging
import sys
import warnings


def _show(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=file or sys.stderr)


def quiet_libraries() -> None:
    """Silence third-party deprecation and info noise; print warnings as one line each."""
    warnings.showwarning = _show
    for category in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    for pattern in (
        r".*does not have many workers.*",
        r".*The number of training batches.*",
        r".*Checkpoint directory .* exists and is not empty.*",
        r".*torch.cuda.amp.*",
        r".*It is recommended to use `self.log\(.*sync_dist=True.*",  # vitiseg logs synced figures
        r".*LeafSpec.*",
        r".*isinstance\(treespec, LeafSpec\).*",
        r".*You are using `torch.load` with `weights_only=False`.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
