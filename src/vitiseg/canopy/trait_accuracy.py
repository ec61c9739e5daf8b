"""How well the traits of predicted masks match those of the true masks.

For each photo scored by ``vitiseg evaluate``, every trait of :mod:`vitiseg.canopy.traits` is
measured on the true mask and on the predicted one (same photo, same class roles);
``Test_NAME.csv`` gets both, and ``summary.json`` each trait's error over the photos
where both could be measured:

- ``mae = mean |predicted - true|`` and ``bias = mean (predicted - true)``;
- for hues the difference is circular: ``((predicted - true + 180) mod 360) - 180``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vitiseg.canopy import traits
from vitiseg.canopy.circular import angle_difference
from vitiseg.canopy.roles import Roles
from vitiseg.canopy.trait_table import BY_NAME, COMPARED


def true_and_predicted(
    truth: np.ndarray,
    prediction: np.ndarray,
    image: np.ndarray,
    roles: Roles,
    class_names: list[str],
) -> dict:
    """``{(label, "True"): value, (label, "Predicted"): value}`` for every compared trait
    the classes allow (:func:`compared_traits`)."""
    true = traits.photo_traits(truth, image, roles, class_names)
    predicted = traits.photo_traits(prediction, image, roles, class_names)
    row = {}
    for column in compared_traits(roles):
        label = BY_NAME[column].title
        row[(label, "True")] = true[column]
        row[(label, "Predicted")] = predicted[column]
    return row


def compared_traits(roles: Roles) -> tuple[str, ...]:
    """The compared traits of a model with these roles: none of a role no class plays
    (grape stems: no leaf, so no canopy height, porosity nor leaf hue).

    Example:
        >>> compared_traits(Roles(leaf=None, inter_row=2))
        ('inter_row_hue',)
    """
    return tuple(c for c in COMPARED if getattr(roles, BY_NAME[c].role) is not None)


def difference(predicted: pd.Series, true: pd.Series, circular: bool) -> pd.Series:
    """``predicted - true``; for angles in degrees the signed shortest turn (-180, 180]."""
    return angle_difference(predicted, true) if circular else predicted - true


def trait_errors(per_image: pd.DataFrame) -> dict:
    """Each compared trait's ``mae``, ``bias``, number of ``photos`` measured on both, and
    whether that error is within its tolerance (``reliable``, :func:`reliable`).

    ``per_image`` has the two-level columns of :func:`true_and_predicted`; a trait with
    no photo measured on both gets ``None`` figures.

    Example:
        >>> table = pd.DataFrame({("Porosity", "True"): [0.2, 0.4], ("Porosity", "Predicted"): [0.3, 0.2]})
        >>> trait_errors(table)["porosity"]
        {'mae': 0.15, 'bias': -0.05, 'photos': 2, 'reliable': False}
    """
    errors = {}
    for column in COMPARED:
        label = BY_NAME[column].title
        if (label, "True") not in per_image:
            continue
        true = pd.to_numeric(per_image[(label, "True")], errors="coerce")
        predicted = pd.to_numeric(per_image[(label, "Predicted")], errors="coerce")
        diff = difference(predicted, true, BY_NAME[column].circular).dropna()
        mae = round(float(diff.abs().mean()), 6) if len(diff) else None
        errors[column] = {
            "mae": mae,
            "bias": round(float(diff.mean()), 6) if len(diff) else None,
            "photos": len(diff),
            "reliable": reliable(column, mae),
        }
    return errors


def reliable(column: str, mae: float | None) -> bool | None:
    """Whether a trait measured with this mean absolute error is trusted (its table
    ``tolerance``); None when it has no tolerance or no error was measured.

    Example:
        >>> reliable("porosity", 0.061), reliable("porosity", 0.04), reliable("leaf_gcc", 0.1)
        (False, True, None)
    """
    tolerance = BY_NAME[column].tolerance
    return None if tolerance is None or mae is None else mae <= tolerance


def summary_lines(errors: dict) -> list[str]:
    """One printed line per trait: ``Canopy height   MAE 0.031  bias +0.012  (8 photos)``."""
    lines = []
    for column, figures in errors.items():
        if figures["mae"] is None:
            lines.append(f"  {BY_NAME[column].title:<16} not measurable on these photos")
        else:
            unit = " deg" if BY_NAME[column].circular else ""
            verdict = reliable(column, figures["mae"])
            warning = f"  unreliable: MAE above {BY_NAME[column].tolerance:g}{unit}" if verdict is False else ""  # fmt: skip
            lines.append(
                f"  {BY_NAME[column].title:<16} MAE {figures['mae']:.3f}{unit}  bias "
                f"{figures['bias']:+.3f}{unit}  ({figures['photos']} photos){warning}"
            )
    return lines
