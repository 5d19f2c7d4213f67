"""The report section of image explanations: the heat-map JPEGs named in ``explanations.image_shap``.

The images are embedded as ``data:`` URIs, so the HTML and PDF stay self-contained; the
notebook shows the same JPEGs as saved outputs of cells that display the files next to it.
At most :data:`MAX_IMAGES` input images are shown (the rest are counted in the text).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

MAX_IMAGES = 20


def image_section(analysis: dict[str, Any]) -> dict[str, Any] | None:
    """``explanations.image_shap`` when present and well-formed, else None."""
    section = (analysis.get("explanations") or {}).get("image_shap")
    if not isinstance(section, dict) or not isinstance(section.get("images"), list):
        return None
    return section


def _caption(item: dict[str, Any], obj: dict[str, Any] | None) -> str:
    if obj is None:
        score = item.get("score")
        label = item.get("predicted_label", "?")
        return f"{item.get('image', '?')}: {label}" + (f" ({score:.3f})" if isinstance(score, float) else "")
    score = obj.get("score")
    text = f"{item.get('image', '?')}: box {obj.get('box', '?')}, {obj.get('label', '?')}"
    return text + (f" ({score:.3f})" if isinstance(score, float) else "")


def heatmap_entries(section: dict[str, Any]) -> list[tuple[str, str]]:
    """``(caption, file name)`` of every heat map (and objects image) to show, in report order."""
    out: list[tuple[str, str]] = []
    for item in section["images"][:MAX_IMAGES]:
        if not isinstance(item, dict):
            continue
        objects = item.get("objects")
        if isinstance(objects, list):
            if item.get("objects_image"):
                out.append((f"{item.get('image', '?')}: explained objects", str(item["objects_image"])))
            for obj in objects:
                if isinstance(obj, dict) and obj.get("heatmap"):
                    out.append((_caption(item, obj), str(obj["heatmap"])))
        elif item.get("heatmap"):
            out.append((_caption(item, None), str(item["heatmap"])))
    return out


def data_uri(path: Path) -> str:
    """A ``data:image/jpeg;base64,...`` URI of a JPEG file."""
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def intro_text(section: dict[str, Any]) -> str:
    """The paragraph above the heat maps."""
    n = len(section["images"])
    kind = section.get("model_type", "")
    what = (
        "each explained object (boxes by confidence)"
        if kind == "OBJECT_DETECTION"
        else "the predicted class of each image"
    )
    shown = f" The first {MAX_IMAGES} of {n} images are shown." if n > MAX_IMAGES else ""
    return (
        f"Kernel SHAP over superpixels ({section.get('num_segments', '?')} requested per image) for {what}. "
        "Left: the superpixels; right: their SHAP values, blue where a superpixel raises the score and "
        f"red where it lowers it. Per-superpixel values are in {section.get('explanation_results_path', '')}."
        + shown
    )


def notebook_code(files: list[str]) -> str:
    """The notebook cell that displays the heat-map files (paths relative to the notebook)."""
    return (
        "from IPython.display import Image, display\n\n"
        f"for name in {files!r}:\n"
        "    display(Image(filename=name))"
    )
