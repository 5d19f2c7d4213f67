"""Generate a small multi-item forecasting data set (Clarify ``timestamp_records`` JSON).

Every item has a target series, related series known into the future, and static
covariates. The last ``horizon`` rows of each item are the future: the target is ``null``
there and the related series still have values (like Clarify's BYOM example data).

The process: ``target_t = level_item + amplitude·sin(2πt/period) + Σ_k coef_k·related_k,t + AR(1)
noise``, where ``level_item`` depends on the static covariates (small integer codes) and the
related series are a smooth seasonal signal, a 0/1 promotion flag, and further smooth noise.

Usage: python generate_data.py [--out data/stores.json] [--items 6] [--steps 60] [--horizon 7]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def generate(
    *,
    item_ids: Sequence[str],
    steps: int,
    horizon: int,
    target: str = "sales",
    related: Sequence[str] = ("temperature", "promotion"),
    static: Sequence[str] = ("store_size", "region"),
    level: float = 100.0,
    scale: float = 10.0,
    period: int = 7,
    start: str = "2024-01-01 00:00:00",
    freq: str = "D",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Rows ``{"item_id", "timestamp", target, related..., static...}``, item after item, in time order.

    ``steps`` rows per item, the last ``horizon`` of them with a ``null`` target.
    """
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=steps, freq=freq).strftime("%Y-%m-%d %H:%M:%S").tolist()
    t = np.arange(steps)
    rows: list[dict[str, Any]] = []
    for item in item_ids:
        codes = [int(c) for c in rng.integers(0, 3, size=len(static))]
        item_level = level + scale * (sum(codes) - len(codes)) + rng.normal(0, scale / 2)
        phase = rng.uniform(0, 2 * np.pi)
        series = []
        for k in range(len(related)):
            if k == 1:
                series.append((rng.random(steps) < 0.2).astype(float))
            else:
                smooth = np.cumsum(rng.normal(0, 0.3, steps))
                series.append(np.round(5 + 3 * np.sin(2 * np.pi * t / (period * 3) + phase + k) + smooth, 2))
        noise = np.zeros(steps)
        for i in range(1, steps):
            noise[i] = 0.6 * noise[i - 1] + rng.normal(0, scale / 5)
        y = item_level + scale * np.sin(2 * np.pi * t / period + phase) + noise
        for k, s in enumerate(series):
            y = y + (scale * 0.8 if k == 1 else scale / 10) * s
        y = np.round(y, 2)
        for i in range(steps):
            row: dict[str, Any] = {"item_id": item, "timestamp": stamps[i]}
            row[target] = float(y[i]) if i < steps - horizon else None
            for name, s in zip(related, series):
                row[name] = float(s[i])
            for name, code in zip(static, codes):
                row[name] = code
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data" / "stores.json")
    parser.add_argument("--items", type=int, default=6)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = generate(
        item_ids=[f"store_{i + 1}" for i in range(args.items)],
        steps=args.steps,
        horizon=args.horizon,
        seed=args.seed,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
    print(f"{len(rows)} rows written to {args.out}")


if __name__ == "__main__":
    main()
