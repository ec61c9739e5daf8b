"""`vitiseg export`: write a trained model as one ONNX file, checked against PyTorch."""

from __future__ import annotations

import argparse

from vitiseg.cli import options as o
from vitiseg.errors import ConfigError
from vitiseg.rules import AT_LEAST_1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg export`` and its options to the sub-commands."""
    p = sub.add_parser(
        "export",
        help="write a trained model as an ONNX file (optionally int8), checked against PyTorch",
        description="Export a trained model to ONNX: one file holding the network, the input "
        "normalisation (the input is float32 RGB pixel values 0-255, NCHW, height and width "
        "multiples of 32) and vitiseg's facts (class names, scale, palette) in its metadata. "
        "The export is checked: the class masks ONNX Runtime gives must agree with PyTorch's "
        "on at least 99.9 % of pixels of real photos (the run's validation and test photos, "
        "or --check). Needs the onnx extra: pip install 'vitiseg[onnx]'.",
    )
    p.add_argument(
        "model",
        metavar="RUN",
        type=o.existing_path,
        help="run folder, or model.safetensors with its model.json",
    )
    p.add_argument(
        "--format", default="onnx", choices=("onnx",), help="file format (default: onnx)"
    )
    p.add_argument(
        "-o",
        "--output",
        type=o.output_file,
        help="file to write (default: model.onnx beside the model, model.int8.onnx with --quantize)",
    )
    p.add_argument(
        "--quantize",
        choices=("int8",),
        help="static int8 quantisation with ONNX Runtime's tools: faster on CPUs without bf16",
    )
    p.add_argument(
        "--calibrate",
        nargs="+",
        metavar="PHOTOS",
        help="photos or folders to calibrate the int8 ranges on (default: the run's training photos)",
    )
    p.add_argument(
        "--calibration-photos",
        type=o.number(int, AT_LEAST_1),
        default=8,
        help="how many of them (first in name order; default: 8)",
    )
    p.add_argument(
        "--check",
        nargs="+",
        metavar="PHOTOS",
        help="photos or folders to compare ONNX and PyTorch on (default: the run's validation and test photos)",
    )
    p.add_argument(
        "--check-photos",
        type=o.number(int, AT_LEAST_1),
        default=4,
        help="how many of them (default: 4)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg export``: write and check the ONNX file; returns the exit code."""
    from vitiseg.export import export_run  # torch: not at --help time

    for option in ("calibration_photos", "check_photos"):
        if getattr(args, option) < 1:
            raise ConfigError(f"--{option.replace('_', '-')} must be at least 1")
    if args.calibrate and not args.quantize:
        raise ConfigError("--calibrate goes with --quantize int8")
    out, _ = export_run(
        args.model,
        args.output,
        args.quantize,
        args.calibrate,
        args.check,
        args.check_photos,
        args.calibration_photos,
        args.overwrite,
    )
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    return 0
