"""Kernel SHAP over superpixels: the pure computation of image explanations.

Each SLIC superpixel is a player. For one image with M players, the values are exactly those
of ``shap.KernelExplainer(f, np.zeros((1, M))).shap_values(np.ones((1, M)), nsamples=...,
l1_reg=False)`` where ``f`` renders each coalition (present superpixels from the image, absent
ones from the baseline image) and asks the model: the coalitions, weights and solver are those
of :func:`analyzer.explain.kernel_shap` (shap 0.51.0 replay, one ``RandomState(seed)`` per
explained image or object group). ``f(zeros)`` is the baseline image's score, so the values
add up to ``f(image) - f(baseline)``.

* ``IMAGE_CLASSIFICATION``: one explanation per image covering every class score (all the
  model's outputs are explained by the same model calls; heat maps show the predicted class).
* ``OBJECT_DETECTION``: the model's detections on the image pick the objects (see
  :mod:`.objects`); each object's value in a coalition is the score of its match. With
  ``context = 1`` one set of coalitions serves all objects of the image (one output column per
  object); with ``context < 1`` each object has its own window, players and coalitions.

The model is anything with ``classify(images)`` / ``detect(images)`` (:class:`ImagePredictor`):
:class:`analyzer.model_client.images.ImageModelClient` over HTTP, or :class:`FunctionPredictor`
around in-process functions. Coalition images are handed over as a lazily rendered
:class:`~.segments.CoalitionImages`, so memory stays bounded whatever the number of samples.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from analyzer.errors import ModelError
from analyzer.explain.images.objects import (
    as_detection_array,
    context_window,
    matched_scores,
    top_detections,
)
from analyzer.explain.images.records import ImageRecord, baseline_for
from analyzer.explain.images.segments import (
    CoalitionImages,
    Players,
    players_for,
    segment_index,
    slic_segments,
)
from analyzer.explain.images.spec import ImageSpec
from analyzer.explain.kernel_shap import kernel_shap

log = logging.getLogger(__name__)


class ImageBatch(Protocol):
    """A batch of images (n, H, W, 3) uint8: an array, or :class:`CoalitionImages` rendered on slicing."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice) -> np.ndarray: ...


class ImagePredictor(Protocol):
    """The model: class scores (n, k) or per-image detection rows (d_i, 6) for a batch of images."""

    def classify(self, images: ImageBatch) -> np.ndarray: ...

    def detect(self, images: ImageBatch) -> list[np.ndarray]: ...


class FunctionPredictor:
    """:class:`ImagePredictor` over in-process functions of (n, H, W, 3) uint8 arrays.

    Batches are rendered ``chunk`` images at a time. Used by tests and benchmarks, and for
    models that run inside the job.
    """

    def __init__(
        self,
        classify: Callable[[np.ndarray], np.ndarray] | None = None,
        detect: Callable[[np.ndarray], list[np.ndarray]] | None = None,
        chunk: int = 64,
    ) -> None:
        self._classify = classify
        self._detect = detect
        self.chunk = chunk
        self.images_seen = 0

    def _chunks(self, images: ImageBatch) -> Iterable[np.ndarray]:
        for start in range(0, len(images), self.chunk):
            part = images[start : start + self.chunk]
            self.images_seen += len(part)
            yield part

    def classify(self, images: ImageBatch) -> np.ndarray:
        """Scores (n, k) of the batch."""
        if self._classify is None:
            raise ModelError("this predictor has no classification function")
        parts = [np.asarray(self._classify(p), dtype=np.float64) for p in self._chunks(images)]
        return np.concatenate(parts) if parts else np.zeros((0, 0))

    def detect(self, images: ImageBatch) -> list[np.ndarray]:
        """Detection rows of each image of the batch."""
        if self._detect is None:
            raise ModelError("this predictor has no detection function")
        out: list[np.ndarray] = []
        for part in self._chunks(images):
            out.extend(np.asarray(d, dtype=np.float64) for d in self._detect(part))
        return out


