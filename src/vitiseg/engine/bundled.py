"""The vineyard model that ships with vitiseg (``--model vineyard``, the default of
``predict`` and ``season``, ``vitiseg.load()``): where it is, checked against its card.

Its card (``card.json``: checksum, classes, training facts) and the trait errors measured
for its recipe (``summary.json``, which the season page reads as for any evaluated run)
lie beside its weights; docs/model-card.md says what it was trained on and what it has
never seen. ``make model`` rebuilds it (``benchmarks/bundled_model.py``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from vitiseg.errors import WeightsError

NAME = "vineyard"
"""What ``--model`` and ``vitiseg.load`` call the bundled model."""
FOLDER = Path(__file__).resolve().parents[1] / "models" / NAME
CARD = "card.json"
WEIGHTS = "model.safetensors"


def names_bundled(path: str | Path | None) -> bool:
    """Whether ``path`` means the bundled model: None, or ``vineyard`` where no such file
    or folder exists."""
    return path is None or (str(path) == NAME and not Path(path).exists())


def sha256(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def bundled_folder() -> Path:
    """The bundled model's folder, once its weights match the checksum on its card.

    Raises:
        WeightsError: the model is missing or damaged (names the file; reinstall vitiseg).
    """
    try:
        card = json.loads((FOLDER / CARD).read_text(encoding="utf-8"))
        found = sha256(FOLDER / WEIGHTS)
    except (OSError, ValueError) as exc:
        raise WeightsError(
            f"the bundled vineyard model is missing or unreadable ({exc}); reinstall vitiseg, "
            "or give --model RUN"
        ) from None
    if found != card.get("sha256"):
        raise WeightsError(
            f"{FOLDER / WEIGHTS}: checksum {found[:12]}... differs from its card's "
            f"{str(card.get('sha256'))[:12]}...: the file is damaged; reinstall vitiseg"
        )
    return FOLDER


def card() -> dict:
    """The bundled model's card (``card.json``), its weights checked first."""
    return json.loads((bundled_folder() / CARD).read_text(encoding="utf-8"))
