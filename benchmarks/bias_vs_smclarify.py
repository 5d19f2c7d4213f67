"""Bias engine vs smclarify 0.5, side by side in one run, plus streaming peak memory.

    .venv/bin/python benchmarks/bias_vs_smclarify.py                 # 1,000,000 rows, 10M-row stream
    .venv/bin/python benchmarks/bias_vs_smclarify.py --rows 20000 --stream-rows 200000 \
        --wide-rows 20000 --ft-scaling 10000,20000 --iso-rows 5000  # smoke

Prints, for each scenario, the smclarify and clarify-runner wall times, their ratio
(smclarify / ours) and whether the values agree (1e-12 relative, errors by text). The data
is written to a CSV and read back with pandas, so both libraries get the same DataFrame a
real job would have. The streaming row measures the peak RSS of a child process running
``stream_bias_section`` over a generated CSV under /tmp (deleted afterwards).

The wide rows time FT alone on 20 features, where scikit-learn (and so smclarify) switches
from a k-d tree to brute force: a credit-like data set (unscaled columns of different
magnitudes, integer and binary columns among them) at ``--wide-rows`` for both libraries,
then ours alone at each ``--ft-scaling`` size, then an isotropic worst case (20 independent
standard normal columns, where no exact tree search beats brute force) at ``--iso-rows``.
FT values there must be identical (==), or the script fails.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzer.bias import FacetSpec, bias_section  # noqa: E402

T = TypeVar("T")
FEATURES = ["income", "tenure", "score"]
POST_NO_FT = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE"]
PRE_ALL = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]


def make_data(n: int, seed: int = 7) -> pd.DataFrame:
    """Synthetic credit-like data with the oracle dataset's columns."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(["male", "female"], n, p=[0.6, 0.4])
    race = rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.2, 0.2, 0.1])
    age = rng.integers(18, 81, n).astype(float)
    income = rng.normal(50_000, 15_000, n).round(2)
    tenure = rng.integers(0, 40, n)
    score = rng.uniform(300, 850, n).round(1)
    dept = rng.choice(["ops", "sales", "eng", "hr", "legal"], n)
    logit = (income - 50_000) / 20_000 + (score - 575) / 200 - 0.3 * (gender == "female")
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    pred = np.where(rng.random(n) < 0.85, label, 1 - label)
    return pd.DataFrame(
        {
            "gender": gender,
            "race": race,
            "age": age,
            "income": income,
            "tenure": tenure,
            "score": score,
            "dept": dept,
            "label": label,
            "pred": pred,
        }
    )


WIDE_FEATURES = [
    "age", "income", "tenure", "score", "loan_amount", "savings", "debt_ratio", "utilization",
    "num_accounts", "credit_lines", "late_payments", "months_employed", "dependents",
    "years_at_address", "has_mortgage", "owns_car", "inquiries", "monthly_expenses",
    "interest_rate", "employment_type",
]  # fmt: skip


def make_wide_data(n: int, seed: int = 11) -> pd.DataFrame:
    """Credit-like data with 20 numeric FT features (unscaled, some integer or binary), facet, labels."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(["male", "female"], n, p=[0.6, 0.4])
    income = rng.normal(50_000, 15_000, n).round(2)
    tenure = rng.integers(0, 40, n)
    score = rng.uniform(300, 850, n).round(1)
    late = rng.poisson(0.4, n)
    columns = {
        "age": rng.integers(18, 81, n).astype(float),
        "income": income,
        "tenure": tenure,
        "score": score,
        "loan_amount": (np.clip(income, 5_000, None) * 0.25 * rng.lognormal(0, 0.5, n)).round(0),
        "savings": rng.lognormal(8.5, 1.2, n).round(2),
        "debt_ratio": rng.beta(2, 5, n).round(3),
        "utilization": rng.beta(2, 3, n).round(3),
        "num_accounts": rng.poisson(4, n),
        "credit_lines": rng.poisson(6, n),
        "late_payments": late,
        "months_employed": tenure * 12 + rng.integers(0, 12, n),
        "dependents": rng.integers(0, 5, n),
        "years_at_address": rng.integers(0, 31, n),
        "has_mortgage": (rng.random(n) < 0.35).astype(int),
        "owns_car": (rng.random(n) < 0.6).astype(int),
        "inquiries": rng.poisson(1, n),
        "monthly_expenses": (income / 30 + rng.normal(0, 400, n)).round(2),
        "interest_rate": (25 - score / 50 + rng.normal(0, 1.5, n)).round(2),
        "employment_type": rng.integers(0, 4, n),
    }
    logit = (income - 50_000) / 20_000 + (score - 575) / 200 - 0.3 * (gender == "female") - 0.5 * late
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    pred = np.where(rng.random(n) < 0.85, label, 1 - label)
    dept = rng.choice(["ops", "sales", "eng", "hr", "legal"], n)
    return pd.DataFrame({"gender": gender, **columns, "dept": dept, "label": label, "pred": pred})


def make_isotropic_data(n: int, seed: int = 13) -> pd.DataFrame:
    """20 independent standard normal features: the worst case for an exact tree search."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 20)).round(6), columns=WIDE_FEATURES)
    frame.insert(0, "gender", rng.choice(["male", "female"], n, p=[0.6, 0.4]))
    frame["dept"] = rng.choice(["ops", "sales", "eng", "hr", "legal"], n)
    frame["label"] = (rng.random(n) < 0.5).astype(np.int64)
    frame["pred"] = (frame[WIDE_FEATURES[0]] + rng.normal(size=n) > 0).astype(np.int64)
    return frame


