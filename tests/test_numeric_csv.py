"""clarify_common.numeric_csv: every double it returns is Python's float() of the text, bit for bit.

Each property is checked for the numba kernel, for pyarrow, and for ``parse_numeric_csv``
(which uses either), so the result never depends on whether the kernel is loaded yet.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import threading
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_common import numeric_csv
from clarify_common.numeric_csv import parse_numeric_csv, parse_with_kernel, parse_with_pyarrow

SMALLEST_NORMAL = 2.2250738585072014e-308
Parser = Callable[[bytes], "np.ndarray | None"]
PARSERS: dict[str, Parser] = {
    "kernel": parse_with_kernel,
    "pyarrow": parse_with_pyarrow,
    "parse_numeric_csv": parse_numeric_csv,
}


@pytest.fixture(params=list(PARSERS), name="parse")
def parse_fixture(request: pytest.FixtureRequest) -> Parser:
    """Each parser in turn (the kernel loaded first, so that parse_numeric_csv uses it too)."""
    assert numeric_csv.load_kernel(wait=True)
    return PARSERS[request.param]


def _bits(values) -> list[int]:
    return [struct.unpack("<Q", struct.pack("<d", float(v)))[0] for v in np.ravel(values)]


def _assert_exact(text: str, got: np.ndarray) -> None:
    rows = [line.split(",") for line in text.strip("\n").replace("\r", "").split("\n")]
    expected = np.array([[float(v) for v in row] for row in rows])
    assert got.shape == expected.shape
    assert _bits(got) == _bits(expected)


def _random_doubles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Finite normal doubles spread over every exponent (random bit patterns)."""
    bits = rng.integers(0, 2**63, size=n, dtype=np.uint64) | (
        rng.integers(0, 2, size=n, dtype=np.uint64) << 63
    )
    values = bits.view(np.float64)
    keep = np.isfinite(values) & (np.abs(values) >= SMALLEST_NORMAL)
    return values[keep]


def test_repr_of_random_doubles_round_trips_exactly(parse):
    rng = np.random.default_rng(0)
    values = _random_doubles(rng, 200_000).reshape(-1, 8)[:20_000]
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in values) + "\n"
    got = parse(text.encode())
    assert got is not None
    assert _bits(got) == _bits(values)


def test_typical_data_values_round_trip_exactly(parse):
    rng = np.random.default_rng(1)
    values = np.concatenate(
        [
            rng.normal(size=(5000, 4)),
            rng.uniform(-1e6, 1e6, size=(5000, 4)),
            rng.integers(-1000, 1000, (5000, 4)),
        ],
        axis=1,
    )
    for fmt in (repr, "{:.17g}".format, "{:.6e}".format, "{:.4f}".format, "{:.0f}".format):
        text = "\n".join(",".join(fmt(float(v)) for v in row) for row in values) + "\n"
        got = parse(text.encode())
        assert got is not None, fmt
        _assert_exact(text, got)


def _decimal_strings(rng: np.random.Generator, n: int) -> list[str]:
    """Decimal texts of 1-19 significant digits, with and without fractions and exponents."""
    out = []
    for _ in range(n):
        digits = "".join(rng.choice(list("0123456789"), size=int(rng.integers(1, 20))))
        point = int(rng.integers(0, len(digits) + 1))
        text = digits[:point] + ("." + digits[point:] if point < len(digits) else "")
        if rng.random() < 0.5:
            text += f"e{int(rng.integers(-330, 320))}"
        if rng.random() < 0.5:
            text = "-" + text
        out.append(text.lstrip(".") if text.startswith(".") and rng.random() < 0.5 else text)
    return out


def test_random_decimal_texts_match_float_or_are_left_to_pyarrow(parse):
    rng = np.random.default_rng(2)
    for text in _decimal_strings(rng, 20_000):
        got = parse(text.encode())
        expected = float(text)
        if got is None:
            # only the kernel refuses, and only values that are not normal doubles
            assert parse is parse_with_kernel, text
            assert expected == 0.0 or math.isinf(expected) or abs(expected) < SMALLEST_NORMAL, text
        else:
            assert _bits(got) == _bits([expected]), text


@pytest.mark.parametrize(
    "text",
    [
        "9007199254740993",  # 2**53 + 1: half-way, rounds to even
        "9007199254740995",
        "9007199254740993.0",
        "7.3177701707893310e+15",
        "2.2250738585072014e-308",  # smallest normal
        "1.7976931348623157e308",  # largest double
        "1.7976931348623158e308",  # rounds down to the largest double
        "0.1",
        "0.30000000000000004",
        "1e22",
        "1e23",  # just past Clinger's exact range
        "8.98846567431158e307",
        "4.35679164914e-1",
        "1844674407370955161",  # 19 digits, w * 10 + 9 overflow boundary
        "9999999999999999999",
        "123456789012345678e-300",
        "0.000000000000000000000000000000000000000000000000000000000000001234",
        "-0",
        "-0.0",
        "+1.5",
        ".5",
        "5.",
        "1E5",
        "1e+05",
        "00000000000000000000000000042",
    ],
)
def test_hard_and_boundary_values(parse, text):
    got = parse(text.encode())
    assert got is not None, text
    assert _bits(got) == _bits([float(text)])


@pytest.mark.parametrize(
    "body",
    [
        b"1,2\n3\n",  # ragged
        b"1,2\n3,4,5\n",
        b'"1",2\n',  # quoted
        b"1,,2\n",  # empty field
        b"1,2\n3,NA\n",
        b"nan,1\n",
        b"1,inf\n",
        b"1,a\n",
        b"1 ,2\n",  # whitespace
        b"1e,2\n",
        b"-,2\n",
        b"1.2.3,4\n",
        b"0x10,1\n",
        b"1,2\r3,4\n",
        b"\n1,2\n",  # a blank first line
        b"",
    ],
)
def test_bodies_that_are_not_all_numeric_are_refused_by_every_parser(parse, body):
    assert parse(body) is None


