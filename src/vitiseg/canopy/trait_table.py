"""The canopy traits, once: each column of ``canopy.csv`` with its label, unit and kind.

Traits (:mod:`vitiseg.canopy.traits`), their accuracy (:mod:`vitiseg.canopy.trait_accuracy`),
the season (:mod:`vitiseg.season`) and its figures all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HUE_TOLERANCE = 5.0
"""Degrees: leaf hue's error on photos of unseen dates is 0.2-1.2 deg, inter-row hue's
was 6-7 deg (issue #28); beyond 5 deg a hue no longer tells straw from bare soil."""


@dataclass(frozen=True)
class Trait:
    """One trait column: ``title`` heads tables (``Test_NAME.csv``), ``axis`` labels figures."""

    name: str
    title: str
    axis: str
    circular: bool = False
    """An angle in degrees (a hue): averaged, differenced and smoothed on the circle."""
    daily: bool = True
    """Followed through the season (a number per photo, summarised per day)."""
    compared: bool = True
    """Its error against the true masks is measured by ``evaluate`` (leaf cover and LAI
    have their own columns there)."""
    transitions: bool = False
    """Its transition dates (10/25/50 % of the season's amplitude) are computed."""
    tolerance: float | None = None
    """The largest mean absolute error (predicted against true masks) at which the trait is
    reported as reliable; None: not judged."""
    bounds: tuple[float | None, float | None] = (None, None)
    """The values it can take (None: no bound on that side); forecasts and their bands
    stay inside them."""
    role: str = "leaf"
    """The class it is measured on, a :class:`vitiseg.canopy.roles.Roles` field: a model
    with no class in that role has no such trait."""
    base: float | None = None
    """Its value on bare vines, before bud-break, where that is known (leaf cover and the
    LAI estimate: 0): transition levels are dated against it. None: against the curve's
    lowest point before its maximum."""

    def inside(self, values: np.ndarray) -> np.ndarray:
        """``values`` clipped to the trait's :attr:`bounds` (unchanged without bounds)."""
        low, high = self.bounds
        return values if low is None and high is None else np.clip(values, low, high)


SHARE = (0.0, 1.0)
POSITIVE = (0.0, None)
TRAITS = (
    Trait("leaf_cover", "Leaf cover", "leaf cover (share)", compared=False, transitions=True,
          bounds=SHARE, base=0.0),
    Trait("lai_estimate", "LAI estimate", "LAI estimate", compared=False, bounds=POSITIVE, base=0.0),
    Trait("canopy_height", "Canopy height", "canopy height (share of photo)", tolerance=0.05, bounds=SHARE),
    Trait("canopy_height_px", "Canopy height (px)", "canopy height (px)", daily=False, compared=False,
          bounds=POSITIVE),
    Trait("porosity", "Porosity", "porosity (share of gaps)", tolerance=0.05, bounds=SHARE),
    Trait("porosity_rule", "Porosity rule", "porosity base line", daily=False, compared=False),
    Trait("leaf_hue", "Leaf hue", "leaf hue (deg)", circular=True, tolerance=HUE_TOLERANCE),
    Trait("inter_row_hue", "Inter-row hue", "inter-row hue (deg)", circular=True, tolerance=HUE_TOLERANCE,
          role="inter_row"),
    Trait("leaf_gcc", "Leaf gcc", "leaf gcc (mean)", transitions=True, bounds=SHARE),
    Trait("leaf_gcc_p90", "Leaf gcc p90", "leaf gcc (90th pct)", bounds=SHARE),
)  # fmt: skip
BY_NAME = {trait.name: trait for trait in TRAITS}
COLUMNS = tuple(trait.name for trait in TRAITS)
"""The trait columns of a photo's row in ``canopy.csv``, after the ``cover_NAME`` columns."""
DAILY = tuple(trait.name for trait in TRAITS if trait.daily)
CIRCULAR = tuple(trait.name for trait in TRAITS if trait.circular)
COMPARED = tuple(trait.name for trait in TRAITS if trait.compared)
TRANSITIONS = tuple(trait.name for trait in TRAITS if trait.transitions)
