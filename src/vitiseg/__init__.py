"""vitiseg: U-Net segmentation of vineyard photographs.

The Python entry points (imported on first use, so ``import vitiseg`` stays light):

- ``vitiseg.TrainConfig(name=..., directory=..., ...)`` and ``vitiseg.train(config)``:
  train a run, returning a ``vitiseg.Run`` (its folder's layout, split and settings);
- ``vitiseg.evaluate_run(run)``, ``vitiseg.resume(run, epochs=400)``: score a run's model
  on its test split, continue its training;
- ``vitiseg.Run.open(folder)``: an earlier run;
- ``vitiseg.load(path)``: an exported model, ``.predict(photo)`` and ``.canopy(mask)``;
- ``vitiseg.forecast(season_folder_or_table, days=15)``: each camera's traits over the
  next days with prediction intervals (``forecast.csv``'s table).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "TrainConfig": "vitiseg.config",
    "InferenceOptions": "vitiseg.config",
    "Run": "vitiseg.run",
    "train": "vitiseg.training.fit",
    "resume": "vitiseg.training.fit",
    "evaluate_run": "vitiseg.evaluate",
    "Model": "vitiseg.engine.loaded",
    "load": "vitiseg.engine.loaded",
    "forecast": "vitiseg.season_forecast",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vitiseg' has no attribute {name!r}")
