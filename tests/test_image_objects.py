"""Object detection: choosing objects, IoU matching under masking (with the real detector), context."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.datasets.images import white_noise
from analyzer.explain.images.objects import (
    as_detection_array,
    context_window,
    iou,
    matched_scores,
    top_detections,
)
from analyzer.explain.images.segments import players_for, render_coalitions
from local_endpoint.image_models import ShapeDetector
from tests._image_models import COLOURS, background, draw_shape


def test_iou_values() -> None:
    box = np.array([0.0, 0.0, 0.5, 0.5])
    boxes = np.array(
        [[0.0, 0.0, 0.5, 0.5], [0.25, 0.0, 0.75, 0.5], [0.5, 0.5, 1.0, 1.0], [0.1, 0.1, 0.1, 0.3]]
    )
    np.testing.assert_allclose(iou(box, boxes), [1.0, 1 / 3, 0.0, 0.0])
    # scaling both axes (pixels instead of normalised) does not change IoU
    np.testing.assert_allclose(iou(box * [64, 48, 64, 48], boxes * [64, 48, 64, 48]), iou(box, boxes))


def test_objects_are_thresholded_sorted_and_capped() -> None:
    dets = [
        [0, 0.55, 0, 0, 0.2, 0.2],
        [1, 0.90, 0, 0, 0.3, 0.3],
        [-1, 0.99, 0, 0, 1, 1],  # padding row
        [2, 0.49, 0, 0, 0.4, 0.4],
        [1, 0.70, 0.5, 0.5, 0.9, 0.9],
        [0, 0.70, 0.1, 0.1, 0.2, 0.2],
    ]
    top = top_detections(np.array(dets), probability_threshold=0.5, max_objects=3)
    np.testing.assert_array_equal(top[:, 1], [0.90, 0.70, 0.70])
    np.testing.assert_array_equal(top[:, 0], [1, 1, 0])  # ties keep the model's order
    assert len(top_detections(np.array(dets), 0.5, 10)) == 4
    assert as_detection_array([]).shape == (0, 6)
    with pytest.raises(ValueError, match="class_id, score"):
        as_detection_array([[1, 2, 3]])


def test_matching_picks_same_class_highest_iou() -> None:
    obj = np.array([[0, 0.9, 0.2, 0.2, 0.6, 0.6]])
    dets = np.array(
        [
            [1, 0.99, 0.2, 0.2, 0.6, 0.6],  # other class, perfect overlap: ignored
            [0, 0.80, 0.25, 0.2, 0.6, 0.6],  # IoU 0.875
            [0, 0.95, 0.2, 0.2, 0.45, 0.6],  # IoU 0.625: higher score, lower IoU
        ]
    )
    np.testing.assert_allclose(matched_scores(obj, dets, 0.5), [0.80])
    np.testing.assert_allclose(matched_scores(obj, dets, 0.9), [0.0])
    np.testing.assert_allclose(matched_scores(obj, np.zeros((0, 6)), 0.5), [0.0])


def test_context_window() -> None:
    box = np.array([0.25, 0.5, 0.5, 0.75])  # x 8..16, y 8..12 of a 16x32 (H x W) image
    assert context_window(box, 16, 32, 1.0).all()
    only_box = context_window(box, 16, 32, 0.0)
    assert only_box.sum() == 8 * 4 and only_box[8:12, 8:16].all()
    half = context_window(box, 16, 32, 0.5)
    rows, cols = np.nonzero(half)
    # grown half-way to each edge: x 4..24, y 4..14
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (4, 14, 4, 24)
    tiny = context_window(np.array([0.5, 0.5, 0.5, 0.5]), 16, 32, 0.0)
    assert tiny.sum() == 1  # a degenerate box still shows the pixel it sits on


class TestDetectorUnderMasking:
    """The real coloured-shape detector on coalition images: the box moves, disappears, splits."""

    SIZE = 64
    # one red square, x 16..48 (columns), y 20..44; superpixels are vertical strips
    EDGES = (0, 16, 28, 36, 48, 64)

    @pytest.fixture
    def scene(self) -> dict:
        image = background(np.random.default_rng(3), self.SIZE, self.SIZE)
        draw_shape(image, "square", COLOURS["red"], (31.5, 31.5), 15.5)  # filled x/y 16..47
        segments = np.zeros((self.SIZE, self.SIZE), dtype=np.int32)
        for k, (lo, hi) in enumerate(zip(self.EDGES[:-1], self.EDGES[1:], strict=True)):
            segments[:, lo:hi] = k
        players = players_for(segments, 5)
        detector = ShapeDetector()
        original = np.array(detector.predict(image[None])[0])
        assert len(original) == 1 and original[0, 0] == 0  # one red object
        np.testing.assert_allclose(original[0, 2:], [16 / 64, 16 / 64, 48 / 64, 48 / 64])
        baseline = white_noise(self.SIZE, self.SIZE, seed=0)
        return {
            "image": image,
            "players": players,
            "detector": detector,
            "original": original,
            "baseline": baseline,
        }

    def detections(self, scene: dict, present: list[int]) -> np.ndarray:
        mask = np.zeros((1, 5))
        mask[0, present] = 1
        coalition = render_coalitions(scene["image"], scene["baseline"], scene["players"], mask)
        return np.array(scene["detector"].predict(coalition)[0]).reshape(-1, 6)

    def test_all_present_matches_itself(self, scene: dict) -> None:
        dets = self.detections(scene, [0, 1, 2, 3, 4])
        np.testing.assert_allclose(matched_scores(scene["original"], dets, 0.5), scene["original"][:, 1])

    def test_box_moves_and_still_matches(self, scene: dict) -> None:
        dets = self.detections(scene, [0, 1, 2, 4])  # right part of the square hidden
        red = dets[dets[:, 0] == 0]
        assert len(red) == 1
        np.testing.assert_allclose(red[0, 2:], [16 / 64, 16 / 64, 36 / 64, 48 / 64])  # shrunk to the left
        overlap = iou(scene["original"][0, 2:], red[:, 2:])[0]
        assert overlap == pytest.approx(20 / 32)
        score = matched_scores(scene["original"], dets, 0.5)[0]
        assert score == pytest.approx(red[0, 1]) and 0 < score < scene["original"][0, 1]
        assert matched_scores(scene["original"], dets, 0.7)[0] == 0.0  # below a stricter threshold

    def test_box_disappears(self, scene: dict) -> None:
        dets = self.detections(scene, [0, 4])
        assert not (dets[:, 0] == 0).any()
        assert matched_scores(scene["original"], dets, 0.5)[0] == 0.0

    def test_box_splits(self, scene: dict) -> None:
        dets = self.detections(scene, [0, 1, 3, 4])  # the middle band hidden: two pieces
        red = dets[dets[:, 0] == 0]
        assert len(red) == 2
        lefts = np.sort(red[:, 2] * 64)
        np.testing.assert_allclose(lefts, [16, 36], atol=1)  # a noise pixel may join a piece's edge
        overlaps = iou(scene["original"][0, 2:], red[:, 2:])
        np.testing.assert_allclose(overlaps, [12 / 32, 12 / 32], atol=1 / 32)
        assert matched_scores(scene["original"], dets, 0.5)[0] == 0.0  # no piece overlaps enough
        assert matched_scores(scene["original"], dets, 0.3)[0] == pytest.approx(red[:, 1].max())
