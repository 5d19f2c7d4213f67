"""The compiled (numba) numeric CSV kernel: one pass over the bytes, no GIL, exact doubles.

Imported only through :mod:`clarify_common.numeric_csv`, which loads it in a background
thread the first time a CSV body is parsed (importing numba and loading the compiled code
from numba's cache takes about a second; compiling it, when no cache exists, ten or more),
and parses with pyarrow until it is ready.

Results are exact: each number is converted with Clinger's fast path when its decimal
mantissa and exponent allow it, otherwise with the Eisel-Lemire algorithm (as in the
``fast_float`` library that Arrow uses), so the double is the correctly rounded one,
identical to Python's ``float(text)``.

Only the plain form is handled: numbers written as ``[-+]digits[.digits][(e|E)[-+]digits]``,
separated by ``,``, lines ended by ``\\n`` (or ``\\r\\n``), the same number of fields on
every line, at most 19 significant digits, results that are normal doubles. For anything
else (quotes, strings, empty fields, ``nan``, blank lines, a ragged line, subnormal or
overflowing values) :func:`parse_lines` returns -1 and the caller uses pyarrow.
"""

from __future__ import annotations

import sys

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba.core import types
from numba.extending import intrinsic

__all__ = ["parse_lines"]

# --------------------------------------------------------------------------- tables


_SMALLEST_Q = -342  # 10**q for q below this rounds to zero from any 19-digit mantissa
_LARGEST_Q = 308  # ... and above this overflows


def _power_of_five_table() -> np.ndarray:
    """128-bit truncated powers of five for 10**q, q in [-342, 308] (fast_float's table)."""
    rows = []
    for q in range(_SMALLEST_Q, 0):
        power5 = 5**-q
        z = power5.bit_length()
        if q >= -27:
            c = 2 ** (z + 127) // power5 + 1
        else:
            c = 2 ** (2 * z + 128) // power5 + 1
            while c >= 1 << 128:
                c //= 2
        rows.append(c)
    for q in range(0, _LARGEST_Q + 1):
        power5 = 5**q
        while power5 < 1 << 127:
            power5 *= 2
        while power5 >= 1 << 128:
            power5 //= 2
        rows.append(power5)
    mask = (1 << 64) - 1
    return np.array([[c >> 64, c & mask] for c in rows], dtype=np.uint64)


_POW5 = _power_of_five_table()
_POW10 = np.array([10.0**k for k in range(23)])  # exact doubles
_POW2 = np.array([2.0**k for k in range(-1074, 972)])  # 2**(power2 - 1075), power2 in [1, 2046]

# --------------------------------------------------------------------------- kernel

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U10 = np.uint64(10)
_U32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO53 = np.uint64(1 << 53)
_TWO52 = np.uint64(1 << 52)
_PRECISION_MASK = np.uint64(0xFFFFFFFFFFFFFFFF >> 55)


@numba.njit(cache=True, nogil=True, inline="always")
def _mul128(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """Full 64x64 -> 128-bit product as ``(high, low)``."""
    a_lo = a & _LOW32
    a_hi = a >> _U32
    b_lo = b & _LOW32
    b_hi = b >> _U32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> _U32) + (p1 & _LOW32) + (p2 & _LOW32)
    low = (p0 & _LOW32) | (mid << _U32)
    high = p3 + (p1 >> _U32) + (p2 >> _U32) + (mid >> _U32)
    return high, low


@intrinsic
def _leading_zeros(typingctx, w):  # noqa: ARG001 - numba's intrinsic signature
    """Count of leading zero bits of a uint64 (LLVM's ``ctlz``: one instruction; 64 for 0)."""
    if w != types.uint64:
        return None
    sig = types.int64(w)

    def codegen(context, builder, signature, args):
        return builder.ctlz(args[0], llvm_ir.Constant(llvm_ir.IntType(1), 0))

    return sig, codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _to_double(w: np.uint64, q: int) -> tuple[float, bool]:
    """``w * 10**q`` correctly rounded; ``ok`` is False when the value is not a normal double."""
    if w == _U0:
        return 0.0, True
    if w <= _TWO53 and -22 <= q <= 22:  # Clinger: both operands exact, one rounding
        if q < 0:
            return float(w) / _POW10[-q], True
        return float(w) * _POW10[q], True
    if q < _SMALLEST_Q or q > _LARGEST_Q:
        return 0.0, False
    lz = _leading_zeros(w)
    w = w << np.uint64(lz)
    index = q - _SMALLEST_Q
    high, low = _mul128(w, _POW5[index, 0])
    if high & _PRECISION_MASK == _PRECISION_MASK:
        high2, _low2 = _mul128(w, _POW5[index, 1])
        low = low + high2
        if high2 > low:
            high = high + _U1
    upperbit = int(high >> np.uint64(63))
    shift = upperbit + 64 - 52 - 3
    mantissa = high >> np.uint64(shift)
    power2 = (((152170 + 65536) * q) >> 16) + 63 + upperbit - lz + 1023
    if power2 <= 0:
        return 0.0, False  # subnormal: left to the general reader
    if low <= _U1 and -4 <= q <= 23 and (mantissa & np.uint64(3)) == _U1:
        if (mantissa << np.uint64(shift)) == high:
            mantissa = mantissa & ~_U1  # exactly half-way: round to even
    mantissa = mantissa + (mantissa & _U1)
    mantissa = mantissa >> _U1
    if mantissa >= _TWO53:
        mantissa = _TWO52
        power2 += 1
    if power2 >= 0x7FF:
        return 0.0, False  # overflow
    # mantissa holds the implicit bit: value = mantissa * 2**(power2 - 1075)
    return float(mantissa) * _POW2[power2 - 1], True


