"""Heat-map and detection images (pure: arrays in, JPEG bytes out; no files).

As in Clarify's result images (IC notebook: "The result images shows the segmented image and
the heatmap ... Shades of Blue: positive Shapley values ... Shades of Red: negative"), a heat
map is two panels side by side: the image with its superpixel borders, and the image in grey
under a blue (positive) / red (negative) overlay of each superpixel's SHAP value, on a scale
symmetric around 0. For an object the box is drawn on both panels. Drawn with matplotlib's
object API (no pyplot state), saved as JPEG through Pillow.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from analyzer.extras import require

HEAT_CMAP = "RdBu"  # low (negative) = red, high (positive) = blue
BOX_COLOURS = ("#ffbf00", "#00e5ff", "#ff4fd8", "#7cff4f", "#ff8c1a", "#b18cff")
_PANEL_INCHES = 4.0
_JPEG_QUALITY = 90


def pixel_values(segments: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-pixel map (H, W) of per-superpixel ``values`` (num_segments,)."""
    return np.asarray(values, dtype=np.float64)[segments]


def _figure(height: int, width: int, panels: int) -> Figure:
    aspect = height / max(width, 1)
    return Figure(figsize=(_PANEL_INCHES * panels + 0.8, _PANEL_INCHES * aspect + 0.7), dpi=100)


def _jpeg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="jpeg", bbox_inches="tight", pad_inches=0.1, pil_kwargs={"quality": _JPEG_QUALITY}
    )
    return buffer.getvalue()


def _box(ax: Axes, box: Sequence[float], height: int, width: int, colour: str, label: str | None) -> None:
    x0, y0, x1, y1 = (float(v) for v in box)
    ax.add_patch(
        Rectangle(
            (x0 * width - 0.5, y0 * height - 0.5),
            (x1 - x0) * width,
            (y1 - y0) * height,
            fill=False,
            edgecolor=colour,
            linewidth=2.0,
        )
    )
    if label:
        ax.text(
            x0 * width,
            y0 * height,
            label,
            color="black",
            fontsize=8,
            va="bottom",
            bbox={"facecolor": colour, "edgecolor": "none", "pad": 1.5},
        )


def heatmap_jpeg(
    image: np.ndarray,
    segments: np.ndarray,
    values: np.ndarray,
    title: str,
    box: Sequence[float] | None = None,
) -> bytes:
    """The two-panel heat map of one explained output (``values`` per superpixel) as JPEG bytes."""
    require("image")
    from skimage.segmentation import mark_boundaries

    height, width = image.shape[:2]
    heat = pixel_values(segments, values)
    limit = float(np.max(np.abs(heat))) or 1.0
    grey = image.astype(np.float64).mean(axis=2) / 255.0
    fig = _figure(height, width, 2)
    left, right = fig.subplots(1, 2)
    left.imshow(mark_boundaries(image, segments, color=(1.0, 1.0, 0.0)))
    left.set_title("Superpixels", fontsize=9)
    right.imshow(grey, cmap="gray", vmin=0.0, vmax=1.0)
    shown = right.imshow(heat, cmap=HEAT_CMAP, vmin=-limit, vmax=limit, alpha=0.6)
    right.set_title("SHAP value (blue +, red \u2212)", fontsize=9)
    for ax in (left, right):
        ax.set_axis_off()
        if box is not None:
            _box(ax, box, height, width, BOX_COLOURS[0], None)
    fig.colorbar(shown, ax=right, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return _jpeg(fig)


def objects_jpeg(
    image: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[str], title: str
) -> bytes:
    """The image with every explained object's box and label drawn, as JPEG bytes."""
    height, width = image.shape[:2]
    fig = _figure(height, width, 1)
    ax = fig.subplots(1, 1)
    ax.imshow(image)
    ax.set_axis_off()
    for k, (box, label) in enumerate(zip(boxes, labels, strict=True)):
        _box(ax, box, height, width, BOX_COLOURS[k % len(BOX_COLOURS)], label)
    fig.suptitle(title, fontsize=10)
    return _jpeg(fig)
