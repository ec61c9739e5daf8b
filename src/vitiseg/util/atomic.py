"""Write files atomically: a temporary file beside the target, then a rename.

A process killed mid-write leaves the earlier file intact, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it onto ``target`` on success.

    Raises:
        OSError: the folder cannot be written (read-only, full), naming ``target``.

    Example:
        >>> with atomic_path("run/config.yaml") as tmp:  # doctest: +SKIP
        ...     tmp.write_text("a: 1")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(target)) from None
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


def remove_temporaries(targets: Iterable[Path]) -> int:
    """Delete the temporary files that a process killed while writing ``targets`` left
    beside them; returns how many. Only those of ``targets``, so processes that share a
    folder but not their files may each call it. One listing per folder."""
    by_folder: dict[Path, set[str]] = {}
    for target in targets:
        by_folder.setdefault(target.parent, set()).add(target.name)
    removed = 0
    for folder, names in by_folder.items():
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            name = entry.name  # .TARGET.XXXXXXXX.tmp, from atomic_path's mkstemp
            ours = name[1:-4].rpartition(".")[0] in names
            if name.startswith(".") and name.endswith(".tmp") and ours:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically.

    File names that are not valid UTF-8 (kept by Python as surrogates) are written back as
    their original bytes.
    """
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
