"""Object detection: picking the objects to explain, matching them in masked images, context windows.

Pure computation. A detection is a row ``[class_id, score, x0, y0, x1, y1]`` with the box
corners normalised by the image width and height, as Clarify expects from the model (spec
§2.3). Rows with a negative class id are padding (gluoncv pads with ``-1``) and are dropped.

Choices where the spec is open (documented in the README, "Image explanations"):

* **Objects explained**: the detections with ``score >= probability_threshold`` ("filters out
  objects detected with confidence scores lower than the threshold value"), sorted by score
  (highest first, ties in model order), at most ``max_objects``; box ``k`` is the k-th of them.
* **Matching** (``iou_threshold``): in a masked image, object ``o`` is found again by the
  detections of the same class whose box has IoU >= ``iou_threshold`` with ``o``'s original
  box; of those, the one with the highest IoU (then the highest score) counts, and the value of
  the coalition is its score. No such detection: the value is 0. So a box that moves a little
  keeps its score, a box that disappears or splits into pieces that each overlap the original
  less than the threshold gives 0.
* **Context** (``context`` in [0, 1]): the part of the image around the box that stays
  visible. The visible window is the box grown towards each image edge by ``context`` times
  the distance to that edge: ``context = 1`` keeps the whole image (Clarify: "1 to mask
  nothing"), ``context = 0`` only the box ("0 to mask everything"), ``0.5`` half the margin on
  every side. Pixels outside the window always show the baseline, and only the superpixels that
  reach into the window are players (the others get SHAP value 0).
"""

from __future__ import annotations

import numpy as np

DETECTION_COLUMNS = 6


def as_detection_array(rows: object, what: str = "detections") -> np.ndarray:
    """Float64 (d, 6) array of detection rows; padding rows (class id < 0) dropped.

    Raises ``ValueError`` naming ``what`` when the rows are not lists of at least 6 numbers.
    """
    arr = np.asarray(rows, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, DETECTION_COLUMNS))
    if arr.ndim != 2 or arr.shape[1] < DETECTION_COLUMNS:
        raise ValueError(
            f"{what} must be rows of [class_id, score, x0, y0, x1, y1], got an array of shape {arr.shape}"
        )
    arr = arr[:, :DETECTION_COLUMNS]
    return arr[arr[:, 0] >= 0]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box (4,) with each of ``boxes`` (d, 4); corners x0, y0, x1, y1.

    IoU does not change when both axes are scaled, so normalised and pixel boxes give the same
    values. Empty boxes have IoU 0.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def top_detections(detections: np.ndarray, probability_threshold: float, max_objects: int) -> np.ndarray:
    """The objects to explain: score >= threshold, highest score first (stable), at most ``max_objects``."""
    dets = as_detection_array(detections)
    kept = dets[dets[:, 1] >= probability_threshold]
    order = np.argsort(-kept[:, 1], kind="stable")
    return kept[order][:max_objects]


def matched_scores(objects: np.ndarray, detections: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Per object (k, 6): the score of its match among ``detections`` (d, 6), 0 when none matches."""
    out = np.zeros(len(objects))
    if len(detections) == 0:
        return out
    for k, obj in enumerate(objects):
        same = detections[detections[:, 0] == obj[0]]
        if len(same) == 0:
            continue
        overlaps = iou(obj[2:6], same[:, 2:6])
        ok = overlaps >= iou_threshold
        if not ok.any():
            continue
        candidates = np.flatnonzero(ok)
        # highest IoU first, then highest score
        best = candidates[np.lexsort((-same[candidates, 1], -overlaps[candidates]))[0]]
        out[k] = same[best, 1]
    return out


def pixel_box(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """Pixel bounds ``(row0, row1, col0, col1)`` (end exclusive) of the pixels a normalised box touches."""
    x0, y0, x1, y1 = (float(v) for v in np.clip(box, 0.0, 1.0))
    return _span(y0 * height, y1 * height, height) + _span(x0 * width, x1 * width, width)


def _span(lo: float, hi: float, size: int) -> tuple[int, int]:
    start = min(max(int(np.floor(lo)), 0), size - 1)
    stop = max(min(int(np.ceil(hi)), size), start + 1)
    return start, stop


def context_window(box: np.ndarray, height: int, width: int, context: float) -> np.ndarray:
    """Boolean (H, W): the pixels visible when explaining an object with normalised ``box``.

    The box is grown towards each edge by ``context`` times its distance to that edge (see the
    module docstring); every pixel the grown box touches is visible.
    """
    c = float(np.clip(context, 0.0, 1.0))
    x0, y0, x1, y1 = (float(v) for v in np.clip(box, 0.0, 1.0))
    grown = np.array([x0 * (1 - c), y0 * (1 - c), x1 + c * (1 - x1), y1 + c * (1 - y1)])
    r0, r1, c0, c1 = pixel_box(grown, height, width)
    window = np.zeros((height, width), dtype=bool)
    window[r0:r1, c0:c1] = True
    return window
