"""examples/shapes_images: the committed images and configs are what make_example.py writes.

The example runs end to end through ``clarify-runner run`` in tests/test_image_cli.py.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
from PIL import Image

from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "shapes_images"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"shapes_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_images_and_configs_are_reproducible(tmp_path) -> None:
    make = _module("make_example")
    written = make.write_images(tmp_path)
    assert len(written) == 9
    for path in written:
        committed = EXAMPLE / "images" / path.relative_to(tmp_path)
        np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(committed)))
    for name, config in (
        ("analysis_config_classification.json", make.CLASSIFICATION_CONFIG),
        ("analysis_config_detection.json", make.DETECTION_CONFIG),
    ):
        assert json.loads((EXAMPLE / name).read_text()) == config
