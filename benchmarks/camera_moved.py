"""How often `vitiseg season` flags "camera moved" on the shared field photos.

The 55 agrocam photos (3 cameras, April to August 2024) go through the season's quality
measures; the script prints, per camera, the photos flagged and each photo's view shift
from the previous well-exposed photo of its camera (what the check compares).

    python benchmarks/camera_moved.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from common import AGROCAM, require

from vitiseg import season
from vitiseg.data.photos import photo_datetime


def main() -> None:
    require(AGROCAM / "labeled")
    files = sorted(str(p) for folder in ("labeled", "unlabeled") for p in (AGROCAM / folder).glob("*.jpg"))  # fmt: skip
    table = pd.DataFrame({"file": files, "datetime": [photo_datetime(Path(f)) for f in files]})
    photos, _ = season.prepare(table)
    photos["moved"] = photos["dropped"].str.startswith("camera moved")
    print(photos.groupby("camera").agg(photos=("file", "size"), moved=("moved", "sum")).to_string())
    for row in photos.sort_values(["camera", "date"]).itertuples():
        flag = "  <- camera moved" if row.moved else ""
        print(f"{Path(row.file).name:42s} shift {row.shift:6.3f}{flag}")


if __name__ == "__main__":
    main()
