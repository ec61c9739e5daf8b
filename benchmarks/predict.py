"""Prediction speed and quality: the seed's way against vitiseg's default, same model.

The seed's way: one photo at a time, resized to 2048x2048 (Lanczos), float32, the mask
resized back. vitiseg: `vitiseg predict`'s engine with its defaults (the photo at its own
resolution, padded to a multiple of 32; bf16 where the CPU has it; photos decoded in
background threads). Each way runs in a fresh process for its own peak memory.
Images/second on ../shared/data/agrocam-vine/unlabeled, IoU on .../labeled.

    python benchmarks/predict.py [--model RUN]   (without --model, first trains a
                                                  full-resolution ResNet-18 U-Net, 10 min)

IoU is given over the 25 labeled photos and over those the model did not train on (its
run's valid and test splits). The README's figures use a model trained on a GPU with
train_model's command plus `--accelerator gpu --crops-per-image 16 --max-time 2`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from common import AGROCAM, ROOT, peak_rss_mb, require, run_child


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--way", choices=("seed", "vitiseg"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help="a vitiseg run folder to use (default: train one)")
    parser.add_argument(
        "--work", default=str(ROOT / "runs" / "bench_predict"), help="where to train the model"
    )
    parser.add_argument("--minutes", type=float, default=10, help="training budget for the model")
    return parser.parse_args()


def seed_predictor(model, info):
    """The seed's test stage: square 2048 resize, float32, batch of one."""
    from vitiseg.model import normalize

    model = model.float().eval()

    def predict(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        square = cv2.resize(image, (2048, 2048), interpolation=cv2.INTER_LANCZOS4)
        x = normalize(torch.from_numpy(square).permute(2, 0, 1)[None], info.mean, info.std)
        with torch.no_grad():
            mask = model(x).argmax(1)[0].to(torch.uint8).numpy()
        return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)

    return predict


def vitiseg_predictor(model, info):
    from vitiseg.config import InferenceOptions
    from vitiseg.hardware import inference_precision
    from vitiseg.inference import Predictor

    options = InferenceOptions()
    device = torch.device("cpu")
    predictor = Predictor(model, info, "cpu", options.tile, options.overlap, options.batch_size, options.tta,
                          inference_precision(options.precision, device))  # fmt: skip
    return lambda image: predictor.predict(image).mask


def measure(way: str, model_dir: str) -> dict:
    from vitiseg.data.imageio import decode_image, read_mask
    from vitiseg.evaluate import confusion_of
    from vitiseg.model import load_model
    from vitiseg.prefetch import prefetch

    model, info = load_model(model_dir)
    predict = (seed_predictor if way == "seed" else vitiseg_predictor)(model, info)
    photos = sorted((AGROCAM / "unlabeled").glob("*.jpg"))
    predict(decode_image(photos[0])[0])  # warm-up
    start = time.perf_counter()
    if way == "seed":  # decode and predict in turn
        for photo in photos:
            predict(decode_image(photo)[0])
    else:
        for _, (image, _) in prefetch(photos, decode_image):
            predict(image)
    rate = len(photos) / (time.perf_counter() - start)
    confusions = {}
    for photo in sorted((AGROCAM / "labeled").glob("*.jpg")):
        truth = read_mask(photo.with_name(photo.stem + "_bin.png"))
        confusion = confusion_of(truth, predict(decode_image(photo)[0]), info.spec.classes)
        confusions[photo.stem] = confusion.tolist()
    return {"images_per_s": rate, "peak_mb": peak_rss_mb(), "confusions": confusions}


def held_out(model: Path) -> set[str] | None:
    """Photos the model did not train on (its run's valid and test splits), if known."""
    from vitiseg.data.split import read_split

    if not (model / "split.csv").is_file():
        return None
    split = read_split(model / "split.csv", AGROCAM / "labeled")
    return {pair.name for part in ("valid", "test") for pair in split[part]}


def iou_of(confusions: dict[str, list], names: set[str] | None = None) -> list[float]:
    from vitiseg.metrics import iou

    total = sum(np.array(c) for name, c in confusions.items() if names is None or name in names)
    return iou(torch.from_numpy(total)).tolist()


def train_model(work: Path, minutes: float) -> Path:
    """A full-resolution model (the resolution the seed trains at), vitiseg's CPU recipe."""
    run = work / "full_res"
    if (run / "model.safetensors").is_file():
        return run
    from vitiseg.cli import main as cli

    print(f"Training a full-resolution ResNet-18 U-Net for {minutes:g} minutes...", flush=True)
    code = cli(["train", "-n", run.name, "-d", str(AGROCAM / "labeled"), "-o", str(work), "-c", "5",
                "--encoder", "resnet18", "--encoder-weights", "none", "--crop-size", "512",
                "--loss", "ce+dice", "--class-weights", "sqrt", "--augment", "standard",
                "--crops-per-image", "2", "-lr", "2e-3", "-e", "500", "--max-time", str(minutes),
                "-p", "--no-test", "--overwrite"])  # fmt: skip
    if code:
        sys.exit("training the benchmark model failed")
    return run


def main() -> None:
    args = parse_args()
    if args.way:
        print(json.dumps(measure(args.way, args.model)))
        return
    require(AGROCAM / "labeled", AGROCAM / "unlabeled")
    model = Path(args.model) if args.model else train_model(Path(args.work), args.minutes)
    results = {
        way: run_child(Path(__file__), "--way", way, "--model", str(model))
        for way in ("seed", "vitiseg")
    }
    seed, ours = results["seed"], results["vitiseg"]
    print(f"model {model}; 30 unlabeled photos (speed), 25 labeled photos (IoU); CPU")
    print(f"{'':22}{'seed way':>12}{'vitiseg':>12}{'ratio':>8}")
    print(
        f"{'photos/s':22}{seed['images_per_s']:12.3f}{ours['images_per_s']:12.3f}{ours['images_per_s'] / seed['images_per_s']:8.2f}"
    )
    print(f"{'peak memory MiB':22}{seed['peak_mb']:12.0f}{ours['peak_mb']:12.0f}")
    groups = [("25 labeled photos", None)]
    if unseen := held_out(model):
        groups.append((f"the {len(unseen)} it did not train on", unseen))
    for label, names in groups:
        a, b = iou_of(seed["confusions"], names), iou_of(ours["confusions"], names)
        print(f"IoU, {label}:")
        for c, (x, y) in enumerate(zip(a, b, strict=True)):
            print(f"{f'  class {c}':22}{x:12.3f}{y:12.3f}")
        print(f"{'  mean':22}{np.nanmean(a):12.3f}{np.nanmean(b):12.3f}")


if __name__ == "__main__":
    main()
