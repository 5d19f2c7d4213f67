"""Kernel SHAP over superpixels: exact Shapley values, additivity, shap's KernelExplainer, OD values."""

from __future__ import annotations

import numpy as np
import pytest
import shap

from analyzer.errors import ModelError
from analyzer.explain.images import FunctionPredictor, ImageRecord, ImageSpec, explain_image, explain_images
from analyzer.explain.images.objects import context_window, matched_scores, top_detections
from analyzer.explain.images.records import white_noise
from analyzer.explain.images.segments import players_for, render_coalitions
from local_endpoint.image_models import ShapeDetector
from tests._image_helpers import LABELS, blocks_image, brute_force_shapley, shapes_image, toy_classifier


def _render(image: np.ndarray, baseline: np.ndarray, players, coalition: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros((1, players.count))
    mask[0, list(coalition)] = 1
    return render_coalitions(image, baseline, players, mask)


def test_exact_shapley_values_over_superpixels_equal_brute_force() -> None:
    image = blocks_image(seed=4)
    spec = ImageSpec("IMAGE_CLASSIFICATION", num_segments=9, segment_compactness=10, seed=0)
    explanation = explain_image(ImageRecord("b.png", "b.png", image), spec, FunctionPredictor(toy_classifier))
    count = explanation.num_segments
    assert 2 <= count <= 10
    baseline = white_noise(image.shape[0], image.shape[1], seed=0)
    players = players_for(explanation.segments, count)
    exact = brute_force_shapley(lambda s: toy_classifier(_render(image, baseline, players, s))[0], count)
    target = explanation.targets[0]
    np.testing.assert_allclose(target.values, exact, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(target.expected_value, toy_classifier(baseline[None])[0], rtol=1e-12)
    np.testing.assert_allclose(target.prediction, toy_classifier(image[None])[0], rtol=1e-12)


@pytest.mark.parametrize("use_logit", [False, True])
def test_sampled_values_add_up(use_logit: bool) -> None:
    image = shapes_image(96, seed=2)
    spec = ImageSpec(
        "IMAGE_CLASSIFICATION",
        num_segments=40,
        segment_compactness=5,
        num_samples=150,
        seed=7,
        use_logit=use_logit,
    )
    explanation = explain_image(ImageRecord("s.png", "s.png", image), spec, FunctionPredictor(toy_classifier))
    assert 2**explanation.num_segments - 2 > 150  # sampled, not enumerated
    target = explanation.targets[0]
    baseline = white_noise(96, 96, seed=7)

    def link(p: np.ndarray) -> np.ndarray:
        return np.log(p / (1 - p)) if use_logit else p

    np.testing.assert_allclose(target.expected_value, link(toy_classifier(baseline[None])[0]), rtol=1e-12)
    np.testing.assert_allclose(
        target.values.sum(axis=0), link(target.prediction) - target.expected_value, rtol=1e-9, atol=1e-12
    )
    assert explanation.model_rows <= 150 + 2


def test_equals_shap_kernel_explainer_over_superpixel_masks() -> None:
    """Clarify's algorithm as shap users write it: KernelExplainer(f, zeros((1, M))) on ones((1, M))."""
    image = shapes_image(80, seed=5)
    spec = ImageSpec("IMAGE_CLASSIFICATION", num_segments=25, segment_compactness=5, num_samples=120, seed=11)
    explanation = explain_image(ImageRecord("k.png", "k.png", image), spec, FunctionPredictor(toy_classifier))
    count = explanation.num_segments
    baseline = white_noise(80, 80, seed=11)
    players = players_for(explanation.segments, count)

    def f(masks: np.ndarray) -> np.ndarray:
        return toy_classifier(render_coalitions(image, baseline, players, masks))

    np.random.seed(11)
    explainer = shap.KernelExplainer(f, np.zeros((1, count)))
    reference = np.asarray(
        explainer.shap_values(np.ones((1, count)), nsamples=120, l1_reg=False, silent=True)
    )
    np.testing.assert_allclose(explanation.targets[0].values, reference[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(explanation.targets[0].expected_value, explainer.expected_value, rtol=1e-12)


@pytest.mark.parametrize("context", [1.0, 0.4])
def test_detection_values_equal_brute_force(context: float) -> None:
    image = shapes_image(64, seed=1)
    detector = ShapeDetector()
    spec = ImageSpec(
        "OBJECT_DETECTION",
        num_segments=8,
        segment_compactness=10,
        seed=0,
        context=context,
        max_objects=2,
        probability_threshold=0.5,
        label_headers=LABELS,
    )
    explanation = explain_image(
        ImageRecord("d.png", "d.png", image), spec, FunctionPredictor(detect=detector.predict)
    )
    objects = top_detections(np.array(detector.predict(image[None])[0]), 0.5, 2)
    assert [t.rank for t in explanation.targets] == [1, 2]
    baseline = white_noise(64, 64, seed=0)
    for target, obj in zip(explanation.targets, objects, strict=True):
        np.testing.assert_array_equal(target.detection, obj)
        window = None if context == 1.0 else context_window(obj[2:6], 64, 64, context)
        players = players_for(explanation.segments, explanation.num_segments, window)
        assert target.players == players.count <= 10

        def value(s: tuple[int, ...], obj: np.ndarray = obj, players=players) -> np.ndarray:
            found = np.array(detector.predict(_render(image, baseline, players, s))[0]).reshape(-1, 6)
            return matched_scores(obj[None], found, 0.5)

        exact = brute_force_shapley(value, players.count)
        np.testing.assert_allclose(target.values[players.segments], exact, rtol=1e-9, atol=1e-12)
        outside = np.setdiff1d(np.arange(explanation.num_segments), players.segments)
        assert not target.values[outside].any()
        if context == 1.0:
            np.testing.assert_allclose(target.prediction, [obj[1]])  # the full image finds the object again


def test_detection_without_objects_explains_nothing() -> None:
    image = white_noise(48, 48, seed=3) // 4 + 100  # grey noise: no coloured shape
    spec = ImageSpec("OBJECT_DETECTION", num_segments=6, seed=0)
    result = explain_images(
        [ImageRecord("n.png", "n.png", image)], spec, FunctionPredictor(detect=ShapeDetector().predict)
    )
    detections = result.images[0].detections
    assert result.images[0].targets == [] and detections is not None and detections.shape == (0, 6)


def test_label_headers_must_match_the_scores() -> None:
    spec = ImageSpec("IMAGE_CLASSIFICATION", num_segments=4, seed=0, label_headers=("a", "b"))
    with pytest.raises(ModelError, match="returns 3 class scores per image but label_headers names 2"):
        explain_image(ImageRecord("b.png", "b.png", blocks_image()), spec, FunctionPredictor(toy_classifier))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model_type": "SEGMENTATION"}, "model_type must be OBJECT_DETECTION or IMAGE_CLASSIFICATION"),
        ({"num_segments": 0}, "num_segments must be at least 1"),
        ({"segment_compactness": 0}, "segment_compactness must be greater than 0"),
        ({"iou_threshold": 1.5}, "iou_threshold must be between 0 and 1"),
        ({"context": -0.1}, "context must be between 0 and 1"),
        ({"max_objects": 0}, "max_objects must be at least 1"),
        ({"feature_extraction_method": "grid"}, "feature_extraction_method 'grid' is not supported"),
    ],
)
def test_spec_guards_its_invariants(changes: dict, message: str) -> None:
    """The engine's own checks (the plan reports the same problems with key paths first)."""
    with pytest.raises(ValueError, match=message):
        ImageSpec(**{"model_type": "OBJECT_DETECTION", **changes})


def test_bad_detection_rows_are_a_model_error() -> None:
    spec = ImageSpec("OBJECT_DETECTION", num_segments=4, seed=0)
    model = FunctionPredictor(detect=lambda batch: [[[0.0, 0.9, 0.1]] for _ in batch])
    with pytest.raises(ModelError, match="the model's detections for image b.png must be rows of"):
        explain_image(ImageRecord("b.png", "b.png", blocks_image()), spec, model)


def test_images_are_prepared_ahead_in_order_and_errors_surface_in_order() -> None:
    read: list[str] = []

    def images():
        for i in range(3):
            read.append(f"{i}.png")
            if i == 2:
                yield ImageRecord("2.png", "2.png", np.zeros((4, 4), dtype=np.uint8))  # not RGB
            else:
                yield ImageRecord(f"{i}.png", f"{i}.png", blocks_image(seed=i))

    seen: list[str] = []
    spec = ImageSpec("IMAGE_CLASSIFICATION", num_segments=4, num_samples=6, seed=0)
    with pytest.raises(ValueError, match="image 2.png must be \\(H, W, 3\\)"):
        explain_images(
            images(), spec, FunctionPredictor(toy_classifier), on_image=lambda r, e: seen.append(e.name)
        )
    assert seen == ["0.png", "1.png"] and read == ["0.png", "1.png", "2.png"]