def _norm(v: object) -> object:
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def same(expected: list[dict], got: list[dict]) -> bool:
    """True when both report lists agree (values to 1e-12 relative, errors by text)."""
    if [r["value_or_threshold"] for r in expected] != [r["value_or_threshold"] for r in got]:
        return False
    for re_, rg in zip(expected, got):
        for me, mg in zip(re_["metrics"], rg["metrics"], strict=True):
            ve, vg = me.get("value"), _norm(mg.get("value"))
            if me["name"] != mg["name"] or me.get("error") != mg.get("error"):
                return False
            if ve != vg and not (
                isinstance(ve, float) and isinstance(vg, float) and math.isclose(ve, vg, rel_tol=1e-12)
            ):
                return False
    return True


def run_smclarify(
    df: pd.DataFrame,
    facet: str,
    values: list | None,
    stage: str,
    metrics: list[str],
    features: list[str] = FEATURES,
) -> list[dict]:
    from smclarify.bias import report as R

    sub = df[[facet] + features + ["label", "pred"]]
    post = stage == "post_training"
    return R.bias_report(
        sub,
        R.FacetColumn(facet, values),
        R.LabelColumn("label", df["label"], [1]),
        R.StageType.POST_TRAINING if post else R.StageType.PRE_TRAINING,
        R.LabelColumn("pred", df["pred"]) if post else None,
        metrics=metrics,
        group_variable=df["dept"],
    )


def run_ours(
    df: pd.DataFrame,
    facet: str,
    values: list | None,
    stage: str,
    metrics: list[str],
    features: list[str] = FEATURES,
) -> list[dict]:
    out = bias_section(
        df,
        stage=stage,
        label="label",
        label_values_or_threshold=[1],  # type: ignore[arg-type]
        facets=[FacetSpec(facet, values)],
        methods=metrics,
        predicted_label="pred" if stage == "post_training" else None,
        group_variable="dept",
        ft_features=features,
    )
    return out["facets"][facet]


