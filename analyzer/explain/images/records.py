"""Input images as the engine sees them, and their baseline pixels (pure: arrays in, arrays out).

:class:`ImageRecord` is one decoded image (``analyzer.datasets.images`` reads them); its
``stem`` names its output files. The SHAP baseline of an image is the configured mask image
resized to it (Pillow's bicubic filter) or, by default, white noise at its resolution
(Clarify's default, spec §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from analyzer.extras import require

__all__ = ["ImageRecord", "baseline_for", "output_stem", "resize_image", "white_noise"]


@dataclass(frozen=True)
class ImageRecord:
    """One input image: ``name`` (relative path), where it came from, and its RGB pixels (H, W, 3) uint8."""

    name: str
    uri: str
    array: np.ndarray

    @property
    def stem(self) -> str:
        """The name used in output file names: relative path without extension, ``/`` → ``_``."""
        return output_stem(self.name)


def output_stem(name: str) -> str:
    """``cats/001.png`` → ``cats_001``; ``064.elephant-101_064_0003.jpg`` → ``064.elephant-101_064_0003``."""
    path = PurePosixPath(name)
    return str(path.with_suffix("")).replace("/", "_")


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` resized to (height, width) with Pillow's bicubic filter (a copy when already that size)."""
    if image.shape[:2] == (height, width):
        return image.copy()
    require("image", "Image explanations (dataset_type application/x-image)")
    from PIL import Image

    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8).copy()


def white_noise(height: int, width: int, seed: int | None = None) -> np.ndarray:
    """Clarify's default baseline: uniform random RGB pixels (H, W, 3) uint8.

    The noise is drawn from ``numpy.random.default_rng(seed)`` (seed 0 when ``seed`` is None)
    so that a job's heat maps are reproducible.
    """
    rng = np.random.default_rng(0 if seed is None else seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def baseline_for(image: np.ndarray, baseline: np.ndarray | None, seed: int | None = None) -> np.ndarray:
    """The baseline pixels for ``image``: the given mask image resized to it, else white noise."""
    height, width = image.shape[:2]
    if baseline is None:
        return white_noise(height, width, seed)
    return resize_image(baseline, height, width)
