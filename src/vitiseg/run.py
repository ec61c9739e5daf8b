"""Output folders' layouts: a training run (its settings, split, checkpoints and the rules
of resuming), a predict folder and a season folder.

Every file name of these folders is spelled here and nowhere else; the training
callbacks, the jobs, the report, the CLI, the benchmarks and Python users ask a
:class:`Run`, :class:`PredictFolder` or :class:`SeasonFolder`.

Example:
    >>> run = Run(Path("Result/Modele_1"))
    >>> run.last
    PosixPath('Result/Modele_1/checkpoints/last.ckpt')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

from vitiseg.config import TrainConfig
from vitiseg.data.layout import Pair
from vitiseg.data.masks import parse_class_map
from vitiseg.data.split import read_split
from vitiseg.errors import ConfigError

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
CONFIG_FILE = "config.yaml"
SPLIT_FILE = "split.csv"
HISTORY_FILE = "history.json"
METRICS_PLOT = "metrics.png"
SUMMARY_FILE = "summary.json"
CONFUSION_PLOT = "confusion.png"
TRAIN_CSV = "Train_{name}.csv"
TEST_CSV = "Test_{name}.csv"
PSEUDO_LABELS = "pseudo-labels"
RESUMABLE = frozenset(
    {"epochs", "max_time", "workers", "preload", "devices", "num_nodes", "strategy",
     "accelerator", "precision", "patience", "logger"}
)  # fmt: skip
"""Settings a resumed run may change: its length, time limit, how it reads its photos and
its hardware."""


@dataclass(frozen=True)
class Run:
    """A run folder of ``vitiseg train`` (or of ``vitiseg evaluate``'s results)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """The run holding ``path``: a run folder, or a checkpoint inside ``RUN/checkpoints/``.

        Raises:
            ConfigError: the folder holds no ``config.yaml``.
        """
        path = Path(path)
        if path.is_dir():
            run = cls(path)
        elif path.parent.name == CHECKPOINTS:
            run = cls(path.parent.parent)
        else:
            raise ConfigError(
                f"{path}: expected a run folder or a checkpoint inside RUN/{CHECKPOINTS}/"
            )
        if not run.config_file.is_file():
            raise ConfigError(f"{run.root}: not a vitiseg run folder (no config.yaml)")
        return run

    # the layout
    @property
    def config_file(self) -> Path:
        """The run's settings: ``config.yaml``."""
        return self.root / CONFIG_FILE

    @property
    def split_file(self) -> Path:
        """Which photo went to which split (train, valid, test): ``split.csv``."""
        return self.root / SPLIT_FILE

    @property
    def checkpoints(self) -> Path:
        """The ``checkpoints/`` folder: ``last.ckpt``, ``best.ckpt`` and the ``-s`` ones."""
        return self.root / CHECKPOINTS

    @property
    def last(self) -> Path:
        """Full training state after the last finished epoch."""
        return self.checkpoints / "last.ckpt"

    @property
    def best(self) -> Path:
        """Full training state of the epoch with the best validation figure."""
        return self.checkpoints / "best.ckpt"

    def periodic(self, name: str, epoch: int) -> Path:
        """The ``-s`` checkpoint of ``epoch`` (counted from 1)."""
        return self.checkpoints / f"{name}_{epoch}.ckpt"

    @property
    def history(self) -> Path:
        """The per-epoch training and validation figures: ``history.json``."""
        return self.root / HISTORY_FILE

    @property
    def metrics_plot(self) -> Path:
        """The plot of the per-epoch figures: ``metrics.png``."""
        return self.root / METRICS_PLOT

    def train_csv(self, name: str) -> Path:
        """The per-epoch figures as a table: ``Train_NAME.csv``."""
        return self.root / TRAIN_CSV.format(name=name)

    def test_csv(self, name: str) -> Path:
        """The test figures per photo (and ``ALL``) of the scoring ``name``: ``Test_NAME.csv``."""
        return self.root / TEST_CSV.format(name=name)

    @property
    def pseudo_labels(self) -> Path:
        """The ``--unlabeled`` photos' pseudo-labels (PNG class masks, 255 unsure)."""
        return self.root / PSEUDO_LABELS

    @property
    def unlabeled_list(self) -> Path:
        """The ``--unlabeled`` photos a run took (``key,path`` rows), kept for its resumes."""
        return self.pseudo_labels / "photos.csv"

    @property
    def logs(self) -> Path:
        """Where ``--logger`` (Lightning's CSV, TensorBoard or MLflow logger) writes."""
        return self.root / "logs"

    @property
    def summary(self) -> Path:
        """The overall test figures (per class, mean, leaf cover error): ``summary.json``."""
        return self.root / SUMMARY_FILE

    @property
    def confusion_plot(self) -> Path:
        """The test confusion matrix: ``confusion.png``."""
        return self.root / CONFUSION_PLOT

    def test_names(self) -> list[str]:
        """The NAMEs of the ``Test_NAME.csv`` tables here, the newest last."""
        prefix, suffix = TEST_CSV.split("{name}")
        tables = sorted(self.root.glob(TEST_CSV.format(name="*")), key=lambda p: p.stat().st_mtime)
        return [p.name.removeprefix(prefix).removesuffix(suffix) for p in tables]

    def pictures(self, name: str) -> Path:
        """The overlays of the photos scored as ``name``: ``Predictions/NAME/``."""
        return self.root / "Predictions" / name

    # what it holds
    @property
    def config(self) -> TrainConfig:
        """The run's settings, read from ``config.yaml``."""
        return TrainConfig.load(self.config_file)

    def split(self) -> dict[str, list[Pair]]:
        """The photo/mask pairs of each split (train, valid, test), as the run used them."""
        return read_split(self.split_file, self.config.directory)

    def pairs(self, split: str) -> list[Pair]:
        """The photo/mask pairs of ``split`` (train, valid or test), as the run used them."""
        return self.split()[split]

    @property
    def class_map(self) -> tuple[int, ...] | None:
        """How raw mask values became classes (``--class-map``), None if they were kept."""
        config = self.config
        return parse_class_map(config.class_map, config.classes)

    def holds_files(self) -> bool:
        """True if the folder exists and is not empty."""
        return self.root.exists() and any(self.root.iterdir())

    def remove_stale_temporaries(self) -> None:
        """Delete half-written temporary files left by a run killed while saving."""
        for stale in self.root.glob("**/.*.tmp"):
            stale.unlink(missing_ok=True)

    def resume_config(self, changes: dict) -> TrainConfig:
        """The saved settings with the resumable ``changes`` applied; others are kept (and said).

        Example: ``run.resume_config({"epochs": 400})`` extends the run to 400 epochs.
        """
        saved = self.config
        known = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown settings {unknown}")
        kept = sorted(
            k for k, v in changes.items() if k not in RESUMABLE and v != getattr(saved, k)
        )
        if kept:
            log.info(
                "Resuming: keeping the run's saved %s (from %s)", ", ".join(kept), self.config_file
            )
        updates = {k: v for k, v in changes.items() if k in RESUMABLE}
        return TrainConfig(**{**saved.__dict__, **updates})


def checkpoint_of(target: str | Path) -> Path:
    """The checkpoint to resume ``target`` from: a run folder's last one, or ``target``
    itself (a ``.ckpt`` file)."""
    target = Path(target)
    return Run(target).last if target.is_dir() else target


CANOPY_TABLE = "canopy.csv"


@dataclass(frozen=True)
class PredictFolder:
    """The output folder of ``vitiseg predict``: ``masks/KEY.png``, ``overlays/KEY.jpg``,
    ``probabilities/KEY.png``, ``canopy.csv``, ``select.csv``, ``export/``."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def table(self) -> Path:
        """One row per photo (cover, LAI estimate, traits): ``canopy.csv``."""
        return self.root / CANOPY_TABLE

    @property
    def selection(self) -> Path:
        """The photos most worth labelling next (``--select``): ``select.csv``."""
        return self.root / "select.csv"

    @property
    def masks(self) -> Path:
        """The folder of the predicted class masks: ``masks/``."""
        return self.root / "masks"

    @property
    def overlays(self) -> Path:
        """The folder of the photos with their classes overlaid: ``overlays/``."""
        return self.root / "overlays"

    @property
    def export(self) -> Path:
        """The folder of the ``--export`` pre-annotations: ``export/``."""
        return self.root / "export"

    def mask(self, key: str) -> Path:
        """The class mask of photo ``key``: ``masks/KEY.png``."""
        return self.masks / f"{key}.png"

    def overlay(self, key: str) -> Path:
        """The overlay of photo ``key``: ``overlays/KEY.jpg``."""
        return self.overlays / f"{key}.jpg"

    def probability(self, key: str) -> Path:
        """The leaf probability map (0-255) of photo ``key``: ``probabilities/KEY.png``."""
        return self.root / "probabilities" / f"{key}.png"


@dataclass(frozen=True)
class SeasonFolder:
    """The output folder of ``vitiseg season``: ``season.csv``, ``transitions.csv``,
    ``photos.csv``, ``figures/``, ``forecast.csv`` (``vitiseg forecast``) and, with
    ``--model``, ``predictions/`` (a :class:`PredictFolder`)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def tables(self) -> dict[str, Path]:
        """The season's tables by what they hold: ``season``, ``transitions``, ``photos``."""
        return {name: self.root / f"{name}.csv" for name in ("season", "transitions", "photos")}

    @property
    def forecast(self) -> Path:
        """The next days' traits with their intervals (``vitiseg forecast``, ``season
        --forecast``): ``forecast.csv``."""
        return self.root / "forecast.csv"

    @property
    def figures(self) -> Path:
        """The folder of the plots: ``CAMERA.png``, ``leaf_cover_by_camera.png``."""
        return self.root / "figures"

    @property
    def canopy_table(self) -> Path:
        """``canopy.csv`` measured from masks made elsewhere (``vitiseg season --masks``)."""
        return self.root / CANOPY_TABLE

    @property
    def predictions(self) -> PredictFolder:
        """Where ``--model`` predicts the photos: ``predictions/``."""
        return PredictFolder(self.root / "predictions")
