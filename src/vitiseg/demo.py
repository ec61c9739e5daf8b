"""The demo behind ``make demo``: draw a synthetic vineyard, train, evaluate, show results.

Runs in a few minutes on a laptop CPU, with no download and no data of the user's.
``python -m vitiseg.demo --help`` for the knobs (CI runs a shortened one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from vitiseg.cli import main as cli
from vitiseg.data.synthetic import CLASS_NAMES, write_synthetic
from vitiseg.run import Run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The demo's options: ``--out``, ``--n``, ``--size``, ``--epochs``, ``--crop-size``..."""
    parser = argparse.ArgumentParser(prog="python -m vitiseg.demo", description=__doc__)
    parser.add_argument("--out", default="demo", help="folder for data and run (default: demo)")
    parser.add_argument("--n", type=int, default=40, help="synthetic photos (default: 40)")
    parser.add_argument("--size", default="512x384", help="photo size WxH (default: 512x384)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    parser.add_argument("--crop-size", type=int, default=256, help="training crop (default: 256)")
    parser.add_argument(
        "--minutes",
        type=float,
        default=3.0,
        help="training time budget; the schedule is fitted to it (default: 3)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Draw a synthetic vineyard, train and test a model on it; returns the exit code."""
    args = parse_args(argv)
    out = Path(args.out)
    width, height = (int(v) for v in args.size.lower().split("x"))
    started = time.monotonic()
    print(f"1/3 Drawing {args.n} synthetic vineyard photos into {out / 'data'}")
    write_synthetic(out / "data", n=args.n, size=(width, height))
    print(
        "2/3 Training a U-Net (EfficientNet-Lite0 encoder, ImageNet weights from its pip "
        "package) and 3/3 evaluating its test split"
    )
    code = cli(
        [
            "train",
            "-n",
            "demo",
            "-d",
            str(out / "data"),
            "-o",
            str(out / "runs"),
            "-c",
            "3",
            "--class-names",
            ",".join(CLASS_NAMES),
            "--encoder",
            "timm-tf_efficientnet_lite0",
            "--encoder-weights",
            "imagenet",
            "--decoder-channels",
            "128,64,32,16,16",
            "--loss",
            "ce+dice",
            "--crop-size",
            str(args.crop_size),
            "-e",
            str(args.epochs),
            "--max-time",
            str(args.minutes),
            "-bs",
            "8",
            "-lr",
            "1e-3",
            "-p",
            "--overwrite",
        ]  # fmt: skip
    )
    if code:
        return code
    run = out / "runs" / "demo"
    summary = json.loads(Run(run).summary.read_text())
    iou = {name: summary["per_class"][name]["IoU"] for name in CLASS_NAMES[1:]}
    print(
        f"\nDone in {(time.monotonic() - started) / 60:.1f} min. IoU on the synthetic test split: "
        + ", ".join(f"{name} {value:.3f}" for name, value in iou.items())
        + f"\nThe run folder {run} holds:\n"
        "  Train_demo.csv, metrics.png   per-epoch IoU/accuracy/precision/recall per class\n"
        "  Test_demo.csv, summary.json   test figures per photo and overall, leaf cover, LAI estimate\n"
        "  confusion.png                 where the classes are confused\n"
        "  Predictions/demo/*.png        photos with the predicted classes overlaid\n"
        "  model.safetensors, model.json the model, for `vitiseg predict --model "
        f"{run} PHOTOS -o OUT`\n"
        "  checkpoints/                  last.ckpt (resume with -r), best.ckpt\n"
        f"Open the report in a browser: {(run / 'report.html').resolve()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
