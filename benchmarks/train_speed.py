"""Training speed: the seed's own loop against vitiseg's, same data, model and batch.

ResNet-50 U-Net, 512x512 crops, batch 4, the shared agrocam photos (the seed's split),
CPU. Each loop runs 3 epochs in a fresh process (so each has its own peak memory) and
the last, warm epoch is timed (the first training step after the first validation pays a
one-time warm-up in both loops). The seed's Dataset, Trainer and metric functions are
imported from ../shared/seed/reference, never copied. Prints images/second for training
and validation, peak memory, the ratio vitiseg/seed, and achieved GFLOP/s against the
machine's measured fp32 and bf16 matmul rates.

    python benchmarks/train_speed.py [--encoder resnet50] [--crop 512] [--batch 4]

On a GPU, vitiseg's loop alone, without and with torch.compile (bf16 and channels_last
as `--precision auto` picks them; more crops per photo so an epoch has enough steps):

    python benchmarks/train_speed.py --accelerator gpu --crops-per-image 32
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from common import AGROCAM, SEED_CODE, matmul_gflops, peak_rss_mb, require, run_child

EPOCHS = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loop", choices=("seed", "vitiseg"), help=argparse.SUPPRESS)
    parser.add_argument("--encoder", default="resnet50")
    parser.add_argument("--crop", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--crops-per-image", type=int, default=1)
    parser.add_argument("--data", type=Path, default=AGROCAM / "labeled", help="labeled photos")
    parser.add_argument("--compile", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def seed_names(data: Path) -> tuple[list[str], list[str]]:
    from sklearn.model_selection import train_test_split

    names = sorted(p.stem for p in data.glob("*.jpg"))
    rest, _ = train_test_split(names, test_size=0.2, random_state=19)
    return tuple(train_test_split(rest, test_size=0.4, random_state=19))


def median_gap(times: list[float]) -> float:
    """Median time between consecutive training steps (data, forward, backward, update)."""
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b - a < 60)
    return gaps[len(gaps) // 2]


def seed_loop(args: argparse.Namespace) -> dict:
    """The seed's Dataset + Trainer exactly as its train.py wires them (fp32, no workers)."""
    sys.path.insert(0, str(SEED_CODE))
    import albumentations as A
    import segmentation_models_pytorch as smp
    from dataset import VineyardDataset
    from torch.utils.data import DataLoader
    from trainer import Trainer

    train, valid = seed_names(args.data)
    augmentation = A.Compose([A.RandomCrop(args.crop, args.crop), A.CLAHE(), A.RandomGamma(), A.HorizontalFlip(),
                              A.GridDistortion(p=0.2), A.RandomBrightnessContrast((0, 0.5), (0, 0.5))])  # fmt: skip
    path = str(args.data)
    train_loader = DataLoader(
        VineyardDataset(path, train, loaded=True, transform=augmentation),
        batch_size=args.batch,
        shuffle=True,
    )
    val_loader = DataLoader(
        VineyardDataset(path, valid, loaded=True, transform=augmentation),
        batch_size=args.batch,
        shuffle=True,
    )
    model = smp.Unet(
        args.encoder,
        encoder_weights=None,
        classes=5,
        encoder_depth=5,
        decoder_channels=[256, 128, 64, 32, 16],
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, 1e-4, epochs=EPOCHS, steps_per_epoch=len(train_loader)
    )
    step_ends: list[float] = []
    real_step = optimizer.step

    def timed_step(*args, **kwargs):
        result = real_step(*args, **kwargs)
        step_ends.append(time.perf_counter())
        return result

    optimizer.step = timed_step
    trainer = Trainer(
        torch.device("cpu"),
        5,
        2,
        model,
        train_loader,
        val_loader,
        torch.nn.CrossEntropyLoss(),
        optimizer,
        scheduler,
    )
    trainer.model.to(trainer.device)
    times = {}
    for _ in range(EPOCHS):  # the last epoch is measured
        start = time.perf_counter()
        trainer.train()
        times["train"] = time.perf_counter() - start
        start = time.perf_counter()
        trainer.validate()
        times["valid"] = time.perf_counter() - start
    return {
        "train_images_per_s": len(train) / times["train"],
        "valid_images_per_s": len(valid) / times["valid"],
        "valid_pixels_per_image": args.crop * args.crop,
        "step_images_per_s": args.batch / median_gap(step_ends),
        "peak_mb": peak_rss_mb(),
        "precision": "fp32",
    }


