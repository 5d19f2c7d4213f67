"""Exact parsing of headerless all-numeric CSV into float64 arrays, and fast CSV writing.

The model server parses every request body with it and the analyzer's model client every
response body, so the cost of turning ``0.12345678901234567,-3.5e-05`` into doubles sits on
the hot path of every SHAP, PDP and bias run. Two parsers give the same doubles (both
correctly rounded: identical to Python's ``float(text)``):

* pyarrow's CSV reader with every column typed float64: no start-up cost, used at once;
* a numba kernel (:mod:`clarify_common.csv_kernel`): about twice as fast on full-precision
  bodies, with almost no fixed cost per call, and it cuts large bodies at line boundaries
  and parses them on several threads. It is loaded in a background thread the first time a
  numeric body is parsed; until it is ready, and for bodies it does not handle (subnormal
  or overflowing values, more than 19 significant digits, blank lines), pyarrow parses.

So nobody waits for numba: importing it and loading the kernel from numba's cache takes a
second or two (compiling it, when there is no cache, ten or more), which used to delay the
model server's first ``/ping`` answer. The image compiles the kernel when it is built and
ships numba's cache (see the Dockerfile); :func:`load_kernel` is the hook for that.

Measured in ``benchmarks/endpoint_throughput.py``: with pyarrow alone the endpoint reaches
about 0.35x the in-process rows/s for CSV at 10,000+ rows per request; with the kernel about
0.5x (the target).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = [
    "kernel_ready",
    "load_kernel",
    "parse_numeric_csv",
    "parse_with_kernel",
    "parse_with_pyarrow",
    "write_csv_table",
]

log = logging.getLogger(__name__)

_PARALLEL_MIN_BYTES = 256 * 1024  # below this, one thread is faster than a hand-off
_PARALLEL_MIN_ROWS = 4096  # the same for writing
_MAX_THREADS = 4
_ARROW_BLOCK = 128 * 1024  # typed columns parse about twice as fast in small blocks (cache)
_ARROW_THREADED = 1024 * 1024  # pyarrow parses blocks on threads above this body size
#: Bytes a plain numeric first line may hold; anything else (letters, quotes) means "not numeric".
_NUMERIC_BYTES = b"0123456789.,eE+-\r"

_executor: ThreadPoolExecutor | None = None
_kernel: ModuleType | None = None
_loader: threading.Thread | None = None
_loader_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_MAX_THREADS - 1, thread_name_prefix="numeric-csv")
    return _executor


def _threads_for(size: int) -> int:
    if size < _PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(_MAX_THREADS, os.cpu_count() or 1, size // _PARALLEL_MIN_BYTES))


# --------------------------------------------------------------------------- the numba kernel


def _load() -> None:
    global _kernel
    try:
        from clarify_common import csv_kernel

        # The one signature the parser uses: a read-only uint8 buffer, a C-ordered float64 array.
        buf = np.frombuffer(b"0\n", dtype=np.uint8)
        csv_kernel.parse_lines(buf, 0, 2, np.empty((1, 1)), 0)
        _kernel = csv_kernel
    except Exception as exc:  # noqa: BLE001 - numba missing or broken: pyarrow does all the parsing
        log.warning(
            "numeric CSV kernel unavailable (%s: %s); parsing with pyarrow only", type(exc).__name__, exc
        )


def load_kernel(wait: bool = True) -> bool:
    """Start loading the numba kernel (once per process); with ``wait``, block until it is loaded.

    Returns whether the kernel is ready. Loading imports numba and compiles the kernel, or
    loads it from numba's cache (``cache=True``: ``__pycache__`` beside the module, or
    ``$NUMBA_CACHE_DIR``).
    """
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = threading.Thread(target=_load, name="numeric-csv-kernel-loader", daemon=True)
            _loader.start()
        loader = _loader
    if wait:
        loader.join()
    return _kernel is not None


def kernel_ready() -> bool:
    """Whether the numba kernel is loaded (parsing then uses it where it can)."""
    return _kernel is not None


def _kernel_parse(kernel: ModuleType, body: bytes | bytearray, threads: int | None) -> np.ndarray | None:
    n_cols = body.count(b",", 0, body.find(b"\n")) + 1
    buf = np.frombuffer(body, dtype=np.uint8)
    buf.flags.writeable = False  # one compiled signature for bytes and bytearray bodies alike
    k = _threads_for(len(body)) if threads is None else max(1, threads)
    bounds = [0]
    for part in range(1, k):
        cut = body.find(b"\n", len(body) * part // k) + 1
        if bounds[-1] < cut < len(body):
            bounds.append(cut)
    bounds.append(len(body))
    # Each part gets its own array, sized for its most rows (a line holds at least
    # 2 * n_cols bytes); pages that are never written are never touched.
    outs = [np.empty(((hi - lo) // (2 * n_cols) + 1, n_cols)) for lo, hi in zip(bounds[:-1], bounds[1:])]
    jobs = [(buf, lo, hi, out, 0) for lo, hi, out in zip(bounds[:-1], bounds[1:], outs)]
    futures = [_pool().submit(kernel.parse_lines, b, lo, hi, out, z) for b, lo, hi, out, z in jobs[1:]]
    counts = [kernel.parse_lines(*jobs[0])] + [f.result() for f in futures]
    if any(n <= 0 for n in counts):
        return None
    if len(outs) == 1:
        return outs[0][: counts[0]]
    return np.concatenate([out[:n] for out, n in zip(outs, counts)])


# --------------------------------------------------------------------------- public


def _terminated(body: bytes | bytearray) -> bytes | bytearray | None:
    """``body`` ending with a newline, or None when its first line is not plain numeric text."""
    if not body:
        return None
    end = body.find(b"\n")
    first = body[: end if end >= 0 else len(body)]
    if not first or first.translate(None, _NUMERIC_BYTES):
        return None
    return body if body.endswith(b"\n") else body + b"\n"


def parse_with_pyarrow(body: bytes | bytearray) -> np.ndarray | None:
    """Parse with pyarrow's CSV reader (every column float64); None when the body is not numeric.

    Not numeric: a non-numeric character in the first line, a cell that is not a number
    (empty, ``NA``, text, quoted), or a line with another number of fields.
    """
    data = _terminated(body)
    if data is None:
        return None
    names = [f"f{i}" for i in range(data.count(b",", 0, data.find(b"\n")) + 1)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=len(data) > _ARROW_THREADED, block_size=_ARROW_BLOCK
            ),
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64())),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows == 0 or any(col.null_count for col in table.columns):
        return None
    out = np.empty((table.num_rows, len(names)))
    for j, col in enumerate(table.columns):
        out[:, j] = col.to_numpy()
    return out


def parse_with_kernel(body: bytes | bytearray, threads: int | None = None) -> np.ndarray | None:
    """Parse with the numba kernel, loading it first if needed (blocks); None when it refuses the body.

    For tests and benchmarks; :func:`parse_numeric_csv` never waits for the kernel.
    """
    data = _terminated(body)
    if data is None or not load_kernel(wait=True):
        return None
    assert _kernel is not None
    return _kernel_parse(_kernel, data, threads)


def parse_numeric_csv(body: bytes | bytearray, threads: int | None = None) -> np.ndarray | None:
    """Parse a headerless all-numeric CSV body into a C-ordered ``(rows, columns)`` float64 array.

    Parameters
    ----------
    body:
        The CSV bytes, one record per line; the last line may lack its newline.
    threads:
        How many threads the numba kernel uses (the body is cut at line boundaries);
        default: one per 256 KiB of body, at most the CPU count and 4.

    Returns
    -------
    The array, or ``None`` when the body is not all-numeric with the same number of fields
    on every line (see :func:`parse_with_pyarrow`); the caller then uses its general reader,
    which also writes the error messages. The first call starts loading the numba kernel in
    the background; the result does not depend on whether it is ready.
    """
    data = _terminated(body)
    if data is None:
        return None
    kernel = _kernel
    if kernel is None:
        load_kernel(wait=False)
    else:
        parsed = _kernel_parse(kernel, data, threads)
        if parsed is not None:
            return parsed
    return parse_with_pyarrow(data)


def _write_slice(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue().to_pybytes()


def write_csv_table(table: pa.Table, threads: int | None = None) -> bytes:
    """Write an Arrow table as headerless CSV (pyarrow's writer: shortest round-trip floats).

    Formatting doubles costs about 0.1 µs each, so a large table is cut into row slices
    written on several threads (pyarrow holds no GIL while it writes); the bytes are the
    same as one ``pyarrow.csv.write_csv`` call. ``threads`` defaults to one per 4,096 rows,
    at most the CPU count and 4.
    """
    n = table.num_rows
    if threads is None:
        threads = min(_MAX_THREADS, os.cpu_count() or 1, n // _PARALLEL_MIN_ROWS)
    k = max(1, threads)
    if k <= 1 or n < 2:
        return _write_slice(table)
    edges = [n * part // k for part in range(k + 1)]
    slices = [table.slice(lo, hi - lo) for lo, hi in zip(edges[:-1], edges[1:])]
    futures = [_pool().submit(_write_slice, part) for part in slices[1:]]
    return b"".join([_write_slice(slices[0])] + [f.result() for f in futures])
