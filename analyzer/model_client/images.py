"""Model client for image models: JPEG/PNG/NPY requests, class scores and detections back.

Requests (spec §2.3): ``image/jpeg`` (Clarify's default) and ``image/png`` carry one image per
request; ``application/x-npy`` carries a batch, ``numpy.save`` of an (N, H, W, 3) ``uint8``
array (loadable with ``np.load(BytesIO(body), allow_pickle=True)``, as Clarify's example
server does), as many images per request as fit the payload limit. JPEG is written with
Pillow's default settings (quality 75), INFERRED to be what Clarify's Python container does.

Responses:

* classification — the per-image class probabilities, parsed like tabular scores
  (``accept_type`` JSON, JSON Lines or CSV; ``probability`` locator optional): a flat list for
  one image (``[0.1, 0.9]``, the built-in algorithm's answer) or one list per image.
* detection — per image a list of ``[class_id, score, x0, y0, x1, y1]`` rows (normalised
  box). JSON: one list per image (``[[[...], ...], ...]``), or for a one-image request also the
  image's rows alone (``[[...], ...]``); ``{"prediction": [...]}`` (the built-in SageMaker
  object-detection answer) is unwrapped, and a ``probability`` JMESPath, when given, picks the
  list out of any other document. JSON Lines: one line per image. Rows with class id ``-1``
  (padding) are dropped.

Batching, pipelining, retries and per-record fallback are :class:`ModelClient`'s.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from analyzer.errors import ModelError
from analyzer.extras import require
from analyzer.model_client.client import ModelClient, RowSource
from analyzer.model_client.parse import ResponseFormatError, decode_text
from analyzer.model_client.serialize import JSON, JSONLINES, NPY
from analyzer.model_client.transport import Transport
from analyzer.plan.model import ClientSettings

JPEG = "image/jpeg"
PNG = "image/png"
IMAGE_CONTENT_TYPES = (JPEG, PNG, NPY)
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG"}
DETECTIONS = "detections"


def encode_image(image: np.ndarray, content_type: str) -> bytes:
    """One (H, W, 3) uint8 image as JPEG or PNG bytes (Pillow defaults)."""
    require("image")
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="RGB").save(
        buffer, format=_PIL_FORMATS[content_type]
    )
    return buffer.getvalue()


def encode_image_batch(images: np.ndarray) -> bytes:
    """An (N, H, W, 3) uint8 batch as ``application/x-npy``: the bytes ``numpy.save`` writes.

    The header and the pixels are joined in one copy (``np.save`` into a ``BytesIO`` copies
    the pixels three times, which showed in the benchmark at thousands of images per image).
    """
    array = np.ascontiguousarray(images, dtype=np.uint8)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    return b"".join([header.getvalue(), array.reshape(-1).data])


def _is_row(value: Any) -> bool:
    """A detection row: a non-empty list of scalars (no nested lists)."""
    return isinstance(value, list) and bool(value) and not any(isinstance(v, list | dict) for v in value)


def _detection_rows(value: Any, what: str) -> np.ndarray:
    from analyzer.explain.images.objects import as_detection_array

    try:
        return as_detection_array(value if value != [] else np.zeros((0, 6)), what)
    except (ValueError, TypeError) as exc:
        raise ResponseFormatError(f"{exc}: {json.dumps(value)[:200]}") from None


def per_image_detections(doc: Any, n_images: int) -> list[np.ndarray]:
    """Split a parsed detection document into one (d, 6) array per image (see the module docstring)."""
    if isinstance(doc, dict) and "prediction" in doc:
        doc = doc["prediction"]
    if not isinstance(doc, list):
        raise ResponseFormatError(
            "the detection response is not a list of [class_id, score, x0, y0, x1, y1] rows per image "
            f"(set predictor.probability to a JMESPath that selects it): {json.dumps(doc)[:200]}"
        )
    if not doc:
        per_image: list[Any] = [[]] if n_images == 1 else []
    elif all(_is_row(item) for item in doc):
        per_image = [doc]  # one image's rows without the batch list
    else:
        per_image = doc
    if len(per_image) != n_images:
        raise ResponseFormatError(f"the detection response holds {len(per_image)} images for {n_images}")
    return [_detection_rows(rows, f"the detections of image {i}") for i, rows in enumerate(per_image)]


class ImageModelClient(ModelClient):
    """:class:`ModelClient` for images: ``classify(images)`` and ``detect(images)``.

    ``images`` is an (n, H, W, 3) uint8 array or anything sliceable like one (the coalition
    images of :class:`analyzer.explain.images.segments.CoalitionImages`, rendered one request
    at a time). ``content_type`` is ``image/jpeg`` (default), ``image/png`` or
    ``application/x-npy``; ``accept_type`` defaults to ``application/json``.
    """

    content_types = IMAGE_CONTENT_TYPES
    data_kind = "image data"

    def __init__(
        self,
        transport: Transport,
        settings: ClientSettings | None = None,
        *,
        content_type: str | None = None,
        accept_type: str | None = None,
        feature_names: Sequence[str] = ("image",),
        progress: bool | None = False,
        **options: Any,
    ) -> None:
        """``settings`` as resolved by the analysis plan; or, without it, the request and
        response types plus any other :class:`ClientSettings` field as keywords (tests,
        benchmarks, examples)."""
        require("image", "Image requests (image/jpeg, image/png, application/x-npy)")
        if settings is None:
            settings = ClientSettings(
                content_type=(content_type or JPEG).lower(), accept_type=accept_type or JSON, **options
            )
        super().__init__(transport, settings, feature_names=feature_names, progress=progress)
        self._single_record = self.content_type != NPY
        self._fast = False

    def __enter__(self) -> ImageModelClient:
        return self

    # --- public API ------------------------------------------------------------------
    def classify(self, images: RowSource) -> np.ndarray:
        """Class scores (n, k) float64 for each image, in order."""
        parts = self._run(self._check_images(images), "scores")
        if not parts:
            return np.empty((0, 0), dtype=np.float64)
        widths = {p.shape[1] for p in parts}
        if len(widths) != 1:
            raise ModelError(
                f"The model endpoint returned different numbers of class scores per image: {sorted(widths)}"
            )
        return np.concatenate(parts, axis=0)

    def detect(self, images: RowSource) -> list[np.ndarray]:
        """Detection rows (d_i, 6) ``[class_id, score, x0, y0, x1, y1]`` for each image, in order."""
        if self.accept_type not in (JSON, JSONLINES):
            raise ModelError(
                f"predictor.accept_type {self.accept_type} cannot carry object detections; "
                "use application/json or application/jsonlines"
            )
        return [rows for part in self._run(self._check_images(images), DETECTIONS) for rows in part]

    # --- ModelClient hooks -----------------------------------------------------------
    def _check_images(self, images: RowSource) -> RowSource:
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[3] != 3:
            raise ValueError(f"images must have shape (n, H, W, 3), got {shape}")
        if isinstance(images, np.ndarray) and images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 RGB, got {images.dtype}")
        return images

    def _bytes_per_row(self, rows: RowSource) -> float:
        return float(np.prod(rows.shape[1:])) + 128.0

    def _encode_configured(self, rows: np.ndarray) -> tuple[bytes, str, str, bool]:
        if self.content_type == NPY:
            body = encode_image_batch(rows)
        else:
            if len(rows) != 1:
                raise ValueError(f"{self.content_type} requests carry one image, got {len(rows)}")
            body = encode_image(rows[0], self.content_type)
        return body, self.content_type, self.accept_type, False

    def _parse(self, body: bytes, n: int, mode: str, fast: bool) -> Any:
        if mode != DETECTIONS:
            return super()._parse(body, n, mode, fast)
        text = decode_text(body)
        locator = self.parser.score
        if self.accept_type == JSONLINES:
            lines = [line for line in text.splitlines() if line.strip()]
            if len(lines) != n:
                raise ResponseFormatError(f"the JSON Lines response has {len(lines)} lines for {n} images")
            docs = [self._load(line) for line in lines]
            if locator is not None and not isinstance(locator, int):
                docs = [locator.search(d) for d in docs]
            return [per_image_detections(d, 1)[0] for d in docs]
        doc = self._load(text)
        if locator is not None and not isinstance(locator, int):
            doc = locator.search(doc)
        return per_image_detections(doc, n)

    @staticmethod
    def _load(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ResponseFormatError(f"the response is not JSON: {exc}") from None
