"""Write files atomically: a temporary file beside the target, then a rename.

A process killed mid-write leaves the earlier file intact, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it onto ``target`` on success.

    Example:
        >>> with atomic_path("run/config.yaml") as tmp:  # doctest: +SKIP
        ...     tmp.write_text("a: 1")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # as a plain open() would create it, not mkstemp's 0600
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically.

    File names that are not valid UTF-8 (kept by Python as surrogates) are written back as
    their original bytes.
    """
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