@dataclass
class ExplainedTarget:
    """The SHAP values of one explained output group of an image.

    IC: every class score (``rank`` 0, ``detection`` None). OD: one object (``rank`` k = its
    1-based position by score, ``detection`` its original row ``[class, score, x0, y0, x1, y1]``).
    ``values`` (num_segments, k) per superpixel (0 for superpixels that are not players);
    ``expected_value`` (k,) the (link of the) value of the empty coalition; ``prediction`` (k,)
    the value of the full coalition, so ``values.sum(0) == link(prediction) - expected_value``.
    """

    values: np.ndarray
    expected_value: np.ndarray
    prediction: np.ndarray
    rank: int = 0
    detection: np.ndarray | None = None
    players: int = 0


@dataclass
class ImageExplanation:
    """The explanation of one image: its superpixels and its explained targets."""

    name: str
    stem: str
    height: int
    width: int
    segments: np.ndarray
    num_segments: int
    targets: list[ExplainedTarget]
    scores: np.ndarray | None = None
    detections: np.ndarray | None = None
    model_rows: int = 0
    model_calls: int = 0
    seconds: float = 0.0


@dataclass
class ImageShapResult:
    """Explanations of every image, with the spec that produced them and totals."""

    spec: ImageSpec
    images: list[ImageExplanation] = field(default_factory=list)
    model_rows: int = 0
    model_calls: int = 0
    seconds: float = 0.0


def _check_scores(scores: np.ndarray, n: int, spec: ImageSpec) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] != n:
        raise ModelError(f"the model returned {scores.shape} class scores for {n} images")
    if spec.label_headers is not None and len(spec.label_headers) != scores.shape[1]:
        raise ModelError(
            f"the model returns {scores.shape[1]} class scores per image but label_headers names "
            f"{len(spec.label_headers)} classes; give one class name per score"
        )
    return scores


def _detection_rows(rows: object, name: str) -> np.ndarray:
    try:
        return as_detection_array(rows, f"the model's detections for image {name}")
    except (ValueError, TypeError) as exc:
        raise ModelError(str(exc)) from None


