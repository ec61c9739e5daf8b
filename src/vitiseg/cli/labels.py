"""`vitiseg masks import` and `predict --export`: CVAT, Label Studio and COCO labels in and out."""

from __future__ import annotations

import argparse
from pathlib import Path

from vitiseg.cli import options as o
from vitiseg.data.photos import DEFAULT_MASK_SUFFIX
from vitiseg.rules import AT_LEAST_1


def add_import_parser(masks: argparse._SubParsersAction) -> None:
    """Add ``vitiseg masks import`` and its options to the ``masks`` actions."""
    p = masks.add_parser(
        "import",
        help="CVAT / Label Studio / COCO export -> NAME.jpg + NAME_bin.png",
        description="Turn an annotation tool's export into photos beside class masks. "
        "cvat: the unzipped 'Segmentation mask 1.1' export folder (labelmap.txt + "
        "SegmentationClass/); labelstudio: the JSON export (brush and polygon labels); coco: "
        "a COCO JSON file (polygons and RLE). Overlapping regions: the smaller one is on "
        "top. Nothing is written unless every photo imports.",
    )
    p.add_argument(
        "source", type=o.existing_path, help="export folder (cvat) or JSON file (labelstudio, coco)"
    )
    p.add_argument(
        "target", type=o.output_folder, help="folder for NAME.jpg + NAME_bin.png and classes.txt"
    )
    p.add_argument("--from", dest="fmt", required=True, choices=("cvat", "labelstudio", "coco"))
    p.add_argument(
        "--classes",
        type=o.names,
        help="class names by index, e.g. background,leaf,wood (default: the file's order, "
        "background first)",
    )
    p.add_argument(
        "--images",
        type=o.existing_folder,
        help="folder of the photos (default: JPEGImages/ of a CVAT export, else the JSON "
        "file's folder and its images/)",
    )
    p.add_argument(
        "--suffix",
        default=DEFAULT_MASK_SUFFIX,
        help=f"mask name suffix (default: {DEFAULT_MASK_SUFFIX})",
    )
    p.add_argument("--copy", action="store_true", help="copy the photos (default: hard links)")
    p.add_argument(
        "--skip-missing", action="store_true", help="import the photos found, list the others"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace files of TARGET with the same names"
    )
    p.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    """Run ``vitiseg masks import`` and print each class's pixels; returns the exit code."""
    from vitiseg.data.importers import import_labels  # numpy, pycocotools: not at --help time

    summary = import_labels(
        args.fmt, args.source, args.target, args.classes, args.images, args.suffix, args.copy,
        args.overwrite, args.skip_missing,
    )  # fmt: skip
    total = max(1, int(summary.pixels.sum()))
    print(f"{summary.photos} photo(s) with masks written to {args.target}")
    for index, (name, count) in enumerate(zip(summary.classes, summary.pixels, strict=True)):
        print(f"  {index} {name:<16} {int(count):>12} px  {count / total:7.2%}")
    for what, names in (("photos without labels (not imported)", summary.unlabelled),
                        ("labels without photos (not imported)", summary.missing)):  # fmt: skip
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            print(f"{len(names)} {what}: {shown}")
    print(f"train with: -c {len(summary.classes)} --class-names {','.join(summary.classes)}")
    return 0


def add_export_options(p: argparse.ArgumentParser) -> None:
    """``--export``, ``--image-url``, ``--uncertainty``, ``--select``, ``--camera`` of
    ``vitiseg predict``."""
    p.add_argument(
        "--uncertainty",
        action="store_true",
        help="add each photo's uncertainty to canopy.csv: the pixel entropy of the class "
        "probabilities, averaged per predicted class then over classes, 0 (sure) to 1 "
        "(with --tta: of the averaged views)",
    )
    p.add_argument(
        "--select",
        type=o.number(int, AT_LEAST_1),
        metavar="K",
        help="write OUT/select.csv: the K photos most worth labelling next (most uncertain, "
        "spread over cameras and dates); implies --uncertainty",
    )
    p.add_argument(
        "--camera",
        metavar="REGEX",
        type=o.regex,
        help="for --select: the camera is this pattern's first group in the file name "
        "(default: the name up to its first _)",
    )
    p.add_argument(
        "--export",
        action="append",
        choices=("cvat", "labelstudio", "coco"),
        help="also write the masks as pre-annotations in OUT/export/ (cvat: a 'Segmentation "
        "mask 1.1' folder to zip and upload; labelstudio: labelstudio.json with "
        "labeling_config.xml; coco: coco.json); may be repeated",
    )
    p.add_argument(
        "--image-url",
        default="",
        help="prefix of the photo names in labelstudio.json, e.g. /data/local-files/?d=vines/",
    )


def export_after_predict(args: argparse.Namespace, photos: list, classes: list[str]) -> None:
    """Write the predicted masks as pre-annotations in ``OUT/export/``, per ``--export``."""
    from vitiseg.data.label_writers import export_predictions  # numpy: not at --help time
    from vitiseg.run import PredictFolder

    folder = PredictFolder(args.output)
    for fmt in dict.fromkeys(args.export or []):
        written = export_predictions(
            photos, folder.masks, folder.export, fmt, classes, args.image_url
        )
        print(f"pre-annotations for {fmt}: {written}")


def select_after_predict(args: argparse.Namespace) -> None:
    """With ``--select K``: write ``OUT/select.csv``, the K photos to label next."""
    from vitiseg.predict import write_selection  # torch: not at --help time
    from vitiseg.run import PredictFolder

    if args.select is None:
        return
    chosen, unscored = write_selection(Path(args.output), args.select, args.camera)
    if unscored:
        print(f"warning: {unscored} photo(s) done by an earlier run have no uncertainty and "
              "are not considered; --overwrite computes it")  # fmt: skip
    print(f"{len(chosen)} photo(s) to label next: {PredictFolder(args.output).selection}")
