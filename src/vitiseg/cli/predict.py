"""`vitiseg predict`: apply a model to many photos."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from vitiseg.canopy.roles import roles_note
from vitiseg.cli import model_options as m
from vitiseg.cli import options as o
from vitiseg.cli.inference import (
    add_backend_option,
    add_canopy_options,
    add_inference_options,
    inference_options,
    role_classes,
)
from vitiseg.cli.labels import add_export_options, export_after_predict, select_after_predict
from vitiseg.data.photos import collect_photos
from vitiseg.rules import AT_LEAST_0, AT_LEAST_1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg predict`` and its options to the sub-commands."""
    p = sub.add_parser(
        "predict",
        help="apply a trained model to photos: masks, overlays, canopy.csv",
        description="Predict class masks for photos of any size (large ones in overlapping "
        "tiles). Writes OUT/masks/IMAGE.png, OUT/overlays/IMAGE.jpg and OUT/canopy.csv. "
        "Photos already done are skipped, so an interrupted run resumes.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="photos, folders or glob patterns ('photos/*.jpg')",
    )
    p.add_argument("--model", type=m.model, help=m.BUNDLED_HELP)
    add_backend_option(p)
    p.add_argument("-o", "--output", required=True, type=o.output_folder, help="output folder")
    p.add_argument("--recursive", action="store_true", help="also look in sub-folders")
    p.add_argument("--no-overlays", action="store_true", help="do not write overlay pictures")
    p.add_argument(
        "--probabilities", action="store_true", help="also save the leaf probability map (0-255)"
    )
    add_canopy_options(p)
    add_export_options(p)
    p.add_argument("--overwrite", action="store_true", help="redo photos whose outputs exist")
    p.add_argument(
        "--workers",
        type=o.number(int, AT_LEAST_0),
        default=2,
        help="threads decoding photos ahead (default: 2)",
    )
    p.add_argument(
        "--devices",
        type=o.number(int, AT_LEAST_1),
        default=1,
        help="processes on this machine, one per GPU (or sharing the CPU cores), each "
        "predicting a share of the photos; under torchrun or srun the launcher decides "
        "(default: 1)",
    )
    add_inference_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg predict`` (or launch its ``--devices`` processes); returns the exit code."""
    import torch  # not at --help time

    from vitiseg import shard as sharding
    from vitiseg.engine.loaded import Model
    from vitiseg.predict import (
        PhotoPredictor,
        PredictReport,
        earlier_rows,
        earlier_uncertainty,
        plan_outputs,
        predict_photos,
        without_moved,
    )

    def every_photo() -> list:
        return collect_photos(args.inputs, args.recursive, exclude=Path(args.output))

    def open_model(device: str) -> Model:
        options = dataclasses.replace(inference_options(args), device=device)
        return Model(args.model, options, args.leaf_class, args.k, role_classes(args), args.backend)  # fmt: skip

    def checked(model: Model, photos: list, plan: bool = True) -> tuple[list[dict], PhotoPredictor]:
        """The earlier rows kept, and the photos' writer, once :func:`plan_outputs` has
        found nothing it refuses (raises as it does; ``plan``: predict_photos plans alone)."""
        kept = earlier_rows(Path(args.output), photos, model)
        worker = PhotoPredictor(
            model, Path(args.output), not args.no_overlays, args.probabilities,
            uncertainty=args.uncertainty or args.select is not None,
            earlier_uncertainty=earlier_uncertainty(Path(args.output)),
        )  # fmt: skip
        if plan:  # the rows of photos moved since go, whichever process has them
            kept = without_moved(kept, plan_outputs(photos, worker, args.overwrite))
        return kept, worker

    def check_before_launch() -> None:  # input mistakes stop before any process starts
        model = open_model(args.device)  # the engine the processes will run: its identity
        checked(model, every_photo())
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    if (code := sharding.relaunch(args.devices, args.device, args.argv, check_before_launch)) is not None:  # fmt: skip
        return code
    shard = sharding.current_shard()
    args.device = sharding.join(shard, args.device)
    if args.model is None and shard.rank == 0:
        print(m.bundled_note())
    model = open_model(args.device)
    if shard.rank == 0 and (note := roles_note(model.roles, model.class_names)):
        print(f"note: {note}")
    print(f"backend: {model.engine.name} ({model.engine.reason})")
    photos = every_photo()
    share = shard.take(photos)
    kept, worker = checked(model, photos, plan=shard.world > 1)  # under torchrun: all refuse alike
    kept = kept if shard.rank == 0 else []
    print(f"{len(share)} photo(s); model {model.info.spec.arch}/{model.info.spec.encoder}, "
          f"{model.device}, precision {model.precision}")  # fmt: skip
    report = predict_photos(share, worker, args.overwrite, args.workers, shard.table, kept)
    reports = sharding.finish(Path(args.output), shard, report)
    if shard.world > 1:
        print(f"process {shard.rank + 1} of {shard.world}: ", end="")
    rate = report.done / report.seconds if report.seconds else 0.0
    print(f"{report.done} predicted in {report.seconds:.1f} s ({rate:.2f} photos/s), "
          f"{report.skipped} skipped, {len(report.failed)} failed; table: {Path(args.output) / 'canopy.csv'}"
          + (f" (also {len(kept)} photo(s) of earlier runs)" if kept else ""))  # fmt: skip
    for why, count in report.redone.items():
        print(f"  {count} redone: {why}")
    if report.failed:
        print("These photos could not be read:", file=sys.stderr)
        for _, message in report.failed:
            print(f"  {message}", file=sys.stderr)
    if reports:  # the first process writes what covers every process's photos
        export_after_predict(args, photos, model.class_names)
        select_after_predict(args)
        from vitiseg.report.html import report_after  # pandas, matplotlib: not at --help time

        facts = vars(PredictReport.of_all(reports))
        report_after(args.output, "predict", {**facts, "model": str(model.directory.resolve()), "device": str(model.device), "precision": model.precision})  # fmt: skip
    return 1 if report.failed else 0
