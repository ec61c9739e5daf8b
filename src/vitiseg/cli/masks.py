"""`vitiseg masks convert|stats`: colour annotations to class masks, class statistics."""

from __future__ import annotations

import argparse

from vitiseg.cli import options as o
from vitiseg.cli.labels import add_import_parser
from vitiseg.data.photos import DEFAULT_MASK_SUFFIX


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg masks`` and its actions (``convert``, ``import``, ``stats``)."""
    p = sub.add_parser(
        "masks",
        help="import CVAT, Label Studio or COCO labels; convert colour annotations; class statistics",
    )
    masks = p.add_subparsers(dest="masks_command", required=True, metavar="ACTION")
    c = masks.add_parser(
        "convert",
        help="RGB annotation images -> NAME_bin.png class masks",
        description="Turn colour annotations into class-index masks. --preset seed is the seed's "
        "binarisation255 (near-white background 0, blue leaves 1, red/green wood 2).",
    )
    c.add_argument("source", type=o.existing_folder, help="folder of colour annotations")
    c.add_argument("target", type=o.output_folder, help="folder for the class masks")
    how = c.add_mutually_exclusive_group(required=True)
    how.add_argument("--preset", choices=("seed",), help="built-in colour convention")
    how.add_argument(
        "--palette",
        type=o.existing_file,
        help="YAML file mapping colours to classes (with a tolerance)",
    )
    c.add_argument(
        "--suffix",
        default=DEFAULT_MASK_SUFFIX,
        help=f"mask name suffix (default: {DEFAULT_MASK_SUFFIX})",
    )
    c.add_argument("--strip", default="", help="remove this from the end of annotation names first")
    c.add_argument("--overwrite", action="store_true", help="replace existing masks")
    c.set_defaults(handler=run_convert)
    add_import_parser(masks)
    st = masks.add_parser("stats", help="pixel count and share of each class, per mask and overall")
    st.add_argument(
        "directory",
        type=o.existing_folder,
        help="folder of NAME_bin.png masks, of same-name masks, or holding images/ + masks/",
    )
    st.add_argument("--mask-suffix", default=None, help="(default: detected)")
    st.add_argument("--csv", type=o.output_file, help="also write the table to this CSV file")
    st.set_defaults(handler=run_stats)


def run_convert(args: argparse.Namespace) -> int:
    """Run ``vitiseg masks convert``: colour annotations to class masks; returns the exit code."""
    from vitiseg.data.convert import convert_folder  # numpy: not at --help time
    from vitiseg.data.masks import ColourPalette, seed_preset

    if args.preset:
        converter = lambda rgb: (seed_preset(rgb), 0)  # noqa: E731
    else:
        converter = ColourPalette.from_yaml(args.palette).convert
    results = convert_folder(
        args.source, args.target, converter, args.suffix, args.strip, args.overwrite
    )
    for item in results:
        if item.unmatched:
            print(
                f"{item.source.name}: {item.unmatched} pixels ({item.unmatched / item.pixels:.2%}) match no colour"
            )
    print(f"{len(results)} masks written to {args.target}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    """Run ``vitiseg masks stats``: print (``--csv``: write) class shares; returns the exit code."""
    import pandas as pd  # pandas: not at --help time

    from vitiseg.data.convert import mask_stats

    names, counts = mask_stats(args.directory, args.mask_suffix)
    shares = counts / counts.sum(1, keepdims=True)
    table = pd.DataFrame(shares, index=pd.Index(names, name="mask"),
                         columns=[f"class {c}" for c in range(counts.shape[1])])  # fmt: skip
    table.loc["ALL"] = counts.sum(0) / counts.sum()
    table["pixels"] = [*counts.sum(1), counts.sum()]
    with pd.option_context("display.max_rows", 200, "display.width", 120):
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    single = [n for n, c in zip(names, counts, strict=True) if (c > 0).sum() == 1]
    if single:
        print(f"warning: {len(single)} mask(s) hold a single class, e.g. {single[0]}")
    if args.csv:
        table.to_csv(args.csv)
    return 0
