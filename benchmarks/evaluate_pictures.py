"""What `vitiseg evaluate`'s pictures cost to write: PNG compression levels 6 and 1.

Each labelled field photo (1920x1080) becomes a side-by-side panel (photo, truth,
prediction: 5760x1080, the truth standing in for the prediction) written as PNG at
Pillow's default level 6 and at level 1, which `evaluate` uses; the script prints the
seconds a panel and the file sizes of both.

    python benchmarks/evaluate_pictures.py [--photos 5]
"""

from __future__ import annotations

import argparse
import io
import time

from common import AGROCAM, require
from PIL import Image

from vitiseg.data.imageio import read_image, read_mask
from vitiseg.report.overlay import side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=5, help="photos to write (default: 5)")
    args = parser.parse_args()
    require(AGROCAM / "labeled")
    photos = sorted((AGROCAM / "labeled").glob("*.jpg"))[: args.photos]
    seconds, sizes = {6: 0.0, 1: 0.0}, {6: 0, 1: 0}
    for photo in photos:
        truth = read_mask(photo.with_name(f"{photo.stem}_bin.png"))
        panel = Image.fromarray(side_by_side(read_image(photo), truth, truth, 5))
        for level in seconds:
            buffer = io.BytesIO()
            started = time.perf_counter()
            panel.save(buffer, format="PNG", compress_level=level)
            seconds[level] += time.perf_counter() - started
            sizes[level] += buffer.tell()
    print(f"{len(photos)} side-by-side panels of {panel.width}x{panel.height}")
    for level in seconds:
        print(f"PNG level {level}: {seconds[level] / len(photos):.2f} s a panel, "
              f"{sizes[level] / len(photos) / 2**20:.1f} MiB")  # fmt: skip
    print(f"level 1 against 6: {seconds[6] / seconds[1]:.1f}x faster, "
          f"{sizes[1] / sizes[6] - 1:+.0%} size")  # fmt: skip


if __name__ == "__main__":
    main()
