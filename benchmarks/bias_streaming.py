"""Bias-only CLI runs that stream the dataset: peak memory at 10M rows, values vs in-memory.

A bias-only job (pre-training "all" and post-training without FT, the predictions in a
column of the dataset) reads its CSV in chunks instead of loading it
(``AnalysisPlan.streams_dataset``). This benchmark generates the data in a temporary folder
(deleted afterwards): 20 float features, a categorical facet (3 values), an integer facet
with a threshold, a group variable, the label and the predicted label.

1. ``--check-rows`` (default 1M): the same job twice as ``clarify-runner run`` processes,
   streamed and with the in-memory path forced; the two ``analysis.json`` must be equal.
   Peak RSS of both is printed.
2. ``--rows`` (default 10M): the streamed CLI run; wall time and peak RSS (target <= 1 GB).

Peak RSS is the child process's own (``wait4`` rusage), so the generator does not count.

Run: ``.venv/bin/python benchmarks/bias_streaming.py [--rows 10000000] [--check-rows 1000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

TARGET_RSS_MB = 1024
N_FEATURES = 20
POST_METRICS = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE"]
#: Runs the CLI with the in-memory path forced (the reference of the equality check).
IN_MEMORY = (
    "import sys\n"
    "from analyzer.plan.model import AnalysisPlan\n"
    "AnalysisPlan.streams_dataset = property(lambda self: False)\n"
    "from container.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _block(rows: int, rng: np.random.Generator) -> pa.Table:
    names = [f"x{i}" for i in range(N_FEATURES)] + ["gender", "age", "dept", "label", "pred"]
    x = rng.normal(size=(rows, N_FEATURES)).round(3)
    gender = rng.choice(np.array(["female", "male", "diverse"]), rows, p=[0.48, 0.48, 0.04])
    age = rng.integers(18, 90, rows)
    dept = rng.choice(np.array(["d1", "d2", "d3", "d4"]), rows)
    score = x[:, 0] + 0.5 * x[:, 1] + 0.3 * (gender == "female") + rng.normal(scale=0.7, size=rows)
    label = (score > 0.2).astype(np.int64)
    pred = np.where(rng.random(rows) < 0.85, label, 1 - label)
    cols = [pa.array(x[:, j]) for j in range(N_FEATURES)]
    cols += [pa.array(gender), pa.array(age), pa.array(dept), pa.array(label), pa.array(pred)]
    return pa.Table.from_arrays(cols, names=names)


def write_csv(path: Path, rows: int, seed: int = 0, block: int = 500_000, distinct: int = 2) -> float:
    """Write the dataset; returns its size in MB. ``distinct`` blocks of random rows are
    generated and written in turn until ``rows`` rows are written (generating 10M distinct
    rows would take longer than the run measured)."""
    rng = np.random.default_rng(seed)
    blocks: list[bytes] = []
    with path.open("wb") as out:
        done = 0
        while done < rows:
            n = min(block, rows - done)
            if n == block and len(blocks) == distinct:
                text = blocks[(done // block) % distinct]
            else:
                sink = pa.BufferOutputStream()
                pacsv.write_csv(_block(n, rng), sink, pacsv.WriteOptions(include_header=False))
                text = sink.getvalue().to_pybytes()
                if n == block and len(blocks) < distinct:
                    blocks.append(text)
            if done == 0:
                out.write(b",".join(f.encode() for f in _block(1, rng).schema.names) + b"\n")
            out.write(text)
            done += n
    return path.stat().st_size / 1e6


def write_config(path: Path) -> None:
    """The bias-only analysis config (predictions in the ``pred`` column)."""
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "label": "label",
        "label_values_or_threshold": [1],
        "predicted_label": "pred",
        "facet": [
            {"name_or_index": "gender", "value_or_threshold": ["female"]},
            {"name_or_index": "age", "value_or_threshold": [40]},
        ],
        "group_variable": "dept",
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": POST_METRICS},
        },
    }
    path.write_text(json.dumps(config))


def run_cli(args: list[str], *, in_memory: bool = False) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one ``clarify-runner run`` process."""
    head = [sys.executable, "-c", IN_MEMORY] if in_memory else [sys.executable, "-m", "container.cli"]
    started = time.perf_counter()
    proc = subprocess.Popen([*head, "run", *args, "--log-level", "WARNING"], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"run failed:\n{stderr[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    """Print the equality check and the 10M-row streamed run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--check-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bias-streaming-") as tmp:
        work = Path(tmp)
        config = work / "analysis_config.json"
        write_config(config)
        if args.check_rows:
            data = work / "check.csv"
            size = write_csv(data, args.check_rows, seed=1)
            common = ["--config", str(config), "--data", str(data)]
            s_time, s_rss = run_cli([*common, "--output", str(work / "streamed")])
            m_time, m_rss = run_cli([*common, "--output", str(work / "memory")], in_memory=True)
            streamed = json.loads((work / "streamed" / "analysis.json").read_text())
            memory = json.loads((work / "memory" / "analysis.json").read_text())
            equal = streamed == memory
            print(f"{args.check_rows:,} rows ({size:,.0f} MB CSV), pre + post bias without FT:")
            print(f"  streamed   {s_time:7.1f} s  peak RSS {s_rss:7.0f} MB")
            print(f"  in memory  {m_time:7.1f} s  peak RSS {m_rss:7.0f} MB")
            print(f"  analysis.json equal: {equal}")
            data.unlink()
            if not equal:
                raise SystemExit("streamed and in-memory results differ")
        if args.rows:
            data = work / "big.csv"
            t0 = time.perf_counter()
            size = write_csv(data, args.rows, seed=2)
            print(f"{args.rows:,} rows ({size:,.0f} MB CSV) generated in {time.perf_counter() - t0:.0f} s")
            seconds, rss = run_cli(
                ["--config", str(config), "--data", str(data), "--output", str(work / "big")]
            )
            verdict = "met" if rss <= TARGET_RSS_MB else "NOT met"
            print(f"  streamed   {seconds:7.1f} s  peak RSS {rss:7.0f} MB", end="")
            print(f"  (target <= {TARGET_RSS_MB} MB: {verdict})")
            result = json.loads((work / "big" / "analysis.json").read_text())
            ci = result["pre_training_bias_metrics"]["facets"]["gender"][0]["metrics"][1]
            print(f"  e.g. {ci['name']} of gender=female: {ci['value']}")


if __name__ == "__main__":
    main()
