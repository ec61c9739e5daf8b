"""The Python objects behind the CLI: the README's block runs as written; the exported
model's canopy options are checked once, for predict and evaluate alike."""

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, make_dataset

import vitiseg
from vitiseg.cli import main
from vitiseg.errors import ConfigError


def readme_python_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readmes_python_block_runs_as_written(tmp_path: Path, monkeypatch, capsys):
    make_dataset(tmp_path / "Dataset", n=10)
    (tmp_path / "Photos").mkdir()
    for name in ("img00.jpg", "img01.jpg"):
        shutil.copy(tmp_path / "Dataset" / name, tmp_path / "Photos" / name)
    monkeypatch.chdir(tmp_path)
    import vitiseg.evaluate  # noqa: E401, F401  (their imports add filters)
    import vitiseg.training.fit

    filters = list(warnings.filters)
    exec(compile(readme_python_block(), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"mean IoU \d\.\d{3}", out)
    assert re.search(r"img00.jpg \(64, 96\) 0\.\d+", out)
    assert (tmp_path / "Runs" / "quick" / "Test_quick.csv").is_file()
    added = [f for f in warnings.filters if f not in filters]
    assert not added, added  # the library left the process's warning filters alone
    reopened = vitiseg.Run.open(tmp_path / "Runs" / "quick")
    assert reopened.config.epochs == 2 and reopened.last.is_file()


def test_loaded_model_predicts_arrays_and_files(model_dir: Path, tmp_path: Path):
    from PIL import Image

    model = vitiseg.load(model_dir)
    photo = np.random.default_rng(0).integers(0, 255, (70, 100, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "p.png")
    from_array, from_file = model.predict(photo).mask, model.predict(tmp_path / "p.png").mask
    assert from_array.shape == (70, 100)
    np.testing.assert_array_equal(from_array, from_file)
    figures = model.canopy(from_array, photo)
    assert figures["leaf_cover"] == pytest.approx((from_array == 1).mean(), abs=1e-6)


@pytest.mark.parametrize("options", [{"leaf_class": 3}, {"leaf_class": -1}, {"k": 0}])
def test_load_refuses_canopy_options_the_model_cannot_meet(model_dir: Path, options):
    parameter, value = next(iter(options.items()))
    with pytest.raises(ConfigError, match=rf"^{parameter}={value}: "):
        vitiseg.load(model_dir, **options)


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize(("option", "message"), [
    (["--leaf-class", "9"], r"--leaf-class 9: not a class of this model \(0 background, 1 leaf, 2 wood\)"),
    (["--k", "0"], r"--k: must be above 0"),  # refused while parsing
])  # fmt: skip
def test_predict_and_evaluate_check_the_canopy_options_before_any_work(
    model_dir: Path, tmp_path: Path, capsys, command, option, message
):
    data = make_dataset(tmp_path / "data", n=2)
    out = tmp_path / "out"
    argv = (
        ["predict", str(data / "img00.jpg"), "--model", str(model_dir)]
        if command == "predict"
        else ["evaluate", "--model", str(model_dir), "-d", str(data)]
    )
    assert main([*argv, "-o", str(out), *option]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err
    assert not out.exists()