_OVERFLOW = np.uint64(0xFFFFFFFFFFFFFFFF)  # w after a digit run too long for 64 bits
_W_MAX_BYTE = np.uint64((0xFFFFFFFFFFFFFFFF - 9) // 10)  # w * 10 + 9 still fits
_W_MAX_EIGHT = np.uint64((0xFFFFFFFFFFFFFFFF - 99999999) // 100000000)  # w * 1e8 + 99999999 fits
_E8 = np.uint64(100000000)
_ASCII_ZEROS = np.uint64(0x3030303030303030)
_DIGIT_CHECK_ADD = np.uint64(0x4646464646464646)
_HIGH_BITS = np.uint64(0x8080808080808080)
_BYTE_MASK = np.uint64(0x000000FF000000FF)
_MUL1 = np.uint64(0x000F424000000064)  # 100 + (1000000 << 32)
_MUL2 = np.uint64(0x0000271000000001)  # 1 + (10000 << 32)
_SWAR = sys.byteorder == "little"


@intrinsic
def _load_u64(typingctx, arr, idx):  # noqa: ARG001 - numba's intrinsic signature
    """Load 8 bytes of a uint8 array at ``idx`` as one (unaligned) uint64; no bounds check."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.uint8):
        return None
    sig = types.uint64(arr, types.intp)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        return builder.load(builder.bitcast(ptr, llvm_ir.IntType(64).as_pointer()), align=1)

    return sig, codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _digit_run(buf: np.ndarray, i: int, stop: int, w: np.uint64) -> tuple[int, np.uint64, int]:
    """Read the digits from ``buf[i]`` on into ``w``; returns ``(next i, w, digit count)``.

    Eight digits at a time where possible (fast_float's SWAR trick). ``w`` becomes
    ``_OVERFLOW`` when the digits do not fit in 64 bits.
    """
    n = 0
    if _SWAR:
        while i + 8 <= stop and w <= _W_MAX_EIGHT:
            v = _load_u64(buf, i)
            if ((v + _DIGIT_CHECK_ADD) | (v - _ASCII_ZEROS)) & _HIGH_BITS != _U0:
                break
            v = v - _ASCII_ZEROS
            v = v * _U10 + (v >> np.uint64(8))
            v = ((v & _BYTE_MASK) * _MUL1 + ((v >> np.uint64(16)) & _BYTE_MASK) * _MUL2) >> _U32
            w = w * _E8 + v
            i += 8
            n += 8
    while i < stop:
        d = int(buf[i]) - 48
        if d < 0 or d > 9:
            break
        if w > _W_MAX_BYTE:
            return i, _OVERFLOW, n
        w = w * _U10 + np.uint64(d)
        i += 1
        n += 1
    return i, w, n


@numba.njit(cache=True, nogil=True)
def parse_lines(
    buf: np.ndarray,
    start: int,
    stop: int,
    out: np.ndarray,
    row0: int,
) -> int:
    """Parse the complete lines of ``buf[start:stop]`` into ``out[row0:]``.

    Returns the number of rows written, or -1 when the text is not of the plain form.
    """
    ncol = out.shape[1]
    nrow = out.shape[0]
    i = start
    r = row0
    c = 0
    while i < stop:
        if r >= nrow:
            return -1
        negative = False
        ch = buf[i]
        if ch == 45:  # '-'
            negative = True
            i += 1
        elif ch == 43:  # '+'
            i += 1
        w = _U0
        q = 0
        i, w, n_int = _digit_run(buf, i, stop, w)
        n_frac = 0
        if i < stop and buf[i] == 46:  # '.'
            i, w, n_frac = _digit_run(buf, i + 1, stop, w)
            q = -n_frac
        if n_int + n_frac == 0 or w == _OVERFLOW:
            return -1
        if i < stop and (buf[i] == 101 or buf[i] == 69):  # 'e' / 'E'
            i += 1
            exp_negative = False
            if i < stop and buf[i] == 45:
                exp_negative = True
                i += 1
            elif i < stop and buf[i] == 43:
                i += 1
            exp_digits = 0
            e = 0
            while i < stop:
                d = int(buf[i]) - 48
                if d < 0 or d > 9:
                    break
                if e < 100000:
                    e = e * 10 + d
                exp_digits += 1
                i += 1
            if exp_digits == 0:
                return -1
            q += -e if exp_negative else e
        value, ok = _to_double(w, q)
        if not ok:
            return -1
        out[r, c] = -value if negative else value
        c += 1
        if i >= stop:
            return -1  # every line ends with a newline
        ch = buf[i]
        if ch == 44:  # ','
            if c >= ncol:
                return -1
            i += 1
            continue
        if ch == 13:  # '\r\n'
            i += 1
            if i >= stop or buf[i] != 10:
                return -1
            ch = 10
        if ch != 10 or c != ncol:
            return -1
        i += 1
        r += 1
        c = 0
    return r - row0
