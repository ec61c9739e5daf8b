"""Options shared by the commands that run a model over photos (evaluate, predict)."""

from __future__ import annotations

import argparse

from vitiseg.cli import model_options as m
from vitiseg.cli import options as o
from vitiseg.config import BACKENDS, InferenceOptions
from vitiseg.rules import AT_LEAST_0, AT_LEAST_1, OVERLAP, POSITIVE, SIDE


def add_inference_options(p: argparse.ArgumentParser) -> None:
    """Add the ``inference`` options: device, tile, overlap, batch size, TTA, precision."""
    d = InferenceOptions()
    g = p.add_argument_group("inference")
    g.add_argument(
        "--device",
        type=m.device,
        default=d.device,
        help="auto, cpu, cuda, cuda:1... (default: auto)",
    )
    g.add_argument(
        "--tile",
        type=o.number(int, SIDE),
        default=d.tile,
        help=f"photos up to this side go through whole, larger ones in overlapping tiles (default: {d.tile})",
    )
    g.add_argument(
        "--overlap",
        type=o.number(float, OVERLAP),
        default=d.overlap,
        help=f"least tile overlap (default: {d.overlap})",
    )
    g.add_argument(
        "--batch-size",
        type=o.number(int, AT_LEAST_1),
        default=d.batch_size,
        help=f"tiles per forward pass (default: {d.batch_size})",
    )
    g.add_argument(
        "--tta", action="store_true", help="average with the mirrored photo's prediction"
    )
    g.add_argument(
        "--precision",
        default=d.precision,
        choices=("auto", "32", "bf16", "16"),
        help="auto: bf16 where the hardware has it (default: auto)",
    )


def add_backend_option(p: argparse.ArgumentParser) -> None:
    """``--backend``: which engine runs the model (:mod:`vitiseg.engine.backends`)."""
    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help="engine: torch, or onnxruntime (an ONNX file: --model FILE.onnx, or model.int8.onnx "
        "/ model.onnx beside the model; needs the onnx extra; runs fp32, or int8 when "
        "quantised). auto: onnxruntime on a CPU without bf16 when an exported ONNX file is "
        "beside the model and no 16-bit --precision is asked for, else torch (default: auto)",
    )


def inference_options(args: argparse.Namespace):
    """The :class:`InferenceOptions` of the parsed ``inference`` options."""
    return InferenceOptions(
        args.device, args.tile, args.overlap, args.batch_size, args.tta, args.precision
    )


def add_canopy_options(p: argparse.ArgumentParser) -> None:
    """``--leaf-class`` and ``--k``: which class is leaf, and the LAI estimate's coefficient;
    ``--inter-row-class``, ``--pipe-class``, ``--trunk-class`` for the canopy traits."""
    from vitiseg.canopy.cover import DEFAULT_K  # numpy: not at --help time

    p.add_argument(
        "--leaf-class",
        type=o.number(int, AT_LEAST_0),
        help="class counted as leaf (default: the class named leaf; 1 for a model whose classes "
        "have no names; none for named classes without a leaf: no leaf traits then)",
    )
    p.add_argument(
        "--k",
        type=o.number(float, POSITIVE),
        default=DEFAULT_K,
        help=f"extinction coefficient of the LAI estimate (default: {DEFAULT_K})",
    )
    for role, found in (("inter-row", "inter-row, ground or soil"), ("pipe", "pipe or irrigation"),
                        ("trunk", "trunk")):  # fmt: skip
        p.add_argument(
            f"--{role}-class",
            type=o.number(int, AT_LEAST_0),
            help=f"{role} class for the canopy traits (default: the class named {found}, if any)",
        )


def role_classes(args: argparse.Namespace) -> dict[str, int | None]:
    """``--inter-row-class``, ``--pipe-class``, ``--trunk-class`` as keyword arguments of
    :func:`vitiseg.canopy.roles.roles_from_names`."""
    names = ("inter_row_class", "pipe_class", "trunk_class")
    return {name: getattr(args, name) for name in names}
