"""Image SHAP over HTTP: analyzer.explain.images vs shap's Kernel and Partition explainers.

All paths explain the same 224x224 images (a colour patchwork with one shape; 20 SLIC
superpixels requested, compactness 5, ``nsamples`` shap's default ``2M + 2048``) of the
shape-colour classifier behind one local_endpoint server (1 worker), measured in this run:

(a) ``shap.KernelExplainer(f, zeros((1, M)))`` on ``ones((1, M))`` — the superpixel recipe of
    shap's documentation, as Clarify runs it — where ``f`` renders the coalition images with
    numpy and POSTs each one as ``image/jpeg`` (Clarify's default request type) with requests;
(a') the same explainer, ``f`` POSTing ``application/x-npy`` batches (under 6 MB) one after
    the other — the best a straightforward client does with the binary format;
(p) ``shap.explainers.Partition`` with ``shap.maskers.Image`` (the noise image as mask),
    ``max_evals`` = the same number of model evaluations, ``f`` POSTing npy batches;
(b) ``analyzer.explain.images.explain_images`` through ``ImageModelClient`` with
    ``application/x-npy`` (the model accepts it), and (b-jpeg) with ``image/jpeg``;
(c) the model alone: the same client asked for the predictions of exactly the coalition
    images (b) sent, pre-rendered — the time the model (with its transport) needs.

Reported: ms per explained image; (a)/(b) (target >= 5), and the share of (b)'s time spent in
the model, (c)/(b) (target > 70%). (b) and (c) run ``--repeats`` times alternating, best of
each. Also the coalition renderer: the compiled loop vs numpy ``np.where``.
Run: ``.venv/bin/python benchmarks/image_shap.py [--images 4] [--ref-images 2]``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
import shap
from PIL import Image

from analyzer.explain.images import ImageSpec, explain_images
from analyzer.explain.images.records import ImageRecord, white_noise
from analyzer.explain.images.segments import (
    players_for,
    render_coalitions,
    segment_index,
    slic_segments,
)
from analyzer.model_client import HttpTransport
from analyzer.model_client.images import ImageModelClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers
from _image_models import COLOURS, SHAPES, draw_shape, jittered, write_image_classifier_dir
from _model_server import start_endpoint

SIZE = 224
NUM_SEGMENTS = 20
COMPACTNESS = 5
MAX_BODY = int(6 * 1024 * 1024 * 0.9)


def scenes(n: int, seed: int) -> np.ndarray:
    """224x224 images: a 5x5 patchwork of muted colours and one coloured shape.

    SLIC with 20 segments requested and compactness 5 finds 16-20 superpixels on them.
    """
    rng = np.random.default_rng(seed)
    cells = np.arange(SIZE) * 5 // SIZE
    out = []
    for i in range(n):
        tiles = rng.uniform(110, 210, size=(5, 5, 3))
        image = tiles[cells][:, cells].astype(np.uint8)
        radius = float(rng.uniform(40, 70))
        centre = (float(rng.uniform(radius, SIZE - radius)), float(rng.uniform(radius, SIZE - radius)))
        draw_shape(image, SHAPES[i % 3], jittered(rng, list(COLOURS.values())[i % 3]), centre, radius)
        out.append(image)
    return np.stack(out)


def numpy_render(
    image: np.ndarray, baseline: np.ndarray, segments: np.ndarray, masks: np.ndarray
) -> np.ndarray:
    """Coalition images as a shap user writes it: keep present superpixels, baseline elsewhere."""
    present = (np.asarray(masks) != 0)[:, segments]
    return np.where(present[..., None], image, baseline)


def post_jpeg(url: str, session: requests.Session):
    """One ``image/jpeg`` request per image (Pillow defaults), JSON probabilities back."""

    def predict(images: np.ndarray) -> np.ndarray:
        out = []
        for image in images:
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="JPEG")
            reply = session.post(
                url + "/invocations",
                data=buffer.getvalue(),
                headers={"Content-Type": "image/jpeg", "Accept": "application/json"},
            )
            reply.raise_for_status()
            out.append(reply.json()[0])
        return np.array(out)

    return predict


def post_npy(url: str, session: requests.Session):
    """``application/x-npy`` batches under the payload limit, one request at a time."""

    def predict(images: np.ndarray) -> np.ndarray:
        step = max(1, MAX_BODY // images[0].nbytes)
        out = []
        for start in range(0, len(images), step):
            buffer = io.BytesIO()
            np.save(buffer, images[start : start + step])
            reply = session.post(
                url + "/invocations",
                data=buffer.getvalue(),
                headers={"Content-Type": "application/x-npy", "Accept": "application/json"},
            )
            reply.raise_for_status()
            out.extend(reply.json())
        return np.array(out)

    return predict


def shap_kernel(images: np.ndarray, baselines: list[np.ndarray], send) -> float:
    """Seconds for (a)/(a'): KernelExplainer over superpixel masks, per image."""
    start = time.perf_counter()
    for image, baseline in zip(images, baselines, strict=True):
        segments, count = segment_index(slic_segments(image, NUM_SEGMENTS, COMPACTNESS))

        def f(masks: np.ndarray, image=image, baseline=baseline, segments=segments) -> np.ndarray:
            return send(numpy_render(image, baseline, segments, masks))

        np.random.seed(0)
        explainer = shap.KernelExplainer(f, np.zeros((1, count)))
        explainer.shap_values(np.ones((1, count)), l1_reg=False, silent=True)
    return time.perf_counter() - start


def shap_partition(images: np.ndarray, baselines: list[np.ndarray], send, max_evals: int) -> float:
    """Seconds for (p): the Partition explainer with shap's Image masker, same evaluation budget."""
    start = time.perf_counter()
    for image, baseline in zip(images, baselines, strict=True):
        masker = shap.maskers.Image(baseline.astype(np.float64), image.shape)

        def f(batch: np.ndarray) -> np.ndarray:
            return send(np.clip(batch, 0, 255).astype(np.uint8))

        explainer = shap.explainers.Partition(f, masker)
        explainer(image[None].astype(np.float64), max_evals=max_evals, batch_size=64, silent=True)
    return time.perf_counter() - start


def render_speed(image: np.ndarray, baseline: np.ndarray, count: int = 512) -> tuple[float, float]:
    """ms per 224x224 coalition image: compiled renderer vs numpy ``np.where``."""
    segments, n = segment_index(slic_segments(image, NUM_SEGMENTS, COMPACTNESS))
    masks = np.random.default_rng(0).integers(0, 2, size=(count, n))
    players = players_for(segments, n)
    render_coalitions(image, baseline, players, masks[:2])  # load the compiled loop
    t0 = time.perf_counter()
    for s in range(0, count, 32):
        render_coalitions(image, baseline, players, masks[s : s + 32])
    t1 = time.perf_counter()
    for s in range(0, count, 32):
        numpy_render(image, baseline, segments, masks[s : s + 32])
    t2 = time.perf_counter()
    return (t1 - t0) / count * 1e3, (t2 - t1) / count * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images explained by (b)")
    parser.add_argument("--ref-images", type=int, default=2, help="images explained by (a), (a'), (p)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    images = scenes(args.images, seed=21)
    records = [ImageRecord(f"img{i}.png", f"img{i}.png", images[i]) for i in range(len(images))]
    ref = images[: args.ref_images]
    spec = ImageSpec(
        "IMAGE_CLASSIFICATION", num_segments=NUM_SEGMENTS, segment_compactness=COMPACTNESS, seed=0
    )
    baselines = [white_noise(SIZE, SIZE, seed=0) for _ in images]
    render_ours, render_numpy = render_speed(images[0], baselines[0])

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_image_classifier_dir(Path(tmp) / "model")
        ep = start_endpoint(folder, workers=1)
        try:
            url = ep.url
            session = requests.Session()
            # warm-up outside the timings: compiled sampler/renderer, server's first requests
            with ImageModelClient(HttpTransport(url), content_type="application/x-npy") as warm:
                explain_images(records[:1], ImageSpec("IMAGE_CLASSIFICATION", num_samples=16, seed=0), warm)

            t_jpeg = shap_kernel(ref, baselines[: len(ref)], post_jpeg(url, session))
            t_npy = shap_kernel(ref, baselines[: len(ref)], post_npy(url, session))

            times_ours: list[float] = []
            times_floor: list[float] = []
            for _ in range(args.repeats):
                with ImageModelClient(HttpTransport(url), content_type="application/x-npy") as client:
                    t0 = time.perf_counter()
                    result = explain_images(records, spec, client)
                    times_ours.append(time.perf_counter() - t0)
                # (c): the same coalition images, rendered beforehand (untimed), through the same client
                floor = 0.0
                with ImageModelClient(HttpTransport(url), content_type="application/x-npy") as client:
                    for record, exp in zip(records, result.images, strict=True):
                        masks = _masks_sent(exp.num_segments)
                        players = players_for(exp.segments, exp.num_segments)
                        batch = render_coalitions(record.array, baselines[0], players, masks)
                        t0 = time.perf_counter()
                        client.classify(batch)
                        floor += time.perf_counter() - t0
                        del batch
                times_floor.append(floor)
            evals = result.model_rows // len(records)
            t_partition = shap_partition(ref, baselines[: len(ref)], post_npy(url, session), max_evals=evals)
            with ImageModelClient(HttpTransport(url), content_type="image/jpeg") as client:
                t0 = time.perf_counter()
                explain_images(records[: args.ref_images], spec, client)
                t_ours_jpeg = time.perf_counter() - t0
        finally:
            ep.stop()

    n_ref = len(ref)
    a = t_jpeg / n_ref * 1e3
    a_npy = t_npy / n_ref * 1e3
    p = t_partition / n_ref * 1e3
    b = min(times_ours) / len(records) * 1e3
    b_jpeg = t_ours_jpeg / n_ref * 1e3
    c = min(times_floor) / len(records) * 1e3
    segments = [e.num_segments for e in result.images]
    print(
        f"{SIZE}x{SIZE} images, {NUM_SEGMENTS} superpixels requested (got {segments}), compactness "
        f"{COMPACTNESS}, nsamples auto ({evals} model evaluations per image);"
    )
    print(
        f"(b) on {len(records)} images, (a)/(a')/(p)/(b-jpeg) on {n_ref}; local_endpoint 1 worker; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print()
    print("| path | ms / explained image |")
    print("|---|---|")
    print(f"| (a) shap.KernelExplainer + one image/jpeg request per image (requests) | {a:.0f} |")
    print(f"| (a') shap.KernelExplainer + application/x-npy batches (requests) | {a_npy:.0f} |")
    print(f"| (p) shap Partition explainer + Image masker, npy batches, same evaluations | {p:.0f} |")
    print(f"| (b) analyzer.explain.images + ImageModelClient, application/x-npy | {b:.0f} |")
    print(f"| (b-jpeg) analyzer.explain.images + ImageModelClient, image/jpeg | {b_jpeg:.0f} |")
    print(f"| (c) the model alone: (b)'s coalition images, pre-rendered, same client | {c:.0f} |")
    runs_b = ", ".join(f"{t / len(records) * 1e3:.0f}" for t in times_ours)
    runs_c = ", ".join(f"{t / len(records) * 1e3:.0f}" for t in times_floor)
    print(f"(b) runs: {runs_b} ms/image; (c) runs: {runs_c} ms/image (best of each reported)")
    print(f"coalition rendering, ms per image: compiled {render_ours:.3f}, numpy np.where {render_numpy:.3f}")
    print()
    print(
        f"(a)/(b) = {a / b:.1f}x (target >= 5)   (a')/(b) = {a_npy / b:.2f}x   (p)/(b) = {p / b:.2f}x   "
        f"(a)/(b-jpeg) = {a / b_jpeg:.2f}x"
    )
    print(f"share of (b)'s time in the model, (c)/(b) = {c / b:.0%} best vs best (target > 70%)")
    pairs = sorted(f / o for o, f in zip(times_ours, times_floor, strict=True))
    listed = ", ".join(f"{r:.0%}" for r in pairs)
    print(f"(c)/(b) per alternating pair: {listed}; median {pairs[len(pairs) // 2]:.0%}")


def _masks_sent(count: int) -> np.ndarray:
    """The coalitions explain_images evaluated for one image (shap's plan for ``count`` players, seed 0)."""
    from analyzer.explain.plan import clarify_plan

    plan = clarify_plan(count, None, np.random.RandomState(0))
    return np.concatenate([np.zeros((1, count)), np.ones((1, count)), plan.masks[: plan.n_added]])


if __name__ == "__main__":
    main()
