"""A training run: run folder, data, Lightning Trainer, resume, and the exported model."""

from __future__ import annotations

import importlib.util
import logging
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch import loggers
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, WeightAveraging
from torch.optim.swa_utils import get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from vitiseg.config import TrainConfig, parse_max_time
from vitiseg.data.dataset import JoinedDataset, SegmentationDataset, pad_collate
from vitiseg.data.layout import Pair
from vitiseg.data.prepare import PreparedData, prepare
from vitiseg.data.sampler import EpochSampler
from vitiseg.data.split import write_split
from vitiseg.data.transforms import eval_transform, train_transform
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model
from vitiseg.engine.weights import check_checkpoint, read_state_dict
from vitiseg.errors import ConfigError, TrainingFault
from vitiseg.run import Run
from vitiseg.training.callbacks import (
    AtomicCheckpointIO,
    DiskFullError,
    EpochProgressBar,
    PeriodicCheckpoint,
    ResumeHint,
    RunFiles,
)
from vitiseg.training.init import from_init
from vitiseg.training.module import NonFiniteLossError, SegmentationModule
from vitiseg.training.pseudo import (
    ROUNDS,
    PseudoLabels,
    load_teacher,
    read_photo_list,
    unlabeled_photos,
    write_photo_list,
)
from vitiseg.training.schedule import FitScheduleToTime
from vitiseg.util.hardware import is_rank_zero, keep_freed_memory, resolve_precision
from vitiseg.util.quiet import quiet_libraries

log = logging.getLogger(__name__)


def say(message: str) -> None:
    """Tell the user, from the first process only."""
    if is_rank_zero():
        log.info(message)


def refuse_earlier_run(run: Run) -> None:
    """A new run never writes into a folder that already holds one, unless told to."""
    if not run.last.is_file():
        raise ConfigError(
            f"{run.root} already holds a run that has no checkpoint to resume from (it "
            "stopped before its first epoch ended): pass overwrite=True to replace it, or "
            "choose another name= or output="
        )
    raise ConfigError(
        f"{run.root} already holds a run; resume it with -r -m {run.last}, "
        "choose another name= or output=, or pass overwrite=True to replace it"
    )


@contextmanager
def _nothing_left_if_start_fails(root: Path | None) -> Iterator[None]:
    """If the block fails before the run at ``root`` saved its first checkpoint, remove
    the folders the block made for it (the run folder, and an output folder made for it
    and left empty), so that a failed start leaves no run to refuse or resume. A folder
    that existed before is never touched; ``root=None`` (a resumed run) watches nothing."""
    made = [] if root is None else [p for p in (root, *root.parents) if not p.exists()]
    try:
        yield
    except BaseException:
        if made and is_rank_zero() and not Run(root).last.is_file():
            shutil.rmtree(root, ignore_errors=True)
            for parent in made[1:]:
                try:
                    parent.rmdir()  # only if empty
                except OSError:
                    break
        raise


