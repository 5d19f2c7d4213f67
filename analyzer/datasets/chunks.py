"""Read a CSV dataset in chunks of rows, typed as the whole-file reader types it.

:class:`CsvChunks` is what a job that streams its dataset (a bias-only job, see
:attr:`analyzer.plan.model.AnalysisPlan.streams_dataset`) reads instead of loading the frame:
calling it returns a fresh iterator of frames holding some columns of consecutive rows. Only
one chunk (``chunk_bytes`` of CSV text, plus the parsed columns) is in memory at a time.

Rows are cut at line ends outside quoted values (an even number of ``"`` before the cut:
the excel dialect doubles quotes inside values), so a chunk is valid CSV on its own; each is
parsed by :mod:`analyzer.datasets.csv_format` (same header rule per file, same pandas typing).

Typing a chunk alone may differ from typing the whole column (a column of integers with one
missing value in chunk 7 is float64 for the whole file, int64 in the other chunks). The first
call scans every chunk once and decides one dtype per column, as the whole-file read would:
integers and floats become float64, a column with missing values in some chunks takes the
missing-value dtype everywhere, and a column whose chunks disagree otherwise (numbers here,
text there) is read again as text everywhere. Every later call conforms each chunk to it.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING

import pandas as pd

from analyzer import storage
from analyzer.errors import DatasetError

from .csv_format import _BOM, _first_row_names, _parse, check_utf8
from .header import GZIP_MAGIC

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.plan.model import DatasetPlan

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_CHUNK_BYTES", "CsvChunks", "CsvSource"]

#: CSV text per chunk (the parsed columns of one chunk are smaller: only the needed ones).
DEFAULT_CHUNK_BYTES = 32 << 20
_MIN_READ = 4 << 10


@contextlib.contextmanager
def _open(source: str) -> Iterator[IO[bytes]]:
    """A binary stream of one data file, gunzipped when it is gzip (local files are streamed)."""
    with contextlib.ExitStack() as stack:
        if storage.is_s3(source):
            raw: IO[bytes] = io.BytesIO(storage.read_bytes(source))
        else:
            raw = stack.enter_context(open(source, "rb"))
        head = raw.read(2)
        raw.seek(0)
        if head == GZIP_MAGIC:
            unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
            stack.callback(unzipped.close)
            yield unzipped  # type: ignore[misc]
        else:
            yield raw


def _cut(buffer: bytes, quotes_before: int) -> int:
    """Index just after the last line end of ``buffer`` that is outside quotes (0: none)."""
    end = len(buffer)
    while True:
        nl = max(buffer.rfind(b"\n", 0, end), buffer.rfind(b"\r", 0, end))
        if nl < 0:
            return 0
        if (quotes_before + buffer.count(b'"', 0, nl)) % 2 == 0:
            if buffer[nl : nl + 1] == b"\r" and nl + 1 == len(buffer):
                end = nl  # maybe a \r\n cut in two: keep the \r for the next read
                continue
            return nl + 1
        end = nl


def _blocks(stream: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """Consecutive pieces of ``stream`` of about ``chunk_bytes``, each ending at a row end."""
    pending = b""
    while True:
        data = stream.read(max(_MIN_READ, chunk_bytes - len(pending)))
        if not data:
            if pending.strip():
                yield pending
            return
        pending += data
        if len(pending) < chunk_bytes:
            continue
        cut = _cut(pending, 0)
        if cut == 0:
            continue  # one very long row: read on
        yield pending[:cut]
        pending = pending[cut:]


def _kind(series: pd.Series) -> str:
    """What a chunk's column holds: null, int, float, bool, boolna, object or other."""
    if len(series) and bool(series.isna().all()):
        return "null"
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_object_dtype(dtype):
        return "boolna" if pd.api.types.infer_dtype(series, skipna=True) == "boolean" else "object"
    return "other"


def _unify(kinds: set[str]) -> str | None:
    """The whole-file dtype of a column from its chunks' kinds: None (keep), ``float64``,
    ``object`` or ``text`` (read the column again as text)."""
    seen = kinds - {"null"}
    missing = "null" in kinds
    if not seen:
        return "float64"
    if seen == {"int"}:
        return "float64" if missing else None
    if seen <= {"int", "float"}:
        return "float64"
    if seen == {"bool"} or seen == {"object"}:
        return "object" if missing else None
    if seen <= {"bool", "boolna"}:
        return "object"
    if seen == {"other"} and not missing:
        return None
    if seen == {"boolna"}:
        return None
    return "text"


