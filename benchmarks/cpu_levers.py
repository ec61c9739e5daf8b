"""Where a CPU's training minutes go: the cost of each lever of the CPU recipe, per step.

Times training steps (forward, loss, backward, AdamW) of the CPU recipe's network on
batches of real augmented crops of the shared photos, one lever changed at a time, and
the parts of an epoch besides the steps: producing a batch (decode-free: photos are
preloaded, as `-p` does), and validating the 8 validation photos. Run it as the machine
is, and as an AVX2 laptop (fp32 everywhere):

    python benchmarks/cpu_levers.py
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python benchmarks/cpu_levers.py

Prints seconds per step and crops per second of each variant against the recipe's.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import AGROCAM, machine, require

from vitiseg.data.dataset import SegmentationDataset
from vitiseg.data.layout import find_pairs
from vitiseg.data.transforms import eval_transform, train_transform
from vitiseg.engine.network import ModelSpec, build_model
from vitiseg.training.losses import build_loss

RECIPE = {"encoder": "resnet18", "decoder": (128, 64, 32, 16, 16), "crop": 416, "batch": 2}
VARIANTS = {
    "recipe (resnet18, half decoder, 416 crops, bs 2)": {},
    "no channels_last": {"channels_last": False},
    "torch.compile (inductor)": {"compile": True},
    "1 intra-op thread": {"threads": 1},
    "crops 320 (scale 0.3)": {"crop": 320},
    "crops 512": {"crop": 512},
    "batch 4": {"batch": 4},
    "quarter decoder 64,32,16,16,16": {"decoder": (64, 32, 16, 16, 16)},
    "encoder timm-tf_efficientnet_lite0": {"encoder": "timm-tf_efficientnet_lite0"},
    "encoder mobilenet_v2": {"encoder": "mobilenet_v2"},
    "encoder resnet34": {"encoder": "resnet34"},
    "encoder tu-mobilenetv3_large_100": {"encoder": "tu-mobilenetv3_large_100"},
    "encoder tu-mobilenetv4_conv_small": {"encoder": "tu-mobilenetv4_conv_small"},
    "encoder tu-regnetx_004": {"encoder": "tu-regnetx_004"},
    "encoder tu-regnety_004": {"encoder": "tu-regnety_004"},
    "encoder tu-resnet18d": {"encoder": "tu-resnet18d"},
    "lite0 + crops 320": {"encoder": "timm-tf_efficientnet_lite0", "crop": 320},
    "lite0 + crops 320 + quarter decoder": {
        "encoder": "timm-tf_efficientnet_lite0",
        "crop": 320,
        "decoder": (64, 32, 16, 16, 16),
    },
}


def batches(crop: int, batch: int, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    pairs = find_pairs(AGROCAM / "labeled", None, None)
    data = SegmentationDataset(pairs, train_transform(crop, "standard"), scale=crop / 1040)
    out = []
    for step in range(count):
        items = [data[((step * batch + i) % len(data), step * batch + i)] for i in range(batch)]
        images = torch.stack([x for x, _ in items]).float() / 255
        out.append((images, torch.stack([m for _, m in items]).long()))
    return out


def step_seconds(lever: dict, steps: int) -> tuple[float, float]:
    """Seconds per training step after warm-up, and the warm-up's seconds."""
    setting = {**RECIPE, "channels_last": True, "compile": False, "threads": 2, **lever}
    torch.set_num_threads(setting["threads"])
    spec = ModelSpec("Unet", setting["encoder"], 5, decoder_channels=tuple(setting["decoder"]))
    model = build_model(spec, None).train()
    memory = torch.channels_last if setting["channels_last"] else torch.contiguous_format
    model = model.to(memory_format=memory)
    net = torch.compile(model) if setting["compile"] else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    loss_fn = build_loss("ce+dice", None)
    data = batches(setting["crop"], setting["batch"], steps + 3)

    def step(images, masks) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(images.contiguous(memory_format=memory)), masks)
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    for images, masks in data[:3]:
        step(images, masks)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for images, masks in data[3:]:
        step(images, masks)
    torch.set_num_threads(2)
    return (time.perf_counter() - start) / steps, warm


def batch_seconds(count: int = 20) -> float:
    """Producing one training batch of the recipe (crop, augment) from preloaded photos."""
    pairs = find_pairs(AGROCAM / "labeled", None, None)[:6]
    data = SegmentationDataset(pairs, train_transform(416, "standard"), scale=0.4, preload=True)
    start = time.perf_counter()
    for i in range(count * RECIPE["batch"]):
        data[(i % len(data), i)]
    return (time.perf_counter() - start) / count


def validation_seconds() -> float:
    """Validating the recipe's network on 8 photos at scale 0.4, as each epoch does."""
    pairs = find_pairs(AGROCAM / "labeled", None, None)[:8]
    data = SegmentationDataset(pairs, eval_transform(32), scale=0.4, preload=True)
    spec = ModelSpec("Unet", "resnet18", 5, decoder_channels=RECIPE["decoder"])
    model = build_model(spec, None).eval().to(memory_format=torch.channels_last)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(len(data)):
            image, _ = data[i]
            model((image[None].float() / 255).contiguous(memory_format=torch.channels_last))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant")
    parser.add_argument("--only", nargs="+", help="variants whose name starts with these")
    args = parser.parse_args()
    require(AGROCAM / "labeled")
    torch.manual_seed(0)
    print(f"{machine()}; fp32 steps on {torch.get_num_threads()} threads")
    base = None
    print(f"{'variant':52}{'s/step':>8}{'crops/s':>9}{'x recipe':>9}{'warm-up s':>10}")
    for name, lever in VARIANTS.items():
        if args.only and not name.startswith(tuple(args.only)) and lever:
            continue
        seconds, warm = step_seconds(lever, args.steps)
        rate = {**RECIPE, **lever}["batch"] / seconds
        base = base or rate
        print(f"{name:52}{seconds:8.2f}{rate:9.2f}{rate / base:9.2f}{warm:10.1f}", flush=True)
    per_batch = batch_seconds()
    valid = validation_seconds()
    epoch_steps = 17 * 4 // RECIPE["batch"]
    print(f"\none recipe batch from preloaded photos (crop + augment, one core): {per_batch:.3f} s")
    print(f"validating 8 photos at scale 0.4: {valid:.1f} s "
          f"(an epoch is {epoch_steps} steps of the recipe plus this)")  # fmt: skip


if __name__ == "__main__":
    main()
