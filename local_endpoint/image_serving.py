"""Serving one request to an image model: decode the images, predict, encode (no I/O)."""

from __future__ import annotations

import time

from local_endpoint.errors import ModelFailure
from local_endpoint.image_models import ImageModel, respond
from local_endpoint.images import decode_images


def infer_images(
    model: ImageModel,
    body: bytes | bytearray,
    content_type: str,
    accept: str,
    timings: dict[str, float] | None = None,
) -> tuple[bytes, str]:
    """Decode ``body`` (``image/jpeg``, ``image/png`` or ``application/x-npy``), run ``model``, encode.

    Returns ``(body, response content type)``; ``timings`` gets ``parse`` and ``predict``
    seconds (``predict`` includes encoding the answer).
    """
    t0 = time.perf_counter()
    images = decode_images(body, content_type)
    t1 = time.perf_counter()
    try:
        payload, out_type = respond(model, images, accept)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ModelFailure(f"the image model raised {type(exc).__name__}: {exc}") from exc
    if timings is not None:
        timings.update(parse=t1 - t0, predict=time.perf_counter() - t1)
    return payload, out_type
