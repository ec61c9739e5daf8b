"""One photo's row of ``canopy.csv``: the file, its size, when it was taken, its traits.

``vitiseg predict`` writes it from the masks it predicts, ``vitiseg season --masks`` from
masks made elsewhere; both build it here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vitiseg.canopy.roles import Roles
from vitiseg.canopy.traits import photo_traits
from vitiseg.data.photos import photo_datetime

FILE_COLUMNS = ("file", "width", "height", "datetime")
"""The columns before the ``cover_NAME`` and trait columns."""


def canopy_row(
    photo: Path,
    mask: np.ndarray,
    image: np.ndarray | None,
    roles: Roles,
    class_names: list[str],
    k: float,
) -> dict:
    """The row of ``photo`` (its absolute path: the table works from any folder) with class
    ``mask``; colour traits need ``image``.

    The traits are :func:`vitiseg.canopy.traits.photo_traits`'s; ``datetime`` is
    :func:`vitiseg.data.photos.photo_datetime`'s ('' when unknown).
    """
    facts = (str(Path(photo).resolve()), mask.shape[1], mask.shape[0], photo_datetime(photo))
    return dict(zip(FILE_COLUMNS, facts, strict=True)) | photo_traits(
        mask, image, roles, class_names, k
    )
