"""The fixed class palette: the same colour for the same class in every picture.

| class | colour |
|---|---|
| 0 | black (background, left uncoloured in overlays) |
| 1 | green (leaf) |
| 2 | orange |
| 3 | blue |
| 4 | magenta |
| 5 | yellow |
| 6 | cyan |
| 7 | red |
| 8+ | repeat from 1 |
"""

from __future__ import annotations

import numpy as np

BASE_COLOURS = [
    (0, 0, 0),
    (40, 200, 40),
    (240, 140, 20),
    (30, 100, 240),
    (220, 40, 200),
    (250, 230, 30),
    (20, 220, 220),
    (220, 30, 30),
]


def palette(num_classes: int) -> np.ndarray:
    """Return a (num_classes, 3) uint8 array of RGB colours."""
    colours = [BASE_COLOURS[0]] + [
        BASE_COLOURS[1 + (i - 1) % (len(BASE_COLOURS) - 1)] for i in range(1, num_classes)
    ]
    return np.asarray(colours, dtype=np.uint8)
