"""application/x-image datasets: JPEG/PNG files in a folder (recursive) or under an S3 prefix."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from analyzer import extras
from analyzer.datasets.images import (
    baseline_for,
    image_baseline,
    iter_images,
    list_images,
    load_baseline_image,
    load_images,
    output_stem,
    white_noise,
)
from analyzer.errors import DatasetError
from tests._dataset_helpers import aws  # noqa: F401


def _encode(array: np.ndarray, fmt: str, mode: str | None = None) -> bytes:
    image = Image.fromarray(array)
    if mode is not None:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def pixels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(12, 20, 3), dtype=np.uint8)


def test_folder_is_read_recursively_in_name_order(tmp_path, pixels) -> None:
    files = {
        "b.png": _encode(pixels, "PNG"),
        "a/x.JPG": _encode(pixels, "JPEG"),
        "a/deeper/y.jpeg": _encode(pixels, "JPEG"),
        "rgba.png": _encode(pixels, "PNG", "RGBA"),
        "grey.png": _encode(pixels, "PNG", "L"),
        "notes.txt": b"not an image",
        "_SUCCESS": b"",
    }
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    records = load_images(tmp_path)
    assert [r.name for r in records] == ["a/deeper/y.jpeg", "a/x.JPG", "b.png", "grey.png", "rgba.png"]
    assert [r.stem for r in records] == ["a_deeper_y", "a_x", "b", "grey", "rgba"]
    for r in records:
        assert r.array.shape == (12, 20, 3) and r.array.dtype == np.uint8
    np.testing.assert_array_equal(records[2].array, pixels)  # PNG is lossless
    np.testing.assert_array_equal(records[4].array, pixels)  # alpha dropped
    grey = records[3].array
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    decoded = np.asarray(Image.open(io.BytesIO(files["a/x.JPG"])).convert("RGB"))
    np.testing.assert_array_equal(records[1].array, decoded)
    assert [r.name for r in iter_images(tmp_path, names=["b.png"])] == ["b.png"]
    with pytest.raises(DatasetError, match="Image\\(s\\) not found at .*: c.png"):
        list(iter_images(tmp_path, names=["c.png"]))


def test_single_file_and_errors_name_the_file(tmp_path, pixels) -> None:
    (tmp_path / "one.png").write_bytes(_encode(pixels, "PNG"))
    assert [n for _, n in list_images(tmp_path / "one.png")] == ["one.png"]
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(DatasetError, match="Image file 'broken.jpg' cannot be decoded"):
        load_images(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "data.csv").write_text("1,2\n")
    with pytest.raises(DatasetError, match="No image files \\(.jpg, .jpeg, .png\\) found at"):
        list_images(empty)


def test_s3_prefix(aws, pixels) -> None:  # noqa: F811
    aws.put_object(Bucket="bucket", Key="imgs/cats/1.png", Body=_encode(pixels, "PNG"))
    aws.put_object(Bucket="bucket", Key="imgs/2.jpg", Body=_encode(pixels, "JPEG"))
    aws.put_object(Bucket="bucket", Key="imgs/readme.md", Body=b"x")
    aws.put_object(Bucket="bucket", Key="imgsX/3.png", Body=_encode(pixels, "PNG"))
    aws.put_object(Bucket="bucket", Key="noise.png", Body=_encode(pixels, "PNG"))
    records = load_images("s3://bucket/imgs/")
    assert [(r.name, r.stem) for r in records] == [("2.jpg", "2"), ("cats/1.png", "cats_1")]
    np.testing.assert_array_equal(records[1].array, pixels)
    # a prefix without the slash also matches its siblings (S3Prefix), named from the parent folder
    assert [n for _, n in list_images("s3://bucket/imgs")] == [
        "2.jpg",
        "cats/1.png",
        "imgsX/3.png",
    ]
    np.testing.assert_array_equal(load_baseline_image("s3://bucket/noise.png"), pixels)


def test_baseline_image_is_resized_and_default_is_white_noise(tmp_path, pixels) -> None:
    (tmp_path / "mask.png").write_bytes(_encode(pixels, "PNG"))
    mask = load_baseline_image(tmp_path / "mask.png")
    image = np.zeros((30, 40, 3), dtype=np.uint8)
    resized = baseline_for(image, mask)
    assert resized.shape == (30, 40, 3) and resized.dtype == np.uint8
    np.testing.assert_array_equal(baseline_for(pixels, mask), pixels)
    noise = baseline_for(image, None, seed=5)
    np.testing.assert_array_equal(noise, white_noise(30, 40, seed=5))
    assert noise.std() > 60  # uniform 0..255
    assert not np.array_equal(white_noise(30, 40, seed=5), white_noise(30, 40, seed=6))
    with pytest.raises(DatasetError, match="methods.shap.baseline: cannot read the baseline image"):
        load_baseline_image(tmp_path / "missing.png")
    assert image_baseline(None) is None
    np.testing.assert_array_equal(image_baseline(str(tmp_path / "mask.png")), pixels)


def test_output_stem() -> None:
    assert output_stem("064.elephant-101_064_0003.jpg") == "064.elephant-101_064_0003"
    assert output_stem("cats/001.png") == "cats_001"


def test_missing_extra_is_named(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "skimage", None)  # an import that fails
    with pytest.raises(
        extras.MissingExtraError,
        match=r"^Image explanations \(dataset_type application/x-image\) needs the 'image' extra: "
        r"pip install 'clarify-runner\[image\]' \(missing module: skimage\)$",
    ):
        extras.require("image")