def vitiseg_loop(args: argparse.Namespace) -> dict:
    """vitiseg's Lightning module and loaders with their defaults (precision auto, channels_last)."""
    import lightning as L

    from vitiseg.config import TrainConfig
    from vitiseg.data.prepare import prepare
    from vitiseg.engine.network import ModelSpec
    from vitiseg.training.fit import _loaders
    from vitiseg.training.module import SegmentationModule
    from vitiseg.util.hardware import keep_freed_memory, resolve_precision
    from vitiseg.util.quiet import quiet_libraries

    quiet_libraries().__enter__()  # for the whole benchmark process
    if args.accelerator == "cpu":
        keep_freed_memory()  # as `vitiseg train` does on a CPU
    config = TrainConfig(name="bench", directory=str(args.data), classes=5, crop_size=args.crop, batch_size=args.batch,
                         preload=True, encoder=args.encoder, crops_per_image=args.crops_per_image)  # fmt: skip
    data = prepare(config)
    train_loader, valid_loader = _loaders(config, data, divisor=32)  # smp encoders halve 5 times
    precision = resolve_precision("auto", args.accelerator)
    times: dict[str, float] = {}
    first_epoch: list[float] = []

    step_ends: list[float] = []

    class Clock(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.start = time.perf_counter()

        def on_train_batch_end(self, *args):
            step_ends.append(time.perf_counter())

        def on_validation_epoch_start(self, trainer, module):
            times["train"] = time.perf_counter() - self.start
            first_epoch.append(times["train"])
            self.valid = time.perf_counter()

        def on_validation_epoch_end(self, trainer, module):
            times["valid"] = time.perf_counter() - self.valid

    module = SegmentationModule(ModelSpec(encoder=args.encoder, classes=5), None, 1e-4, 1e-4,
                                compile_model=args.compile)  # fmt: skip
    trainer = L.Trainer(max_epochs=EPOCHS, precision=precision, callbacks=[Clock()], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        use_distributed_sampler=False, accelerator=args.accelerator, devices=1)  # fmt: skip
    trainer.fit(module, train_loader, valid_loader)
    pixels = sum(f.width * f.height for f in data.facts["valid"]) / len(data.facts["valid"])
    gpu = args.accelerator == "gpu"
    return {
        "train_images_per_s": len(data.splits["train"]) * args.crops_per_image / times["train"],
        "valid_images_per_s": len(data.splits["valid"]) / times["valid"],
        "valid_pixels_per_image": pixels,
        "step_images_per_s": args.batch / median_gap(step_ends),
        "first_epoch_s": first_epoch[0],
        "peak_mb": torch.cuda.max_memory_allocated() / 2**20 if gpu else peak_rss_mb(),
        "precision": precision,
    }


def gpu_table(args: argparse.Namespace, common: list[str]) -> None:
    """vitiseg's loop on the GPU, without and with torch.compile."""
    runs = {}
    for label, extra in (("eager", []), ("compiled", ["--compile"])):
        runs[label] = run_child(Path(__file__), "--loop", "vitiseg", *common, *extra)
        print(label, json.dumps(runs[label]), flush=True)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, {args.encoder} U-Net, "
          f"crops {args.crop}, batch {args.batch}, precision {runs['eager']['precision']}, channels_last")  # fmt: skip
    print(f"{'':28}{'eager':>12}{'compiled':>12}")
    for key, label in (
        ("train_images_per_s", "train images/s (epoch 3)"),
        ("step_images_per_s", "images/s, median step"),
        ("valid_images_per_s", "valid photos/s"),
        ("first_epoch_s", "first epoch s (compiling)"),
        ("peak_mb", "peak GPU memory MiB"),
    ):
        print(f"{label:28}{runs['eager'][key]:12.2f}{runs['compiled'][key]:12.2f}")