@pytest.mark.parametrize(
    "body",
    [
        b"1,2\n\n3,4\n",  # blank line
        b"1,2\n3,4\n\n",
        b"1e400,1\n",  # overflows to inf, as float() does
        b"4.9e-324,1\n",  # subnormal
        b"1.00000000000000000001,2\n",  # more than 19 significant digits
    ],
)
def test_numeric_bodies_the_kernel_leaves_to_pyarrow_are_parsed_exactly(body):
    assert numeric_csv.load_kernel(wait=True)
    assert parse_with_kernel(body) is None
    rows = [[float(v) for v in line.split(b",")] for line in body.split(b"\n") if line]
    for parse in (parse_with_pyarrow, parse_numeric_csv):
        got = parse(body)
        assert got is not None
        assert _bits(got) == _bits(rows)


@pytest.mark.parametrize(
    "body",
    [
        b"1,2\n3\n",  # ragged
        b"1,2\n3,4,5\n",
        b'"1",2\n',  # quoted
        b"1,,2\n",  # empty field
        b"nan,1\n",
        b"inf,1\n",
        b"1,a\n",
        b"1,2\n\n3,4\n",  # blank line
        b"1 ,2\n",  # whitespace
        b"1e,2\n",
        b"-,2\n",
        b"1.2.3,4\n",
        b"1e400,1\n",  # overflows
        b"4.9e-324,1\n",  # subnormal
        b"1.00000000000000000001,2\n",  # more than 19 significant digits
        b"1,2\r3,4\n",
        b"",
    ],
)
def test_bodies_outside_the_plain_form_are_refused_by_the_kernel(body):
    assert parse_with_kernel(body) is None


def test_line_endings_and_last_line_without_newline(parse):
    _assert_exact("1,2\r\n3,4\r\n", parse(b"1,2\r\n3,4\r\n"))
    _assert_exact("1,2\n3,4", parse(b"1,2\n3,4"))
    single = parse(b"0.25")
    assert single.shape == (1, 1) and single[0, 0] == 0.25
    body = bytearray(b"1,2\n3,4")
    _assert_exact("1,2\n3,4", parse(body))
    assert body == bytearray(b"1,2\n3,4")  # the caller's buffer is not changed


@pytest.mark.parametrize("threads", [1, 2, 3, 4, 7])
def test_every_thread_count_gives_the_same_array(threads):
    rng = np.random.default_rng(3)
    values = rng.normal(size=(3001, 5))
    body = ("\n".join(",".join(repr(float(v)) for v in row) for row in values) + "\n").encode()
    got = parse_with_kernel(body, threads=threads)
    assert got.flags.c_contiguous
    assert _bits(got) == _bits(values)


def test_a_bad_line_in_any_part_refuses_the_whole_body():
    rows = ["1.5,2.5"] * 4000
    for bad in (0, 1999, 3999):
        broken = rows.copy()
        broken[bad] = "1.5,x"
        body = ("\n".join(broken) + "\n").encode()
        assert parse_with_kernel(body, threads=4) is None
        assert parse_numeric_csv(body, threads=4) is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=3, max_size=3),
        min_size=1,
        max_size=30,
    )
)
def test_hypothesis_rows_of_floats(rows):
    text = "\n".join(",".join(repr(v) for v in row) for row in rows) + "\n"
    got = parse_with_kernel(text.encode())
    if got is None:  # only subnormal values are refused
        assert any(0 < abs(v) < SMALLEST_NORMAL for row in rows for v in row)
    else:
        _assert_exact(text, got)
    _assert_exact(text, parse_with_pyarrow(text.encode()))
    _assert_exact(text, parse_numeric_csv(text.encode()))


@pytest.mark.parametrize("threads", [None, 1, 2, 3, 4])
def test_write_csv_table_gives_the_bytes_of_one_pyarrow_write(threads):
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from clarify_common.numeric_csv import write_csv_table

    rng = np.random.default_rng(4)
    n = 10_001
    table = pa.table(
        {"p0": rng.random(n), "p1": rng.random(n), "label": rng.integers(0, 3, n), "name": ["a,b"] * n}
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    assert write_csv_table(table, threads) == sink.getvalue()
    back = parse_numeric_csv(write_csv_table(table.select(["p0", "p1"]), threads))
    assert _bits(back) == _bits(np.column_stack([table["p0"].to_numpy(), table["p1"].to_numpy()]))


def test_a_call_before_the_kernel_is_loaded_uses_pyarrow_and_does_not_wait(monkeypatch):
    never_started = threading.Thread(target=lambda: None)  # a loader that never finishes
    monkeypatch.setattr(numeric_csv, "_kernel", None)
    monkeypatch.setattr(numeric_csv, "_loader", never_started)
    text = "0.1,-2.5e-7\n3,4\n"
    _assert_exact(text, parse_numeric_csv(text.encode()))
    assert not numeric_csv.kernel_ready()


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_importing_the_parser_and_its_users_does_not_import_numba():
    code = (
        "import sys; import clarify_common.numeric_csv, local_endpoint.app, analyzer.model_client; "
        "print('numba' in sys.modules)"
    )
    assert _python(code) == "False"


def test_without_numba_pyarrow_parses_everything():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from clarify_common import numeric_csv as n\n"
        "print(n.load_kernel(), n.parse_numeric_csv(b'1.5,2\\n3,4').tolist())"
    )
    assert _python(code) == "False [[1.5, 2.0], [3.0, 4.0]]"