class CsvChunks:
    """The ``columns`` of a CSV dataset, chunk by chunk (see the module docstring).

    Args:
        plan: The dataset plan (CSV, no side datasets).
        columns: Columns to read (names of ``plan.columns``).
        chunk_bytes: CSV text per chunk.
    """

    def __init__(self, plan: DatasetPlan, columns: Sequence[str], chunk_bytes: int | None = None) -> None:
        self.plan = plan
        self.columns = list(dict.fromkeys(columns))
        self.chunk_bytes = chunk_bytes or DEFAULT_CHUNK_BYTES
        self._targets: dict[str, str | None] | None = None
        self.n_rows: int | None = None

    def __call__(self) -> Iterator[pd.DataFrame]:
        """A fresh pass over the dataset: one frame per chunk, dtypes as the whole file's."""
        if self._targets is None:
            self._targets = self._scan()
        targets = self._targets
        text = [c for c, t in targets.items() if t == "text"]
        for frame in self._parsed(text):
            for column, target in targets.items():
                if target in ("float64", "object") and frame[column].dtype != target:
                    frame[column] = frame[column].astype(target)
            yield frame

    def _scan(self) -> dict[str, str | None]:
        kinds: dict[str, set[str]] = {c: set() for c in self.columns}
        rows = 0
        for frame in self._parsed(()):
            rows += len(frame)
            for column in self.columns:
                kinds[column].add(_kind(frame[column]))
        if rows == 0:
            raise DatasetError(f"Dataset is empty: no records in '{self.plan.uri}'")
        self.n_rows = rows
        targets = {c: _unify(k) for c, k in kinds.items()}
        changed = {c: t for c, t in targets.items() if t is not None}
        if changed:
            log.info("Column types over the whole dataset (chunks differ): %s", changed)
        return targets

    def _parsed(self, as_text: Sequence[str]) -> Iterator[pd.DataFrame]:
        plan = self.plan
        hints = [h for h in plan.hint_names if isinstance(h, str)]
        names: list[str] | None = list(plan.headers) if plan.headers is not None else None
        found = False
        for source in storage.list_files(plan.uri):
            with _open(source) as stream:
                first = True
                offset = 0
                for block in _blocks(stream, self.chunk_bytes):
                    check_utf8(block, source)
                    data = block[len(_BOM) :] if first and block.startswith(_BOM) else block
                    skip = 0
                    if first:
                        if not data.strip():
                            break
                        names, header = _first_row_names(source, data, names, hints)
                        if tuple(names) != plan.columns:
                            raise DatasetError(
                                f"The dataset's columns {names} differ from those of its first file "
                                f"{list(plan.columns)}"
                            )
                        skip = 1 if header else 0
                        first = False
                    where = f"{source} (from byte {offset})" if offset else source
                    assert names is not None  # set by the file's first block
                    frame = _parse(
                        data, names, skip, where, plan.headers is not None, self.columns, as_text
                    )
                    offset += len(block)
                    if len(frame):
                        found = True
                        frame.columns = [str(c) for c in frame.columns]
                        yield frame.reset_index(drop=True)
        if not found:
            raise DatasetError(f"Dataset is empty: no records in '{plan.uri}'")


class CsvSource:
    """A CSV dataset read in chunks: :meth:`chunks` per set of columns, rows counted once read."""

    def __init__(self, plan: DatasetPlan, chunk_bytes: int | None = None) -> None:
        self.plan = plan
        self.chunk_bytes = chunk_bytes
        self._readers: dict[tuple[str, ...], CsvChunks] = {}
        roles = [*plan.facet_columns.values(), plan.label, plan.predicted_label, plan.group_variable]
        #: The bias roles: asked for any of them, every job reads them all (one dtype scan).
        self.roles = tuple(dict.fromkeys(c for c in roles if c is not None))

    def chunks(self, columns: Sequence[str]) -> CsvChunks:
        """The chunk reader of ``columns`` (or of all the bias roles when they include
        ``columns``): one per set of columns, so its dtype scan is done once."""
        key = tuple(dict.fromkeys(columns))
        if set(key) <= set(self.roles):
            key = self.roles
        if key not in self._readers:
            self._readers[key] = CsvChunks(self.plan, key, self.chunk_bytes)
        return self._readers[key]

    @property
    def n_rows(self) -> int:
        """Number of records (0 until a reader has made its first pass)."""
        return next((r.n_rows for r in self._readers.values() if r.n_rows is not None), 0)
