"""``dataset_type: application/x-image``: JPEG/PNG files in a folder or under an S3 prefix.

Every ``.jpg``/``.jpeg``/``.png`` file (extension case-insensitive) found recursively at the
dataset location is decoded with Pillow into an H×W×3 ``uint8`` RGB array, as Clarify does
("loads each image file to a 3-dimensional NumPy array ... height, width, and RGB values of
each pixel"). PNGs with alpha, palette and greyscale images are converted to RGB. Other files
are skipped (and counted in the log). Images are read one at a time (:func:`iter_images`) so
that a large data set is never held in memory.

Each image has a ``name``: its path relative to the dataset folder (or S3 prefix), with ``/``
separators. Output files use its ``stem``: the name without extension, ``/`` replaced by
``_`` (``064.elephant-101_064_0003.jpg`` → ``064.elephant-101_064_0003``; a file
``cats/001.png`` in a sub-folder → ``cats_001``), so images in different sub-folders with the
same file name do not overwrite each other's heat maps.

The SHAP baseline is a mask image given as a URI (resized to each input image, Pillow's
bicubic filter) or, by default, white noise at the image's resolution (spec §2.1).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from analyzer import storage
from analyzer.datasets.model import Dataset
from analyzer.errors import DatasetError
from analyzer.explain.images.records import ImageRecord, baseline_for, output_stem, resize_image, white_noise
from analyzer.extras import require

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageRecord",
    "baseline_for",
    "decode_image",
    "image_baseline",
    "image_dataset",
    "is_image_name",
    "iter_images",
    "list_images",
    "load_baseline_image",
    "load_images",
    "output_stem",
    "resize_image",
    "white_noise",
]

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_FEATURE = "Image explanations (dataset_type application/x-image)"


def is_image_name(name: str) -> bool:
    """True for a ``.jpg``/``.jpeg``/``.png`` file name (any case)."""
    return name.lower().endswith(IMAGE_EXTENSIONS)


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode JPEG/PNG bytes into an (H, W, 3) uint8 RGB array; :class:`DatasetError` names ``name``."""
    require("image", _FEATURE)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = img.convert("RGB")
            return np.asarray(rgb, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DatasetError(f"Image file '{name}' cannot be decoded as JPEG or PNG: {exc}") from None


def _relative_names(uri: str, files: list[str]) -> list[str]:
    """Names of ``files`` relative to the dataset folder / S3 prefix ``uri``."""
    if storage.is_s3(uri):
        prefix = uri if uri.endswith("/") else uri + "/"
        names = []
        for f in files:
            if f == uri:
                names.append(PurePosixPath(f).name)
            elif f.startswith(prefix):
                names.append(f[len(prefix) :])
            else:  # a prefix that is not a folder: s3://b/img matches s3://b/img_2/x.jpg
                parent = uri.rsplit("/", 1)[0] + "/"
                names.append(f[len(parent) :])
        return names
    root = Path(uri)
    if root.is_file():
        return [root.name]
    return [Path(f).relative_to(root).as_posix() for f in files]


def list_images(uri: str | Path) -> list[tuple[str, str]]:
    """``(uri, name)`` of every image at the dataset location, sorted by name.

    Raises :class:`DatasetError` when the location holds no ``.jpg``/``.jpeg``/``.png`` file.
    """
    uri = str(uri)
    files = storage.list_files(uri)
    names = _relative_names(uri, files)
    found = [(f, n) for f, n in zip(files, names, strict=True) if is_image_name(n)]
    skipped = len(files) - len(found)
    if skipped:
        log.warning("Skipped %d file(s) at %s that are not .jpg, .jpeg or .png", skipped, uri)
    if not found:
        raise DatasetError(
            f"No image files (.jpg, .jpeg, .png) found at '{uri}' for dataset_type application/x-image"
        )
    return sorted(found, key=lambda item: item[1])


def iter_images(uri: str | Path, names: Sequence[str] | None = None) -> Iterator[ImageRecord]:
    """Decode the images at ``uri`` one at a time, in name order (only ``names`` when given)."""
    require("image", _FEATURE)
    listed = list_images(uri)
    if names is not None:
        wanted = set(names)
        unknown = sorted(wanted - {n for _, n in listed})
        if unknown:
            raise DatasetError(f"Image(s) not found at '{uri}': {', '.join(unknown)}")
        listed = [(f, n) for f, n in listed if n in wanted]
    for file_uri, name in listed:
        yield ImageRecord(name, file_uri, decode_image(storage.read_bytes(file_uri), name))


def load_images(uri: str | Path, names: Sequence[str] | None = None) -> list[ImageRecord]:
    """All images at ``uri`` (see :func:`iter_images`)."""
    return list(iter_images(uri, names))


def load_baseline_image(uri: str | Path) -> np.ndarray:
    """The ``methods.shap.baseline`` mask image (a file or ``s3://`` URI) as (H, W, 3) uint8."""
    require("image", _FEATURE)
    uri = str(uri)
    try:
        data = storage.read_bytes(uri)
    except DatasetError as exc:
        raise DatasetError(f"methods.shap.baseline: cannot read the baseline image: {exc}") from None
    try:
        return decode_image(data, uri)
    except DatasetError as exc:
        raise DatasetError(f"methods.shap.baseline: {exc}") from None


def image_baseline(uri: str | None) -> np.ndarray | None:
    """The mask image at ``uri`` (``methods.shap.baseline``, a file or S3 URI), or None for white noise."""
    return None if uri is None else load_baseline_image(uri)


def image_dataset(uri: str) -> Dataset:
    """The image dataset at ``uri`` as a :class:`Dataset`: one row per image (column ``image``: its name).

    Only the names are read here; :func:`iter_images` decodes the pixels one image at a time
    while they are explained. Raises :class:`DatasetError` when ``uri`` holds no image.
    """
    import pandas as pd

    names = [name for _, name in list_images(uri)]
    log.info("Found %d image(s) at %s", len(names), uri)
    return Dataset(frame=pd.DataFrame({"image": names}), feature_names=[], uri=uri)
