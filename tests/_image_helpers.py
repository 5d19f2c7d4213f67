"""Images, toy models and brute-force Shapley values for the image explanation tests."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from tests._image_models import background, detection_image, draw_shape

LABELS = ("red", "green", "blue")


def blocks_image(rows: int = 3, cols: int = 3, cell: int = 16, seed: int = 0) -> np.ndarray:
    """A grid of flat colour blocks: SLIC finds (about) one superpixel per block."""
    rng = np.random.default_rng(seed)
    image = np.zeros((rows * cell, cols * cell, 3), dtype=np.uint8)
    for i in range(rows):
        for j in range(cols):
            image[i * cell : (i + 1) * cell, j * cell : (j + 1) * cell] = rng.integers(0, 256, 3)
    return image


def shapes_image(size: int = 64, seed: int = 0) -> np.ndarray:
    """A textured background with a red circle, a green square and a blue triangle."""
    image, _ = detection_image(
        np.random.default_rng(seed), size, [("circle", "red"), ("square", "green"), ("triangle", "blue")]
    )
    return image


def one_shape(
    size: int, kind: str, colour: tuple[int, int, int], box: tuple[float, float, float]
) -> np.ndarray:
    """A background with one shape at centre ``(cx, cy)`` and radius ``r`` (``box``)."""
    image = background(np.random.default_rng(1), size, size)
    draw_shape(image, kind, colour, (box[0], box[1]), box[2])
    return image


def toy_classifier(images: np.ndarray) -> np.ndarray:
    """A smooth, non-additive 3-class score of the mean colour (softmax of a quadratic)."""
    x = images.reshape(len(images), -1, 3).astype(np.float64).mean(axis=1) / 255.0
    z = np.stack(
        [3 * x[:, 0] - x[:, 1] * x[:, 2], 2 * x[:, 1] ** 2, x[:, 2] - 0.5 * x[:, 0] * x[:, 1]], axis=1
    )
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def brute_force_shapley(value: Callable[[tuple[int, ...]], np.ndarray], n_players: int) -> np.ndarray:
    """Exact Shapley values (n_players, k) of the set function ``value(coalition)``."""
    cache: dict[tuple[int, ...], np.ndarray] = {}

    def v(coalition: tuple[int, ...]) -> np.ndarray:
        key = tuple(sorted(coalition))
        if key not in cache:
            cache[key] = np.asarray(value(key), dtype=np.float64)
        return cache[key]

    width = len(v(()))
    phi = np.zeros((n_players, width))
    for j in range(n_players):
        others = [p for p in range(n_players) if p != j]
        for size in range(n_players):
            weight = math.factorial(size) * math.factorial(n_players - size - 1) / math.factorial(n_players)
            for coalition in itertools.combinations(others, size):
                phi[j] += weight * (v((*coalition, j)) - v(coalition))
    return phi
