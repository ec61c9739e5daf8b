"""Label files from other tools are untrusted: the red-team cases of issue #27 as named
regressions, and a seeded fuzz test (tests/data/fuzz_labels.py) under a memory limit."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import fuzz_labels as fz
import pytest
from conftest import ROOT, make_dataset, run_cli, tree_snapshot

MEMORY_LIMIT = 2 * 2**30  # the bound for every case
FUZZ_SEED = 27
FUZZ_CASES = int(os.environ.get("VITISEG_FUZZ_CASES", "300"))


def limited_import(
    source: Path, target: Path, fmt: str, *extra: str
) -> subprocess.CompletedProcess:
    """`vitiseg masks import` in a process that may use at most MEMORY_LIMIT bytes."""
    code = (
        "import resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT})); "
        "from vitiseg.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "masks", "import", str(source), str(target), "--from", fmt, *extra],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


def assert_refused(result: subprocess.CompletedProcess, target: Path, *words: str) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("vitiseg masks: error: "), result.stderr
    assert len(lines[0]) < 400, lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert not target.exists()


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    fz.write_photos(folder)
    return folder


def coco_file(folder: Path, document: dict) -> Path:
    path = folder / "coco.json"
    path.write_text(json.dumps(document))  # NaN and Infinity written as JSON allows them
    return path


def with_polygon(points: list) -> dict:
    document = fz.coco_document()
    document["annotations"][0]["segmentation"] = [points]
    return document


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1e300])
def test_coco_polygon_coordinate_not_finite_or_huge(photos: Path, tmp_path: Path, bad: float):
    """#27.1: NaN once grew past 13 GB; 1e300 printed a 300-digit number."""
    source = coco_file(photos, with_polygon([10, 10, bad, 10, 30, 30, 10, 30]))
    result = limited_import(source, tmp_path / "out", "coco")
    assert_refused(result, tmp_path / "out", "annotation 1")


def test_labelstudio_polygon_point_nan(photos: Path, tmp_path: Path):
    """#27.1: a NaN point once segfaulted."""
    document = fz.labelstudio_document()
    document[0]["annotations"][0]["result"][0]["value"]["points"] = [[10, 10], [float("nan"), 10], [50, 50]]  # fmt: skip
    (photos / "ls.json").write_text(json.dumps(document))
    result = limited_import(photos / "ls.json", tmp_path / "out", "labelstudio")
    assert_refused(result, tmp_path / "out", "task 1", "not a finite number")


@pytest.mark.parametrize(
    ("counts", "words"),
    [
        ([5, 10, 3], "RLE covers 18 pixels, the 48x32 image has 1,536"),  # #27.2: was exit 0
        ([1000, 1000], "RLE covers 2,000 pixels"),
        ("garbage!", "malformed compressed RLE"),
        ("0\x7f", "malformed compressed RLE"),
        ([5, -3, 1534], "an RLE count should be a whole number from 0"),
    ],
)
def test_coco_rle_that_does_not_cover_the_image(photos: Path, tmp_path: Path, counts, words):
    document = fz.coco_document()
    document["annotations"][2]["segmentation"]["counts"] = counts
    result = limited_import(coco_file(photos, document), tmp_path / "out", "coco")
    assert_refused(result, tmp_path / "out", "annotation 3", words)


def test_coco_duplicate_image_ids(photos: Path, tmp_path: Path):
    """#27.3: the first photo used to vanish and its labels land on the second."""
    document = fz.coco_document()
    document["images"][1]["id"] = 1
    result = limited_import(coco_file(photos, document), tmp_path / "out", "coco")
    assert_refused(result, tmp_path / "out", "image 1: two images have this id", "p0.jpg", "p1.jpg")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["images"][0].pop("width"), "image 1: no 'width' field"),
        (lambda d: d["images"][0].pop("height"), "image 1: no 'height' field"),
        (
            lambda d: d["images"][0].update(file_name=None),
            "the photo name should be a non-empty text, got None",
        ),  # fmt: skip
        (
            lambda d: d["images"][0].update(file_name=""),
            "the photo name should be a non-empty text",
        ),
        (lambda d: d["images"][0].update(width="48"), "width should be a whole number"),
        (
            lambda d: d["annotations"][0].update(segmentation=[[10, "10", 30, 10, 30, 30]]),
            "coordinate '10' is not a finite number",
        ),  # fmt: skip
        (lambda d: d.update(images={"id": 1}), "not a COCO file"),
        (
            lambda d: d["images"][0].update(file_name="../outside/escape.jpg"),
            "lies outside the photo folder",
        ),  # fmt: skip
        (lambda d: d["categories"][0].update(name="a\nb,c"), "holds a comma, a control character"),
        # found by a second reading of the change: each was a traceback
        (
            lambda d: d["annotations"][0].update(segmentation=[[10, 10**400, 30, 10, 30, 30]]),
            "is not a finite number",
        ),  # fmt: skip
        (lambda d: d["images"][0].update(file_name="."), "names no photo"),
        (lambda d: d["images"][0].update(file_name="http://[x/a.jpg"), "is not a path or URL"),
        (
            lambda d: d["images"][0].update(file_name="a\u2028b.jpg"),
            "line-break or invalid character",
        ),  # fmt: skip
        (lambda d: d["categories"][0].update(name="\ud800"), "line-break or invalid character"),
        (lambda d: d["images"][0].update(file_name="x" * 300 + ".jpg"), "is longer than 200 bytes"),
    ],
)
def test_coco_bad_fields_are_one_line(photos: Path, tmp_path: Path, change, words):
    """#27.4-6: each was a traceback (or a broken classes.txt, or a photo read from outside)."""
    document = fz.coco_document()
    change(document)
    result = limited_import(coco_file(photos, document), tmp_path / "out", "coco")
    assert_refused(result, tmp_path / "out", words)