def step_gflop(encoder: str, crop: int, batch: int) -> float:
    """FLOPs of one training step (forward + backward) of the U-Net, in GFLOP."""
    import segmentation_models_pytorch as smp
    from torch.utils.flop_counter import FlopCounterMode

    model = smp.Unet(
        encoder, encoder_weights=None, classes=5, decoder_channels=[256, 128, 64, 32, 16]
    )
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(batch, 3, crop, crop)).sum().backward()
    return counter.get_total_flops() / 1e9


def main() -> None:
    args = parse_args()
    if args.loop:
        print(json.dumps(seed_loop(args) if args.loop == "seed" else vitiseg_loop(args)))
        return
    common = ["--encoder", args.encoder, "--crop", str(args.crop), "--batch", str(args.batch),
              "--accelerator", args.accelerator, "--crops-per-image", str(args.crops_per_image),
              "--data", str(args.data)]  # fmt: skip
    if args.accelerator == "gpu":
        require(args.data)
        gpu_table(args, common)
        return
    require(args.data, SEED_CODE)
    print(
        f"CPU: {os.cpu_count()} cores, torch {torch.__version__}, {args.encoder} U-Net, crops {args.crop}, batch {args.batch}"
    )
    seed = run_child(Path(__file__), "--loop", "seed", *common)
    ours = run_child(Path(__file__), "--loop", "vitiseg", *common)
    gflop = step_gflop(args.encoder, args.crop, args.batch)
    fp32, bf16 = matmul_gflops(torch.float32), matmul_gflops(torch.bfloat16)
    print(f"{'':24}{'seed':>12}{'vitiseg':>12}{'ratio':>8}")
    for key, label in (
        ("train_images_per_s", "train images/s"),
        ("valid_images_per_s", "valid images/s"),
    ):
        print(f"{label:24}{seed[key]:12.3f}{ours[key]:12.3f}{ours[key] / seed[key]:8.2f}")
    print(f"{'valid pixels/image':24}{seed['valid_pixels_per_image']:12.0f}{ours['valid_pixels_per_image']:12.0f}"
          "   (seed: random 512 crops; vitiseg: whole photos)")  # fmt: skip
    vp = [r["valid_images_per_s"] * r["valid_pixels_per_image"] / 1e6 for r in (seed, ours)]
    print(f"{'valid Mpixels/s':24}{vp[0]:12.2f}{vp[1]:12.2f}{vp[1] / vp[0]:8.2f}")
    print(f"{'peak memory MiB':24}{seed['peak_mb']:12.0f}{ours['peak_mb']:12.0f}")
    print(f"{'precision':24}{seed['precision']:>12}{ours['precision']:>12}")
    step_rate = [r["train_images_per_s"] / args.batch * gflop for r in (seed, ours)]
    print(f"training step: {gflop:.0f} GFLOP (forward + backward, {args.batch} crops)")
    print(f"achieved GFLOP/s: seed {step_rate[0]:.0f}, vitiseg {step_rate[1]:.0f}; "
          f"machine matmul: fp32 {fp32:.0f}, bf16 {bf16:.0f} GFLOP/s")  # fmt: skip
    print(
        f"share of the matmul peak: seed {step_rate[0] / fp32:.0%} of fp32, vitiseg {step_rate[1] / (bf16 if 'bf16' in ours['precision'] else fp32):.0%} of its precision's"
    )


if __name__ == "__main__":
    main()
