"""Prediction speed and quality: the seed's way against vitiseg's engines, same model.

The seed's way: one photo at a time, resized to 2048x2048 (Lanczos), float32, the mask
resized back. vitiseg: `vitiseg predict`'s engine (the photo at its own resolution,
padded to a multiple of 32; photos decoded in background threads) with each backend:
PyTorch fp32 (channels_last), PyTorch bf16 (only where the CPU has it natively), ONNX
Runtime fp32 and int8 (the run's model.onnx and model.int8.onnx from `vitiseg export`,
exported first when missing). Each way runs in a fresh process for its own peak memory.
Photos/second on ../shared/data/agrocam-vine/unlabeled, IoU on .../labeled; each
engine's mean IoU is also given as a difference from PyTorch fp32's.

    python benchmarks/predict.py [--model RUN] [--photos N] [--labeled N] [--ways ...]
        (without --model, first trains a full-resolution ResNet-18 U-Net, 10 min)

Emulate a CPU without bf16 (AVX2 only) on a newer one with
`ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python benchmarks/predict.py ...`
(PyTorch honours both; ONNX Runtime's kernels choose by the CPU itself, so its figures
there are the newer CPU's).

IoU is given over the labeled photos and over those the model did not train on (its
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
from common import AGROCAM, ROOT, machine, peak_rss_mb, require, run_child


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--way", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument(
        "--ways",
        nargs="+",
        choices=WAYS,
        default=list(WAYS),
        help="engines to measure (default: all)",
    )
    parser.add_argument(
        "--photos", type=int, default=30, help="unlabeled photos timed (default: all 30)"
    )
    parser.add_argument(
        "--labeled", type=int, default=25, help="labeled photos scored (default: all 25)"
    )
    parser.add_argument("--model", help="a vitiseg run folder to use (default: train one)")
    parser.add_argument(
        "--work", default=str(ROOT / "runs" / "bench_predict"), help="where to train the model"
    )
    parser.add_argument("--minutes", type=float, default=10, help="training budget for the model")
    parser.add_argument(
        "--seed-network",
        action="store_true",
        help="time the seed's way with the seed's own network (ResNet-50 U-Net, full "
        "decoder, untrained): the original script's speed with its model; no IoU for it",
    )
    return parser.parse_args()


def seed_predictor(model, info):
    """The seed's test stage: square 2048 resize, float32, batch of one."""
    from vitiseg.engine.network import normalize

    model = model.float().eval()

    def predict(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        square = cv2.resize(image, (2048, 2048), interpolation=cv2.INTER_LANCZOS4)
        x = normalize(torch.from_numpy(square).permute(2, 0, 1)[None], info.mean, info.std)
        with torch.no_grad():
            mask = model(x).argmax(1)[0].to(torch.uint8).numpy()
        return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)

    return predict


WAYS = ("seed", "torch32", "torchbf16", "ort32", "ortint8")
LABELS = {"seed": "seed way", "torch32": "torch fp32", "torchbf16": "torch bf16",
          "ort32": "ORT fp32", "ortint8": "ORT int8"}  # fmt: skip
ONNX_FILES = {"ort32": "model.onnx", "ortint8": "model.int8.onnx"}


def vitiseg_predictor(model, info, way: str, model_dir: Path):
    from vitiseg.config import InferenceOptions
    from vitiseg.engine.backends import OnnxBackend
    from vitiseg.engine.tiling import Predictor

    options = InferenceOptions()
    if way in ONNX_FILES:
        model = OnnxBackend(model_dir / ONNX_FILES[way])
    precision = "bf16" if way == "torchbf16" else "32"
    predictor = Predictor(model, info, "cpu", options.tile, options.overlap, options.batch_size, options.tta,
                          precision)  # fmt: skip
    return lambda image: predictor.predict(image).mask


