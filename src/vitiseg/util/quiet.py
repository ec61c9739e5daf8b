"""Keep library chatter (deprecations, info logs) away from users, within a block only.

A Python user's own warning filters and logging levels are restored when the block ends:
vitiseg changes no process-wide state behind their back.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator

NOISE = (
    r".*does not have many workers.*",
    r".*The number of training batches.*",
    r".*Checkpoint directory .* exists and is not empty.*",
    r".*torch.cuda.amp.*",
    r".*It is recommended to use `self.log\(.*sync_dist=True.*",  # vitiseg logs synced figures
    r".*LeafSpec.*",
    r".*isinstance\(treespec, LeafSpec\).*",
    r".*You are using `torch.load` with `weights_only=False`.*",
    r".*WeightAveraging.*configure_model.*",  # --ema: vitiseg builds its network in __init__
)
LIBRARY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")


def _show(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=file or sys.stderr)


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Within the block, silence third-party deprecation and info noise and print other
    warnings as one line each; everything is put back as it was afterwards."""
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.showwarning = _show
        for category in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
            warnings.filterwarnings("ignore", category=category)
        for pattern in NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