def test_photo_outside_the_images_folder_is_not_read(tmp_path: Path, photos: Path):
    """#27.6: ``../outside/escape.jpg`` used to be imported as outside_escape.jpg."""
    outside = tmp_path / "outside"
    fz.write_photos(outside)
    shutil.copy(outside / "p0.jpg", outside / "escape.jpg")
    document = fz.coco_document()
    document["images"][0]["file_name"] = "../outside/escape.jpg"
    result = limited_import(coco_file(photos, document), tmp_path / "out", "coco", "--images", str(photos))  # fmt: skip
    assert_refused(result, tmp_path / "out", "../outside/escape.jpg")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r["value"].update(rle=[1, 2, 3]), "malformed brush rle"),
        (
            lambda r: r["value"].update(rle=r["value"]["rle"][:40]),
            "malformed brush rle (cut short",
        ),
        (
            lambda r: r["value"].update(rle=[255, 255, 255, 255, 0, 0]),
            "brush RLE holds 1,073,741,823 pixels, not 48x32",
        ),  # fmt: skip
        (lambda r: r.pop("original_width"), "no 'original_width' field"),
        (lambda r: r.update(original_height=float("inf")), "height should be a whole number"),
    ],
)
def test_labelstudio_bad_brush_or_size(photos: Path, tmp_path: Path, change, words):
    document = fz.labelstudio_document()
    change(document[1]["annotations"][0]["result"][0])
    (photos / "ls.json").write_text(json.dumps(document))
    result = limited_import(photos / "ls.json", tmp_path / "out", "labelstudio")
    assert_refused(result, tmp_path / "out", "task 2", words)


def brush_bits(bits: str) -> list[int]:
    """A Label Studio brush rle from its bit string (padded to whole bytes)."""
    bits += "0" * (-len(bits) % 8)
    return [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]


def test_labelstudio_brush_values_over_255(photos: Path, tmp_path: Path):
    """Found by the fuzz test: a 9-bit word of 511 overflowed the decoder's uint8 array."""
    header = f"{48 * 32 * 4:032b}" + f"{8:05b}" + "".join(f"{s - 1:04b}" for s in (3, 4, 8, 16))
    one_run = "1" + "11" + f"{48 * 32 * 4 - 1:016b}" + "1" * 9  # every value 511
    document = fz.labelstudio_document()
    document[1]["annotations"][0]["result"][0]["value"]["rle"] = brush_bits(header + one_run)
    (photos / "ls.json").write_text(json.dumps(document))
    result = limited_import(photos / "ls.json", tmp_path / "out", "labelstudio")
    assert_refused(result, tmp_path / "out", "task 2", "values over 255")


def test_cvat_truncated_mask(tmp_path: Path):
    """#27.4: a truncated PNG in SegmentationClass/ was a traceback."""
    export = fz.write_cvat(tmp_path)
    mask = export / "SegmentationClass" / "p1.png"
    mask.write_bytes(mask.read_bytes()[:60])
    result = limited_import(export, tmp_path / "out", "cvat")
    assert_refused(result, tmp_path / "out", "p1.png")


def test_cvat_mask_claiming_a_huge_size(tmp_path: Path):
    export = fz.write_cvat(tmp_path)
    (export / "SegmentationClass" / "p1.png").write_bytes(fz.png_claiming(65_535, 30_000))
    result = limited_import(export, tmp_path / "out", "cvat")
    assert_refused(result, tmp_path / "out", "p1.png")


@pytest.mark.slow
def test_report_with_history_of_the_wrong_shape(tmp_path: Path, model_dir: Path):
    """#27.7: ``history.json`` holding ``[1, 2]`` was a TypeError; now the page says it
    has no epoch table."""
    run = tmp_path / "run"
    shutil.copytree(model_dir, run)
    (run / "history.json").write_text("[1, 2]")
    result = run_cli("report", str(run))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    page = (run / "report.html").read_text()
    assert "history.json" in page and "no epoch table" in page