def measure(way: str, model_dir: str, photos: int, labeled: int, seed_network: bool) -> dict:
    from vitiseg.data.imageio import decode_image, read_mask
    from vitiseg.engine.network import load_model
    from vitiseg.evaluate import confusion_of
    from vitiseg.util.prefetch import prefetch

    model, info = load_model(model_dir)
    if way == "seed" and seed_network:
        from vitiseg.engine.network import ModelSpec, build_model

        model = build_model(ModelSpec("Unet", "resnet50", info.spec.classes))
        labeled = 0  # an untrained network: its speed only
    if way == "seed":
        predict = seed_predictor(model, info)
    else:
        predict = vitiseg_predictor(model, info, way, Path(model_dir))
    photos = sorted((AGROCAM / "unlabeled").glob("*.jpg"))[:photos]
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
    for photo in sorted((AGROCAM / "labeled").glob("*.jpg"))[:labeled]:
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
    from vitiseg.training.metrics import iou

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


def ensure_onnx(model: Path, ways: list[str]) -> None:
    """Export the run's model.onnx / model.int8.onnx for the ONNX Runtime ways if missing."""
    from vitiseg.export import export_run

    for way in ("ort32", "ortint8"):
        if way in ways and not (model / ONNX_FILES[way]).is_file():
            export_run(model, quantize="int8" if way == "ortint8" else None, check_photos=2)


def _cell(value: float | None, digits: int = 3, sign: str = "") -> str:
    return f"{'-':>12}" if value is None else f"{value:{sign}12.{digits}f}"


def main() -> None:
    args = parse_args()
    if args.way:
        print(
            json.dumps(measure(args.way, args.model, args.photos, args.labeled, args.seed_network))
        )
        return
    require(AGROCAM / "labeled", AGROCAM / "unlabeled")
    from vitiseg.util.hardware import cpu_has_bf16

    model = Path(args.model) if args.model else train_model(Path(args.work), args.minutes)
    ways = [w for w in args.ways if w != "torchbf16" or cpu_has_bf16()]
    ensure_onnx(model, ways)
    counts = ("--photos", str(args.photos), "--labeled", str(args.labeled))
    results = {}
    for way in ways:
        print(f"measuring {LABELS[way]}...", flush=True)
        extra = ["--seed-network"] if args.seed_network else []
        results[way] = run_child(
            Path(__file__), "--way", way, "--model", str(model), *counts, *extra
        )
    capability = torch.backends.cpu.get_cpu_capability()
    print(f"\n{machine()}; PyTorch kernels {capability}")
    print(f"model {model}; {min(args.photos, 30)} unlabeled photos (speed), "
          f"{min(args.labeled, 25)} labeled photos (IoU)"
          + ("; seed way: the seed's ResNet-50 U-Net, speed only" if args.seed_network else ""))  # fmt: skip
    print("".join(f"{h:>12}" for h in ("", *[LABELS[w] for w in ways])))
    base = results.get("seed")
    rows = {
        "photos/s": [f"{results[w]['images_per_s']:12.3f}" for w in ways],
        "peak MiB": [f"{results[w]['peak_mb']:12.0f}" for w in ways],
    }
    if base:
        rows["x seed way"] = [
            f"{results[w]['images_per_s'] / base['images_per_s']:12.2f}" for w in ways
        ]
    for label, cells in rows.items():
        print(f"{label:>12}" + "".join(cells))
    groups = [(f"{min(args.labeled, 25)} labeled photos", None)]
    if (unseen := held_out(model)) and args.labeled >= 25:
        groups.append((f"the {len(unseen)} it did not train on", unseen))
    scored = [w for w in ways if results[w]["confusions"]]
    for label, names in groups:
        ious = {w: iou_of(results[w]["confusions"], names) for w in scored}
        print(f"IoU, {label}:")
        for c in range(len(next(iter(ious.values())))):
            print(
                f"{f'class {c}':>12}"
                + "".join(_cell(ious.get(w, [None] * (c + 1))[c]) for w in ways)
            )
        means = {w: float(np.nanmean(ious[w])) for w in scored}
        print(f"{'mean':>12}" + "".join(_cell(means.get(w), 4) for w in ways))
        if "torch32" in means:
            print(
                f"{'- fp32':>12}"
                + "".join(
                    _cell(means[w] - means["torch32"] if w in means else None, 4, "+") for w in ways
                )
            )


if __name__ == "__main__":
    main()