def timed(fn: Callable[..., T], *args: object) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def via_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a job sees it: written to CSV and read back with pandas."""
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        csv = Path(tmp) / "data.csv"
        frame.to_csv(csv, index=False)
        return pd.read_csv(csv)


def ft_value(report: list[dict]) -> object:
    """The FT value (or error text) of a one-facet-value report."""
    (metric,) = report[0]["metrics"]
    return metric.get("value", metric.get("error"))


def wide_ft(wide_rows: int, scaling: list[int], iso_rows: int) -> None:
    """FT on 20 features: both libraries at wide_rows and iso_rows, ours alone at each scaling size."""
    if not (wide_rows or scaling or iso_rows):
        return
    ft = ("post_training", ["FT"], WIDE_FEATURES)
    warm = via_csv(make_wide_data(2_000))  # imports and first-call costs stay out of the timings
    run_smclarify(warm, "gender", ["female"], *ft)
    run_ours(warm, "gender", ["female"], *ft)
    print("\nFT alone, 20 features (smclarify: scikit-learn brute force above 15 features)")
    print(f"{'data':<38}{'rows':>10}{'smclarify s':>13}{'ours s':>10}{'ratio':>9}{'target':>8}  identical FT")
    for title, maker, rows, target in [
        ("credit-like, unscaled", make_wide_data, wide_rows, "5x"),
        ("isotropic N(0,1) (worst case)", make_isotropic_data, iso_rows, "-"),
    ]:
        if not rows:
            continue
        df = via_csv(maker(rows))
        t_ref, ref = timed(run_smclarify, df, "gender", ["female"], *ft)
        t_ours, ours = timed(run_ours, df, "gender", ["female"], *ft)
        same_ft = ft_value(ref) == ft_value(ours)
        print(
            f"{title:<38}{rows:>10,}{t_ref:>13.2f}{t_ours:>10.2f}{t_ref / t_ours:>8.1f}x{target:>8}  "
            f"{same_ft} ({ft_value(ours)})"
        )
        if not same_ft:
            raise SystemExit(f"FT differs from smclarify on {title}: {ft_value(ref)} vs {ft_value(ours)}")
    if scaling:
        print("\nFT scaling, ours only, credit-like 20 features (a = male 60 %, d = female 40 %)")
        print(f"{'rows':>10}{'ours s':>10}{'us per d row':>14}")
        for rows in scaling:
            df = via_csv(make_wide_data(rows))
            t_ours, _ = timed(run_ours, df, "gender", ["female"], *ft)
            n_d = int((df["gender"] == "female").sum())
            print(f"{rows:>10,}{t_ours:>10.2f}{t_ours / n_d * 1e6:>14.1f}")


def stream_peak_rss(rows: int) -> tuple[float, float, float]:
    """(CSV size in MB, seconds, child peak RSS in MB) of stream_bias_section on a generated CSV."""
    fd, name = tempfile.mkstemp(suffix=".csv", prefix="bias_stream_", dir="/tmp")
    os.close(fd)
    path = Path(name)
    try:
        step = 1_000_000
        for i, start in enumerate(range(0, rows, step)):
            make_data(min(step, rows - start), seed=100 + i).to_csv(
                path, mode="a", header=i == 0, index=False
            )
        code = (
            f"import sys, time; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
            "from analyzer.bias import FacetSpec\n"
            "from analyzer.bias.streaming import stream_bias_section\n"
            "t = time.perf_counter()\n"
            f"stream_bias_section({str(path)!r}, stage='post_training', label='label',"
            " label_values_or_threshold=[1],"
            " facets=[FacetSpec('gender', ['female']), FacetSpec('race', None), FacetSpec('age', [40])],"
            " predicted_label='pred', group_variable='dept')\n"
            "print(time.perf_counter() - t)\n"
            # VmHWM is the peak RSS of this process's own address space; getrusage would also count
            # the parent's pages the child had before exec()
            "print(next(x for x in open('/proc/self/status') if x.startswith('VmHWM')).split()[1])\n"
        )
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        seconds, peak_kb = out.stdout.strip().splitlines()[-2:]
        return path.stat().st_size / 1e6, float(seconds), float(peak_kb) / 1024
    finally:
        path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--stream-rows", type=int, default=10_000_000, help="0 skips the streaming measurement"
    )
    parser.add_argument("--wide-rows", type=int, default=300_000, help="20-feature FT, both sides; 0 skips")
    parser.add_argument(
        "--ft-scaling", default="100000,300000,1000000", help="comma-separated row counts; empty skips"
    )
    parser.add_argument("--iso-rows", type=int, default=100_000, help="isotropic FT, both sides; 0 skips")
    parser.add_argument("--skip-narrow", action="store_true", help="only the 20-feature FT measurements")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # smclarify logs a line per metric call

    print(f"load average at start: {os.getloadavg()}  (cpus: {os.cpu_count()})")
    scaling = [int(x) for x in args.ft_scaling.split(",") if x.strip()]
    wide_ft(args.wide_rows, scaling, args.iso_rows)
    if args.skip_narrow:
        print(f"load average at end: {os.getloadavg()}")
        return
    df = via_csv(make_data(args.rows))

    scenarios = [
        ("(a) pre-training, gender=female (8 metrics)", "gender", ["female"], "pre_training", PRE_ALL, 50),
        ("(b) post-training without FT (12 metrics)", "gender", ["female"], "post_training", POST_NO_FT, 50),
        ("(c) FT alone", "gender", ["female"], "post_training", ["FT"], 2),
        ("(d) pre-training, continuous age > 40", "age", [40], "pre_training", PRE_ALL, 100),
    ]
    print(f"\nrows: {args.rows:,}")
    print(f"{'scenario':<46}{'smclarify s':>12}{'ours s':>10}{'ratio':>9}{'target':>8}  same values")
    for title, facet, values, stage, metrics, target in scenarios:
        t_ref, ref = timed(run_smclarify, df, facet, list(values), stage, list(metrics))
        t_ours, ours = timed(run_ours, df, facet, list(values), stage, list(metrics))
        ok = same(ref, ours)
        print(f"{title:<46}{t_ref:>12.3f}{t_ours:>10.3f}{t_ref / t_ours:>8.1f}x{target:>7}x  {ok}")

    if args.stream_rows:
        size_mb, seconds, rss_mb = stream_peak_rss(args.stream_rows)
        print(
            f"\nstreaming stream_bias_section, {args.stream_rows:,}-row CSV ({size_mb:,.0f} MB), "
            f"post-training, 3 facets: {seconds:.1f} s, peak RSS {rss_mb:,.0f} MB"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
