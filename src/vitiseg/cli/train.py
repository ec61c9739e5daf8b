"""`vitiseg train`: the seed's options, then fit, export and the test stage."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from pathlib import Path

from vitiseg.cli import model_options as m
from vitiseg.cli import options as o
from vitiseg.cli.evaluate import print_summary
from vitiseg.config import DATA, NETWORK, RUN, SEED, TrainConfig
from vitiseg.errors import VitisegError
from vitiseg.rules import AT_LEAST_1
from vitiseg.training.recipes import RECIPES, fit_recipe, recipe_settings

S = argparse.SUPPRESS
DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}
GROUPS = {SEED: "the seed's options", NETWORK: "network", DATA: "data", RUN: "hardware and run"}
KINDS = {
    "text": str, "run_name": o.run_name, "folder": o.existing_folder, "file": o.existing_file,
    "path": o.existing_path, "output_folder": o.output_folder, "arch": m.architecture,
    "encoder": m.encoder, "encoder_weights": m.encoder_weights, "class_map": o.class_map,
    "names": o.names, "regex": o.regex, "strategy": m.strategy, "max_time": o.max_time,
    "model": m.model,
}  # fmt: skip
RECIPE_HELP = (
    "cpu: the settings measured best within 20 minutes of a 2-core CPU, with or without bf16 "
    "(--accelerator cpu, EfficientNet-Lite0 from its packaged ImageNet weights, scale 0.4, "
    "416-pixel crops, 4 a photo, ce+dice, -bs 2, AdamW 1e-3, --ema 0.99, --max-time 20, -p); "
    "scale and crop fitted to photos other than full HD; options given beside it win "
    "(--max-time 60, --no-ema, --no-pre-load; docs/recipes.md)"
)


def _reader(meta) -> dict:
    """How argparse reads the option of a field with this metadata."""
    kind, rule = meta["kind"], meta["rule"]
    if kind == "switch":
        return {"action": "store_true"}
    metavar = {"metavar": meta["metavar"]} if meta["metavar"] else {}
    if meta["choices"]:
        return {"choices": meta["choices"]}
    if kind in ("int", "float"):
        return {"type": o.number(int if kind == "int" else float, rule), **metavar}
    return {"type": o.integer_list(AT_LEAST_1) if kind == "int_list" else KINDS[kind], **metavar}


def add_config_options(p: argparse.ArgumentParser) -> dict[str, argparse._ArgumentGroup]:
    """One option per :class:`TrainConfig` field, from its metadata (flags, help, rule);
    unset options stay out of the parsed namespace, so the config's defaults apply."""
    groups = {key: p.add_argument_group(title) for key, title in GROUPS.items()}
    for spec in fields(TrainConfig):
        meta, shown = spec.metadata, spec.metadata["shown"] and spec.default not in (MISSING, None)
        text = meta["help"] + (f" (default: {spec.default})" if shown else "")
        group = groups[meta["group"]]
        group.add_argument(*meta["flags"], dest=spec.name, default=S, help=text, **_reader(meta))
        if meta["negative"]:
            flag, text = meta["negative"]
            const = False if meta["kind"] == "switch" else None
            group.add_argument(flag, dest=spec.name, action="store_const", const=const, default=S, help=text)  # fmt: skip
    return groups


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg train`` and its options to the sub-commands."""
    p = sub.add_parser(
        "train",
        help="train a model on photos with masks, then evaluate it on the test split",
        description="Train a segmentation model on NAME.jpg + NAME_bin.png pairs (the seed's "
        "train.py options keep their spelling), then score it on the test split.",
    )
    seed = add_config_options(p)[SEED]
    seed.add_argument("-r", "--resume", nargs="?", const=True, default=None, type=o.existing_path,
                      metavar="RUN", help="resume a run: with -m CHECKPOINT, a run folder, or OUTPUT/NAME")  # fmt: skip
    seed.add_argument("-m", "--model", type=o.existing_file, help="checkpoint to resume from (with -r)")  # fmt: skip
    p.add_argument("--recipe", choices=RECIPES, help=RECIPE_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run of the same name")  # fmt: skip
    p.add_argument("--no-test", action="store_true", help="skip the test-split evaluation after training")  # fmt: skip
    p.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    """The run's settings from the options; when resuming, the saved ones with the changes
    a resume allows, and the checkpoint to resume from."""
    from vitiseg.run import Run, checkpoint_of  # sklearn (the split): not at --help time

    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    if args.recipe and args.resume:
        raise VitisegError("--recipe starts a run; a resumed run keeps its settings")
    chosen = set(given)
    if args.recipe:
        given = {**recipe_settings(args.recipe), **given}
    if args.model and not args.resume:
        raise VitisegError(
            "-m/--model is for resuming: add -r, or use --encoder-weights PATH to start from weights"
        )
    if args.resume:
        if args.resume is True and not args.model and "name" not in given:
            raise VitisegError("-r needs -m CHECKPOINT, a run folder (-r RUN), or -n NAME")
        named = Run(Path(given.get("output", DEFAULTS["output"])) / given.get("name", "")).last
        checkpoint = (
            Path(args.model)
            if args.model
            else named
            if args.resume is True
            else checkpoint_of(args.resume)
        )
        return Run.open(checkpoint).resume_config(given), checkpoint
    missing = [
        flag
        for key, flag in (("name", "-n/--name"), ("directory", "-d/--directory"))
        if key not in given
    ]
    if missing:
        raise VitisegError(f"{' and '.join(missing)} required")
    for key in ("directory", "split", "unlabeled", "teacher"):
        if key in given:
            given[key] = str(Path(given[key]).resolve())
    config = TrainConfig(**given)
    return (fit_recipe(config, chosen) if args.recipe else config), None


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg train``: train, score the test split, write the report; returns 0."""
    from vitiseg.evaluate import evaluate_run  # torch and Lightning: not at --help time
    from vitiseg.training.fit import train
    from vitiseg.util.hardware import is_rank_zero

    config, checkpoint = config_from_args(args)
    trained = train(config, resume_from=checkpoint, overwrite=args.overwrite)
    if not is_rank_zero():
        return 0
    test = [] if args.no_test else trained.pairs("test")
    if test:
        print_summary(evaluate_run(trained))
    elif not args.no_test:
        print(f"No test evaluation: {config.split} gives no test photos")
    from vitiseg.report.html import report_after  # pandas, matplotlib: not at --help time

    report_after(trained.root, "train")
    print(f"Run folder: {trained.root}")
    return 0
