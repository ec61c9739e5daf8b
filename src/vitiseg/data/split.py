"""Split pairs into train/valid/test as the seed does, and keep the split in ``split.csv``."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from sklearn.model_selection import train_test_split

from vitiseg.data.layout import Pair
from vitiseg.errors import ConfigError, DataError
from vitiseg.util.atomic import write_text

SPLITS = ("train", "valid", "test")
TEST_SIZE = 0.2
VALID_SIZE = 0.4  # of what remains after the test split, as in the seed


def _group_of(name: str, pattern: re.Pattern[str]) -> str:
    match = pattern.search(name)
    if not match:
        raise DataError(f"{name}: group_by={pattern.pattern!r} does not match this file name")
    return match.group(1) if match.groups() else match.group(0)


def split_names(
    names: list[str], seed: int = 19, group_by: str | None = None
) -> dict[str, list[str]]:
    """Split names 20 % test, then 40 % of the rest valid, with ``random_state=seed``.

    With ``group_by`` (a regex; its first group, or whole match, names the group) whole
    groups go to one split, so valid and test hold e.g. dates or cameras unseen in training.

    Example:
        >>> s = split_names([f"img{i}" for i in range(10)])
        >>> [len(s[k]) for k in ("train", "valid", "test")]
        [4, 4, 2]
    """
    if len(names) < 3:
        raise DataError(f"{len(names)} pair(s) found: at least 3 are needed for train/valid/test")
    if group_by is None:
        rest, test = train_test_split(sorted(names), test_size=TEST_SIZE, random_state=seed)
        train, valid = train_test_split(rest, test_size=VALID_SIZE, random_state=seed)
        return {"train": sorted(train), "valid": sorted(valid), "test": sorted(test)}
    try:
        pattern = re.compile(group_by)
    except re.error as exc:
        raise ConfigError(
            f"group_by={group_by!r}: not a valid regular expression ({exc})"
        ) from None
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        groups.setdefault(_group_of(name, pattern), []).append(name)
    if len(groups) < 3:
        raise DataError(
            f"group_by={group_by!r} finds {len(groups)} group(s) ({', '.join(groups)}); "
            "at least 3 are needed for train/valid/test"
        )
    by_group = split_names(sorted(groups), seed=seed)
    return {s: sorted(n for g in by_group[s] for n in groups[g]) for s in SPLITS}


def write_split(path: str | Path, split: dict[str, list[Pair]], root: str | Path) -> None:
    """Write ``name,split,image,mask`` rows (paths relative to ``root``) atomically."""
    root = Path(root)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "split", "image", "mask"])
    for part in SPLITS:
        for pair in split[part]:
            image, mask = (os.path.relpath(p, root) for p in (pair.image, pair.mask))
            writer.writerow([pair.name, part, image, mask])
    write_text(path, buffer.getvalue())


def read_split(path: str | Path, root: str | Path) -> dict[str, list[Pair]]:
    """Read a ``split.csv`` written by :func:`write_split`; paths are resolved from ``root``.

    Raises:
        DataError: a listed file no longer exists, or a row has an unknown split.
    """
    root = Path(root)
    split: dict[str, list[Pair]] = {part: [] for part in SPLITS}
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        reader = csv.DictReader(handle)
        missing = [
            c for c in ("name", "split", "image", "mask") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise DataError(
                f"{path}: no {', '.join(missing)} column(s); a split file has the columns "
                "name,split,image,mask (paths relative to the data folder), like a run's split.csv"
            )
        for row in reader:
            if row.get("split") not in split:
                raise DataError(f"{path}: row {row} has no split among {', '.join(SPLITS)}")
            pair = Pair(row["name"], root / row["image"], root / row["mask"])
            for file in (pair.image, pair.mask):
                if not file.is_file():
                    raise DataError(f"{path}: lists {file}, which no longer exists")
            split[row["split"]].append(pair)
    return split


def assign(pairs: list[Pair], names: dict[str, list[str]]) -> dict[str, list[Pair]]:
    """Group pairs by the split their name is in."""
    by_name = {pair.name: pair for pair in pairs}
    return {part: [by_name[name] for name in names[part]] for part in SPLITS}
