"""An exported model, ready to predict: ``vitiseg.load(path)``.

One object loads the weights and ``model.json``, checks the canopy options against the
model's classes once, and predicts a photo (an array or a file) at its own size.
``evaluate`` and ``predict`` both use it, so both check the same things.

Example:
    >>> model = vitiseg.load("Result/Modele_1")                      # doctest: +SKIP
    >>> result = model.predict("vine_001.jpg")                       # doctest: +SKIP
    >>> result.mask.shape, model.canopy(result.mask)["leaf_cover"]   # doctest: +SKIP
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from vitiseg.canopy import cover, traits
from vitiseg.canopy.roles import roles_from_names
from vitiseg.config import InferenceOptions
from vitiseg.data.imageio import decode_image, rgb_array
from vitiseg.engine import bundled
from vitiseg.engine.backends import load_engine
from vitiseg.engine.network import ModelInfo, resolve_model_dir
from vitiseg.engine.onnx_contract import is_onnx_file, weights_digest
from vitiseg.engine.tiling import Prediction, Predictor
from vitiseg.rules import POSITIVE, check

ROLE_KEYS = {"inter_row": "inter_row_class", "pipe": "pipe_class", "trunk": "trunk_class"}
"""The ``roles`` keys of vitiseg 0.1's first releases, still accepted."""


class Model:
    """An exported model (``model.safetensors`` + ``model.json``) with how to run it.

    Args:
        path: a run folder, its ``model.safetensors``, a folder holding the export, or
            None / ``"vineyard"``: the vineyard model that ships with vitiseg
            (:mod:`vitiseg.engine.bundled`).
        inference: device, tiles, TTA, precision (defaults: :class:`InferenceOptions`).
        leaf_class: the class counted as leaf (default: the class named leaf; classes without
            names, "Class i", count class 1; named classes without a leaf: none).
        k: extinction coefficient of the LAI estimate.
        roles: ``inter_row_class``, ``pipe_class``, ``trunk_class`` indices for the canopy
            traits (default: found from the class names; see
            :func:`vitiseg.canopy.roles.roles_from_names`).
        backend: ``torch``, ``onnxruntime`` or ``auto`` (see :mod:`vitiseg.engine.backends`);
            ``path`` may then be an ``.onnx`` file from ``vitiseg export``.

    Raises:
        WeightsError: no readable export at ``path``.
        ConfigError: ``leaf_class`` is not one of the model's classes, or ``k <= 0``.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        inference: InferenceOptions | None = None,
        leaf_class: int | None = None,
        k: float = cover.DEFAULT_K,
        roles: dict[str, int | None] | None = None,
        backend: str = "auto",
    ) -> None:
        check("k", k, POSITIVE)
        if bundled.names_bundled(path):
            path = bundled.bundled_folder()
        options = inference or InferenceOptions()
        self.engine = load_engine(path, backend, options.device, options.precision)
        self.info, self.precision = self.engine.info, self.engine.precision
        self.directory = Path(path).parent if is_onnx_file(path) else resolve_model_dir(path)
        roles = {ROLE_KEYS.get(key, key): index for key, index in (roles or {}).items()}
        self.roles = roles_from_names(self.class_names, leaf_class, **roles)
        self.leaf_class = self.roles.leaf
        self.k = k
        self.predictor = Predictor(
            self.engine.model, self.info, str(self.engine.device), options.tile, options.overlap,
            options.batch_size, options.tta, self.precision,
        )  # fmt: skip

    @property
    def classes(self) -> int:
        """The number of classes the model predicts."""
        return self.info.spec.classes

    @property
    def class_names(self) -> list[str]:
        """The model's class names, by class index."""
        return self.info.class_names

    @functools.cached_property
    def identity(self) -> str:
        """Which weights predict: the first 16 hex digits of the SHA-256 of
        ``model.safetensors``, the same whether PyTorch or an fp32 ONNX file exported from
        it runs them (they give the same masks); ``-int8`` added for a quantised file; the
        ONNX file's own digest where it does not record its weights."""
        onnx = self.engine.model
        if not hasattr(onnx, "weights_sha256"):
            return weights_digest(self.directory / "model.safetensors")[:16]
        digest = onnx.weights_sha256 or weights_digest(onnx.path)
        return digest[:16] + ("-int8" if onnx.quantized else "")

    @property
    def device(self):
        """The ``torch.device`` the model predicts on."""
        return self.predictor.device

    def predict(
        self,
        photo: np.ndarray | str | Path,
        probability_of: int | None = None,
        uncertainty: bool = False,
    ) -> Prediction:
        """Class mask of a photo at its own size; also ``probability_of``'s probability map
        and the class-balanced entropy (``uncertainty``).

        ``photo`` is an image file, or an array: uint8 RGB (H, W, 3); uint8 greyscale
        (H, W) and RGBA (H, W, 4) are converted (grey repeated, alpha dropped). Other
        dtypes (float, uint16, int64, bool) and shapes (channels first) are refused
        (:func:`vitiseg.data.imageio.rgb_array`).

        Raises:
            DataError: an unreadable file, or an array of another dtype or shape.
        """
        image = decode_image(photo)[0] if isinstance(photo, str | Path) else rgb_array(photo)
        return self.predictor.predict(image, probability_of, uncertainty)

    def canopy(self, mask: np.ndarray, photo: np.ndarray | None = None) -> dict:
        """Cover of each class (``cover_NAME``), leaf cover, LAI estimate and the canopy
        traits of :func:`vitiseg.canopy.traits.photo_traits` (colour traits need the ``photo``).

        ``mask`` holds integer class indices ``0..classes-1`` (255: pixels that count
        nowhere), as :meth:`predict` gives them; ``photo`` is an array as :meth:`predict`
        takes one.

        Raises:
            DataError: a mask of floats or booleans, or with values outside the classes
                (:func:`vitiseg.canopy.traits.check_mask`); a photo array refused by
                :meth:`predict`, or of another size.
        """
        photo = None if photo is None else rgb_array(photo)
        return traits.photo_traits(mask, photo, self.roles, self.class_names, self.k)


def load(path: str | Path | None = None, **options) -> Model:
    """Open an exported model (by default the bundled vineyard model); ``options`` are
    :class:`Model`'s (inference, leaf_class, k)."""
    return Model(path, **options)


__all__ = ["Model", "ModelInfo", "load"]
