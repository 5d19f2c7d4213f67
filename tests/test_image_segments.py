"""Superpixels are skimage's SLIC with Clarify's parameters; coalition images are rendered exactly."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.segmentation import slic

from analyzer.datasets.images import ImageRecord
from analyzer.explain.images import FunctionPredictor, ImageSpec, explain_image
from analyzer.explain.images.segments import (
    CoalitionImages,
    players_for,
    render_coalitions,
    segment_index,
    slic_segments,
)
from tests._image_helpers import blocks_image, shapes_image, toy_classifier


@pytest.mark.parametrize(("num_segments", "compactness"), [(20, 5), (20, 10), (50, 2.5), (2, 10)])
def test_superpixels_are_skimage_slic_with_the_same_parameters(num_segments: int, compactness: float) -> None:
    image = shapes_image(96, seed=num_segments)
    expected = slic(image, n_segments=num_segments, compactness=compactness)
    np.testing.assert_array_equal(slic_segments(image, num_segments, compactness), expected)
    # the engine's players are those superpixels, numbered 0.. in label order
    spec = ImageSpec(
        "IMAGE_CLASSIFICATION",
        num_segments=num_segments,
        segment_compactness=compactness,
        num_samples=8,
        seed=0,
    )
    explanation = explain_image(ImageRecord("a.png", "a.png", image), spec, FunctionPredictor(toy_classifier))
    labels = np.unique(expected)
    assert explanation.num_segments == len(labels)
    np.testing.assert_array_equal(labels[explanation.segments], expected)


def test_segment_index_is_a_relabelling() -> None:
    labels = np.array([[5, 5, 9], [7, 9, 9]])
    index, count = segment_index(labels)
    assert count == 3
    np.testing.assert_array_equal(index, [[0, 0, 2], [1, 2, 2]])


def test_render_matches_a_pixelwise_reference() -> None:
    image = blocks_image(seed=1)
    rng = np.random.default_rng(0)
    baseline = rng.integers(0, 256, image.shape, dtype=np.uint8)
    segments, count = segment_index(slic_segments(image, 9, 10))
    players = players_for(segments, count)
    masks = rng.integers(0, 2, size=(17, count)).astype(np.float64)
    out = render_coalitions(image, baseline, players, masks)
    for i, mask in enumerate(masks):
        keep = mask[segments] != 0
        np.testing.assert_array_equal(out[i], np.where(keep[..., None], image, baseline))
    full = render_coalitions(image, baseline, players, np.ones((1, count)))[0]
    assert full.tobytes() == image.tobytes()
    empty = render_coalitions(image, baseline, players, np.zeros((1, count)))[0]
    assert empty.tobytes() == baseline.tobytes()


def test_window_players_and_always_baseline_pixels() -> None:
    segments = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]], dtype=np.int32)
    window = np.zeros((4, 4), dtype=bool)
    window[:2, 1:3] = True  # touches segments 0 and 1
    players = players_for(segments, 4, window)
    np.testing.assert_array_equal(players.segments, [0, 1])
    assert players.count == 2
    image = np.full((4, 4, 3), 200, dtype=np.uint8)
    baseline = np.zeros((4, 4, 3), dtype=np.uint8)
    out = render_coalitions(image, baseline, players, np.ones((1, 2)))[0]
    np.testing.assert_array_equal(out[..., 0] == 200, window)  # outside the window: always baseline


def test_coalition_images_render_lazily_by_slice() -> None:
    image = blocks_image(seed=2)
    baseline = np.zeros_like(image)
    segments, count = segment_index(slic_segments(image, 9, 10))
    masks = np.random.default_rng(1).integers(0, 2, size=(10, count))
    lazy = CoalitionImages(image, baseline, players_for(segments, count), masks)
    assert len(lazy) == 10 and lazy.shape == (10, *image.shape) and lazy.dtype == np.uint8
    whole = render_coalitions(image, baseline, players_for(segments, count), masks)
    np.testing.assert_array_equal(lazy[2:5], whole[2:5])
    np.testing.assert_array_equal(lazy[-1], whole[-1])
    np.testing.assert_array_equal(lazy[::3], whole[::3])