def _explain_players(
    image: np.ndarray,
    baseline: np.ndarray,
    players: Players,
    value: Callable[[CoalitionImages], np.ndarray],
    spec: ImageSpec,
    use_logit: bool,
    num_segments: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Kernel SHAP over ``players``; values expanded to all segments (num_segments, k)."""
    n_players = players.count

    def predict(masks: np.ndarray) -> np.ndarray:
        return value(CoalitionImages(image, baseline, players, masks))

    result = kernel_shap(
        np.ones((1, n_players)),
        np.zeros((1, n_players)),
        predict,
        num_samples=spec.num_samples,
        seed=spec.seed,
        use_logit=use_logit,
    )
    values = np.zeros((num_segments, result.local.shape[2]))
    values[players.segments] = result.local[0]
    return values, result.expected_value, result.fx[0], result.model_rows, result.model_calls


@dataclass
class _Prepared:
    """An image read and segmented ahead of its explanation."""

    record: ImageRecord
    image: np.ndarray
    segments: np.ndarray
    num_segments: int
    seconds: float


def _prepare(record: ImageRecord, spec: ImageSpec) -> _Prepared:
    start = time.perf_counter()
    image = np.ascontiguousarray(record.array, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image {record.name} must be (H, W, 3) uint8, got {image.shape}")
    segments, count = segment_index(slic_segments(image, spec.num_segments, spec.segment_compactness))
    return _Prepared(record, image, segments, count, time.perf_counter() - start)


def explain_image(
    record: ImageRecord, spec: ImageSpec, model: ImagePredictor, baseline: np.ndarray | None = None
) -> ImageExplanation:
    """Explain one image (see the module docstring); ``baseline`` is the mask image (None: white noise)."""
    return _explain_prepared(_prepare(record, spec), spec, model, baseline)


def _explain_prepared(
    prepared: _Prepared, spec: ImageSpec, model: ImagePredictor, baseline: np.ndarray | None
) -> ImageExplanation:
    start = time.perf_counter() - prepared.seconds
    record, image = prepared.record, prepared.image
    segments, num_segments = prepared.segments, prepared.num_segments
    height, width = image.shape[:2]
    base = baseline_for(image, baseline, spec.seed)
    rows = calls = 0
    targets: list[ExplainedTarget] = []
    scores = detections = None
    if not spec.is_detection:

        def classify(batch: CoalitionImages) -> np.ndarray:
            return _check_scores(model.classify(batch), len(batch), spec)

        values, expected, fx, rows, calls = _explain_players(
            image, base, players_for(segments, num_segments), classify, spec, spec.use_logit, num_segments
        )
        scores = fx
        targets.append(ExplainedTarget(values, expected, fx, players=num_segments))
    else:
        found = model.detect(image[None])
        if len(found) != 1:
            raise ModelError(f"the model returned detections for {len(found)} images instead of 1")
        detections = _detection_rows(found[0], record.name)
        rows, calls = 1, 1
        objects = top_detections(detections, spec.probability_threshold, spec.max_objects)
        if len(objects) == 0:
            log.info(
                "Image %s: no detection with score >= %g; nothing to explain",
                record.name,
                spec.probability_threshold,
            )
        groups = [list(range(len(objects)))] if spec.context >= 1.0 else [[k] for k in range(len(objects))]
        for group in groups if len(objects) else []:
            members = objects[group]
            window = (
                None if spec.context >= 1.0 else context_window(members[0, 2:6], height, width, spec.context)
            )
            players = players_for(segments, num_segments, window)

            def detect(batch: CoalitionImages, members: np.ndarray = members) -> np.ndarray:
                found = model.detect(batch)
                if len(found) != len(batch):
                    raise ModelError(f"the model returned detections for {len(found)} of {len(batch)} images")
                return np.array(
                    [
                        matched_scores(members, _detection_rows(d, record.name), spec.iou_threshold)
                        for d in found
                    ]
                )

            values, expected, fx, n_rows, n_calls = _explain_players(
                image, base, players, detect, spec, False, num_segments
            )
            rows += n_rows
            calls += n_calls
            for j, k in enumerate(group):
                targets.append(
                    ExplainedTarget(
                        values[:, [j]],
                        expected[[j]],
                        fx[[j]],
                        rank=k + 1,
                        detection=objects[k],
                        players=players.count,
                    )
                )
        targets.sort(key=lambda t: t.rank)
    return ImageExplanation(
        name=record.name,
        stem=record.stem,
        height=height,
        width=width,
        segments=segments,
        num_segments=num_segments,
        targets=targets,
        scores=scores,
        detections=detections,
        model_rows=rows,
        model_calls=calls,
        seconds=time.perf_counter() - start,
    )


def explain_images(
    images: Iterable[ImageRecord],
    spec: ImageSpec,
    model: ImagePredictor,
    *,
    baseline: np.ndarray | None = None,
    on_image: Callable[[ImageRecord, ImageExplanation], object] | None = None,
) -> ImageShapResult:
    """Explain every image, in order.

    The next image is read and segmented in a helper thread while the current one is
    explained (its model calls leave the CPU to it), so the model is not idle during SLIC or
    a slow read. ``on_image(record, explanation)`` runs right after each image, e.g.
    :meth:`analyzer.image_outputs.ImageOutputWriter.add`, so that its files are
    written while its pixels are in memory (images are not read twice).
    """
    result = ImageShapResult(spec)
    start = time.perf_counter()
    records = iter(images)

    def next_prepared() -> _Prepared | None:
        record = next(records, None)
        return None if record is None else _prepare(record, spec)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-prepare") as pool:
        ahead = pool.submit(next_prepared)
        i = 0
        while (prepared := ahead.result()) is not None:
            i += 1
            ahead = pool.submit(next_prepared)
            explanation = _explain_prepared(prepared, spec, model, baseline)
            result.images.append(explanation)
            result.model_rows += explanation.model_rows
            result.model_calls += explanation.model_calls
            log.info(
                "Explained image %d (%s): %d superpixels, %d target(s), %d model rows in %.2f s",
                i,
                prepared.record.name,
                explanation.num_segments,
                len(explanation.targets),
                explanation.model_rows,
                explanation.seconds,
            )
            if on_image is not None:
                on_image(prepared.record, explanation)
    result.seconds = time.perf_counter() - start
    return result