@pytest.mark.slow
def test_predict_with_a_corrupt_onnx_file_says_so(tmp_path: Path, model_dir: Path):
    """#27.8: a corrupt model.onnx was reported as absent."""
    pytest.importorskip("onnxruntime")
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    (model / "model.onnx").write_bytes(b"\x08\x07garbage" * 10)
    photos = make_dataset(tmp_path / "photos", n=1)
    result = run_cli("predict", str(photos), "--model", str(model), "--backend", "onnxruntime",
                     "-o", str(tmp_path / "pred"))  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "model.onnx: unreadable ONNX file" in result.stderr
    assert "no model.onnx here" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_valid_import_still_matches_the_reference(tmp_path: Path, photos: Path):
    """The base documents of the fuzz test import to the reference rasterisation."""
    for fmt in ("coco", "labelstudio", "cvat"):
        case = make_case(tmp_path / fmt, fmt, None)
        assert fz.check_case(case) is None
        assert len(list((tmp_path / fmt / "out").glob("*_bin.png"))) == 2


def make_case(folder: Path, fmt: str, rng: random.Random | None) -> dict:
    """A case folder with photos and one export of ``fmt``; mutated when ``rng`` is given."""
    images = folder / "photos"
    fz.write_photos(images)
    if fmt == "cvat":
        source = fz.write_cvat(folder)
        for _ in range(rng.choice([1, 1, 2]) if rng else 0):
            fz.mutate_cvat(source, rng)
    else:
        document = fz.coco_document() if fmt == "coco" else fz.labelstudio_document()
        for _ in range(rng.choice([1, 1, 2]) if rng else 0):
            document = fz.mutate_json(document, rng)
        text = json.dumps(document)
        if rng and rng.random() < 0.05:
            text = fz.damaged_text(text, rng)
        source = folder / f"{fmt}.json"
        source.write_text(text, encoding="utf-8", errors="surrogatepass")
    return {"fmt": fmt, "source": str(source), "images": str(images), "target": str(folder / "out")}


def run_fuzz(tmp_path: Path, cases: int, seed: int, record_property) -> None:
    rng = random.Random(seed)
    plan = []
    for number in range(cases):
        fmt = ("coco", "labelstudio", "cvat")[number % 3]
        case = make_case(tmp_path / f"case{number}", fmt, random.Random(rng.random()))
        plan.append({**case, "id": number})
    before = {c["id"]: tree_snapshot(Path(c["target"]).parent) for c in plan}
    (tmp_path / "cases.json").write_text(json.dumps(plan))
    results = tmp_path / "results.jsonl"
    worker = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("fuzz_labels.py")),
         str(tmp_path / "cases.json"), str(results), str(MEMORY_LIMIT)],
        capture_output=True, text=True, timeout=1200, cwd=ROOT,
    )  # fmt: skip
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    finished = {r["case"]: r["problem"] for r in rows if "problem" in r}
    started = [r["case"] for r in rows if r.get("started")]
    if worker.returncode != 0:
        culprit = plan[started[-1]]
        source = Path(culprit["source"])
        shown = source.read_text(errors="replace")[:600] if source.is_file() else str(source)
        pytest.fail(f"the worker died (exit {worker.returncode}) on case {culprit['id']} ({culprit['fmt']}): {shown}\n{worker.stderr[-1500:]}")  # fmt: skip
    problems = {case: p for case, p in finished.items() if p}
    for case in plan:  # nothing written beside the target
        after = tree_snapshot(Path(case["target"]).parent)
        extra = {p for p in set(after) - set(before[case["id"]]) if not p.startswith("out/")}
        changed = {p for p in before[case["id"]] if after.get(p) != before[case["id"]][p]}
        if extra or changed:
            problems[case["id"]] = f"files written beside the target: {sorted(extra | changed)}"
    imported = sum(1 for case in plan if (Path(case["target"])).is_dir())
    record_property(  # printed at the end of the run by conftest.py
        "fuzz_report",
        f"fuzz of `vitiseg masks import`: seed {seed}, {cases} cases, {imported} imported "
        f"(masks equal to the reference), {cases - imported} refused in one line, "
        f"{len(problems)} findings; memory limit {MEMORY_LIMIT / 2**30:g} GiB",
    )
    assert len(finished) == cases
    if problems:
        first = min(problems)
        source = Path(plan[first]["source"])
        shown = source.read_text(errors="replace")[:600] if source.is_file() else str(source)
        pytest.fail(f"{len(problems)} findings, e.g. case {first}: {problems[first]}\n{shown}")


def test_fuzzed_exports_exit_0_with_the_right_masks_or_2_in_one_line(
    tmp_path: Path, record_property
):
    run_fuzz(tmp_path, FUZZ_CASES, FUZZ_SEED, record_property)


@pytest.mark.slow
def test_fuzzed_exports_many_more(tmp_path: Path, record_property):
    run_fuzz(tmp_path, 1000, FUZZ_SEED + 1, record_property)


def test_fuzz_cases_are_reproducible(tmp_path: Path):
    first = make_case(tmp_path / "a", "coco", random.Random(5))
    second = make_case(tmp_path / "b", "coco", random.Random(5))
    assert Path(first["source"]).read_text() == Path(second["source"]).read_text()
    assert Path(first["source"]).read_text() != json.dumps(fz.coco_document())
