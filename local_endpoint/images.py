"""Image request bodies → (n, H, W, 3) uint8 RGB arrays (pure functions, no I/O).

* ``image/jpeg``, ``image/png`` (and the alias ``image/jpg``): one image per request,
  decoded with Pillow and converted to RGB (alpha dropped, palettes and greyscale expanded).
* ``application/x-npy``: ``numpy.save`` of one (H, W, 3) image or an (N, H, W, 3) batch, as
  Clarify sends it (``allow_pickle=False``; integer or float pixel values in 0..255).
"""

from __future__ import annotations

import io

import numpy as np

from local_endpoint.decode import NPY, _npy_array
from local_endpoint.errors import BadRequest, UnsupportedMediaType

JPEG = "image/jpeg"
PNG = "image/png"
IMAGE_REQUEST_TYPES = (JPEG, PNG, "image/jpg", NPY)


def decode_image_file(body: bytes | bytearray) -> np.ndarray:
    """One JPEG/PNG body → (1, H, W, 3) uint8."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(bytes(body))) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)[None]
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BadRequest(f"cannot decode the image: {exc}") from None


def decode_image_batch(body: bytes | bytearray) -> np.ndarray:
    """An ``application/x-npy`` body holding (H, W, 3) or (N, H, W, 3) pixels → (N, H, W, 3) uint8."""
    try:
        arr = _npy_array(body)
    except (ValueError, OSError, EOFError) as exc:
        raise BadRequest(f"cannot parse the application/x-npy body: {exc}") from None
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[3] not in (3, 4):
        raise BadRequest(
            f"application/x-npy body: expected images of shape (H, W, 3) or (N, H, W, 3), got {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise BadRequest("application/x-npy body: no images")
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind not in "iuf":
        raise BadRequest(f"application/x-npy body: unsupported pixel dtype {arr.dtype}")
    return np.clip(arr, 0, 255).astype(np.uint8)


def decode_images(body: bytes | bytearray, content_type: str) -> np.ndarray:
    """Decode an image request of media type ``content_type`` (already lower-cased, no parameters)."""
    if not body:
        raise BadRequest("the request body is empty")
    if content_type in (JPEG, PNG, "image/jpg"):
        return decode_image_file(body)
    if content_type == NPY:
        return decode_image_batch(body)
    raise UnsupportedMediaType(
        f"unsupported Content-Type {content_type!r} for an image model; supported: "
        f"{', '.join(IMAGE_REQUEST_TYPES)}"
    )