def validation_batch_size(config: TrainConfig, data: PreparedData) -> int:
    """Whole photos per validation batch: as many pixels as a training batch, at least one.

    Batching several large photos is slower on a CPU and leaves memory fragmented for the
    training steps that follow (measured: 30 s instead of 20 s for 8 full-HD photos).
    """
    facts = data.facts["valid"]
    pixels = sum(f.width * f.height for f in facts) / len(facts) * config.scale**2
    return max(1, min(config.batch_size, int(config.batch_size * config.crop_size**2 // pixels)))


def _loaders(
    config: TrainConfig, data: PreparedData, divisor: int, unlabeled: list[Pair]
) -> tuple[DataLoader, DataLoader]:
    """Training crops (``unlabeled`` photos after the labelled ones, drawn once their
    pseudo-labels exist), and whole validation photos padded to a multiple of ``divisor``."""

    def dataset(part: str, transform) -> SegmentationDataset:
        return SegmentationDataset(
            data.splits[part], transform, data.class_map, config.scale, config.preload
        )

    common = {
        "num_workers": config.workers,
        "persistent_workers": config.workers > 0,
        "pin_memory": torch.cuda.is_available(),
    }
    augment = train_transform(config.crop_size, config.augment)
    training = dataset("train", augment)
    if unlabeled:  # label files written during training: never preloaded
        training = JoinedDataset(
            training, SegmentationDataset(unlabeled, augment, None, config.scale)
        )
    train = DataLoader(
        training,
        batch_size=config.batch_size,
        sampler=EpochSampler(
            len(data.splits["train"]), config.seed, shuffle=True, repeats=config.crops_per_image
        ),
        **common,
    )
    valid = DataLoader(
        dataset("valid", eval_transform(divisor)),
        batch_size=validation_batch_size(config, data),
        sampler=EpochSampler(len(data.splits["valid"]), config.seed, shuffle=False),
        collate_fn=pad_collate,
        **common,
    )
    return train, valid


def _callbacks(config: TrainConfig, run: Run, pseudo: PseudoLabels | None) -> list[L.Callback]:
    callbacks: list[L.Callback] = [
        RunFiles(run, config.name, config.names_of_classes),
        ModelCheckpoint(
            dirpath=run.checkpoints,
            filename="best",
            monitor=config.monitor,
            mode="max",
            save_top_k=1,
            enable_version_counter=False,
            auto_insert_metric_name=False,
        ),
        # Every epoch, whatever the monitored figure does: since Lightning 2.6, save_last
        # follows the top-k saves, which would make last.ckpt a copy of best.ckpt.
        ModelCheckpoint(
            dirpath=run.checkpoints, filename="last", save_top_k=1, enable_version_counter=False
        ),
        ResumeHint(
            run.last, f"vitiseg train -n {config.name} -d {config.directory} -r -m {run.last}"
        ),
    ]
    if sys.stdout.isatty():  # in a log file, the epoch lines alone
        callbacks.append(EpochProgressBar())
    if config.save_every:
        callbacks.append(PeriodicCheckpoint(run, config.name, config.save_every))
    if config.max_time:
        callbacks.append(FitScheduleToTime())
    if pseudo is not None:  # before WeightAveraging: labels with the validated EMA weights
        callbacks.append(pseudo)
    if config.ema:
        callbacks.append(WeightAveraging(multi_avg_fn=get_ema_multi_avg_fn(config.ema)))
    if config.patience:
        callbacks.append(EarlyStopping(config.monitor, patience=config.patience, mode="max"))
    return callbacks


LOGGER_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow"}


def lightning_logger(kind: str, folder: Path, name: str):
    """Lightning's own logger of ``kind`` writing under ``folder``; False for ``none``.

    Raises:
        ConfigError: the logger's package is not installed (says which one).
    """
    if kind == "none":
        return False
    package = LOGGER_PACKAGES.get(kind)
    if package and importlib.util.find_spec(package) is None:
        raise ConfigError(f"logger={kind} needs the {package} package: pip install {package}")
    if kind == "csv":
        return loggers.CSVLogger(folder, name=name)
    if kind == "tensorboard":
        return loggers.TensorBoardLogger(folder, name=name)
    return loggers.MLFlowLogger(name, tracking_uri=(folder / "mlruns").resolve().as_uri())


def _pseudo_labels(
    config: TrainConfig, run: Run, spec: ModelSpec, data: PreparedData, resuming: bool
) -> PseudoLabels:
    """``--unlabeled``'s callback: the photos the run took if it is resumed, else those
    of the folder, checked; with ``--teacher``, the teacher loaded, before any file is
    written.

    Raises:
        DataError: no photo of the folder can be used.
        WeightsError, ConfigError: the teacher cannot be loaded, or its classes differ.
    """
    if resuming and run.unlabeled_list.is_file():
        photos = read_photo_list(run.unlabeled_list)
    else:
        labelled = [pair for part in data.splits.values() for pair in part]
        photos = unlabeled_photos(config.unlabeled, labelled, config.seed, run.root.resolve())
    info = ModelInfo(spec=spec, class_names=config.names_of_classes, scale=config.scale)
    when = (
        f"by the teacher {config.teacher}, {config.unlabeled_share:.0%} of the crops from the start"
        if config.teacher
        else f"after {', '.join(f'{r:.0%}' for r in ROUNDS)} of the schedule, then "
        f"{config.unlabeled_share:.0%} of the crops"
    )
    say(
        f"Unlabelled   : {len(photos)} photos; pseudo-labels (probability >= "
        f"{config.pseudo_threshold:g}) {when}"
    )
    pseudo = PseudoLabels(
        photos,
        run.pseudo_labels,
        info,
        config.pseudo_threshold,
        config.unlabeled_share,
        has_teacher=config.teacher is not None,
    )
    # a new run's folder is emptied before labelling; a resumed run lacks labels only if
    # it was cut off while the teacher labelled
    if config.teacher and is_rank_zero() and (not resuming or pseudo.missing()):
        pseudo.teacher = load_teacher(config)
    return pseudo


def _print_summary(config: TrainConfig, data: PreparedData, precision: str) -> None:
    total = sum(len(v) for v in data.splits.values())
    crops = len(data.splits["train"]) * config.crops_per_image
    per_process = -(-crops // (config.devices * config.num_nodes))  # as EpochSampler shares
    steps = -(-per_process // config.batch_size)
    widths = config.decoder_channels
    decoder = f", decoder {','.join(map(str, widths))}" if widths else ""
    say(
        f"Total Images : {total}\n"
        f"Train Size   : {len(data.splits['train'])}\n"
        f"Val Size     : {len(data.splits['valid'])}\n"
        f"Test Size    : {len(data.splits['test'])}\n"
        f"N Classes    : {config.classes}\n"
        f"Model Name   : {config.name}\n"
        f"Network      : {config.arch} / {config.encoder}{decoder} "
        f"(weights: {config.encoder_weights})\n"
        f"Batch Size   : {config.batch_size} per device\n"
        f"Epochs       : {config.epochs} (each {crops} crops in {steps} steps)\n"
        f"Learning Rate: {config.learning_rate}\n"
        f"Precision    : {precision}"
    )
    if config.preload:
        say(f"Preloading   : {data.preload_bytes(config.scale) / 2**30:.2f} GiB of decoded images")


def checkpoint_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    """The network's weights in a training checkpoint (the EMA ones when training kept an
    average), named as the network's own ``state_dict``."""
    return {
        k.removeprefix("model.").replace("_orig_mod.", ""): v
        for k, v in read_state_dict(checkpoint).items()
        if k.startswith("model.")
    }


def model_spec(config: TrainConfig) -> ModelSpec:
    """The network a training config builds."""
    return ModelSpec(
        config.arch, config.encoder, config.classes, decoder_channels=config.decoder_channels
    )


def export_best(config: TrainConfig, run: Run, module: SegmentationModule) -> Path:
    """Export the best checkpoint's weights (or the current ones) as model.safetensors."""
    spec = module.spec
    model = build_model(spec)
    if run.best.is_file():
        state = checkpoint_weights(run.best)
    else:
        state = {k.replace("_orig_mod.", ""): v for k, v in module.model.state_dict().items()}
    model.load_state_dict(state)
    info = ModelInfo(spec=spec, class_names=config.names_of_classes, scale=config.scale)
    return export_model(model.float(), info, run.root)


def _fault_message(exc: Exception, run: Run, epochs_done: int) -> str:
    kept = (
        f"{run.last} (epoch {epochs_done}) is kept"
        if run.last.is_file()
        else "no epoch had finished, so there is no checkpoint"
    )
    advice = (
        "try a lower learning rate (learning_rate=) or precision=32"
        if isinstance(exc, NonFiniteLossError)
        else "free some disk space"
    )
    resume = f"; then resume with: vitiseg train -r -m {run.last}" if run.last.is_file() else ""
    return f"{exc}. {kept}; {advice}{resume}"


def resume(run: Run, checkpoint: str | Path | None = None, **changes) -> Run:
    """Continue training ``run`` from ``checkpoint`` (default: its last) with ``changes``
    among :data:`vitiseg.run.RESUMABLE` (e.g. ``epochs=400``); returns it when it ends."""
    return train(run.resume_config(changes), resume_from=Path(checkpoint or run.last))


def train(config: TrainConfig, resume_from: Path | None = None, overwrite: bool = False) -> Run:
    """Train (or resume) a run; write its folder; export the best model. Returns its run.

    Messages go to the ``vitiseg`` logger (the command line shows them; from Python,
    ``logging.basicConfig(level=logging.INFO)`` does).
    """
    new_run = None if resume_from else Path(config.output) / config.name
    with quiet_libraries(), _nothing_left_if_start_fails(new_run):
        return _train(config, resume_from, overwrite)


def _train(config: TrainConfig, resume_from: Path | None, overwrite: bool) -> Run:
    run = Run.open(resume_from) if resume_from else Run(Path(config.output) / config.name)
    if resume_from is not None:
        if not resume_from.is_file():
            raise ConfigError(
                f"{resume_from}: no checkpoint to resume from (the run may have stopped before "
                "its first epoch ended); start it again with overwrite=True"
            )
        epochs_done = check_checkpoint(resume_from)
    replace = resume_from is None and is_rank_zero() and run.holds_files()
    if replace and not overwrite:
        refuse_earlier_run(run)
    config, initial_weights = (config, None) if resume_from else from_init(config)
    max_time = parse_max_time(config.max_time)
    logger = lightning_logger(config.logger, run.logs, config.name)
    spec = model_spec(config)
    if config.sync_batchnorm and not torch.cuda.is_available():
        raise ConfigError("sync_batchnorm=True works on GPUs only (PyTorch's SyncBatchNorm)")
    data = prepare(config, run.split_file if resume_from and run.split_file.is_file() else None)
    precision = resolve_precision(config.precision, config.accelerator)
    if config.accelerator == "cpu" or not torch.cuda.is_available():
        keep_freed_memory()
    _print_summary(config, data, precision)
    resuming = resume_from is not None
    pseudo = _pseudo_labels(config, run, spec, data, resuming) if config.unlabeled else None
    if is_rank_zero():
        if replace:  # only now that the new run's data passed its checks
            shutil.rmtree(run.root)
        run.remove_stale_temporaries()
        run.root.mkdir(parents=True, exist_ok=True)
        config.save(run.config_file)
        write_split(run.split_file, data.splits, config.directory)
        if pseudo is not None and not run.unlabeled_list.is_file():
            write_photo_list(run.unlabeled_list, pseudo.photos)
        if pseudo is not None:
            pseudo.label_with_teacher()  # before any process draws a crop
    L.seed_everything(config.seed, workers=True, verbose=False)
    module = SegmentationModule(
        spec,
        None if resume_from else config.encoder_weights,
        config.learning_rate,
        config.weight_decay,
        config.warmup,
        loss=config.loss,
        class_weights=data.class_weights(config.classes, config.class_weights)
        if config.classes > 2 and config.class_weights != "none"
        else None,
        compile_model=config.compile,
        initial_weights=initial_weights,
    )
    divisor = module.model.encoder.output_stride
    train_loader, valid_loader = _loaders(config, data, divisor, pseudo.pairs if pseudo else [])
    if pseudo is not None:
        pseudo.attach(train_loader.sampler)
    if resume_from is not None:
        # Lightning starts the loader's workers before telling the sampler the epoch
        train_loader.sampler.set_epoch(epochs_done)
    trainer = L.Trainer(
        max_epochs=config.epochs,
        max_time=max_time,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=precision,
        sync_batchnorm=config.sync_batchnorm,
        callbacks=_callbacks(config, run, pseudo),
        enable_progress_bar=sys.stdout.isatty(),
        plugins=[AtomicCheckpointIO()],
        logger=logger,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        default_root_dir=run.root,
    )
    try:
        trainer.fit(module, train_loader, valid_loader, ckpt_path=resume_from, weights_only=True)
    except (NonFiniteLossError, DiskFullError) as exc:
        raise TrainingFault(_fault_message(exc, run, len(module.history))) from None
    if trainer.is_global_zero:
        export_best(config, run, module)
    return run
