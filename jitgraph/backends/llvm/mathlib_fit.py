"""Where the math library's polynomial coefficients come from (a development tool).

Each approximation is a ``Fit``: a function of one variable, an interval, a degree, and
whether the error that matters is relative or absolute. ``solve`` computes near-minimax
coefficients with mpmath at high precision: weighted least squares on Chebyshev nodes,
then Lawson's iteratively reweighted least squares, which moves the solution towards the
minimax (equioscillating) one. The coefficients are rounded to float64 and the error of
the ROUNDED polynomial is measured on a dense grid.

``python -m jitgraph.backends.llvm.mathlib_fit`` rewrites ``mathlib_coefficients.py``
(the only consumer of this module); it needs mpmath, which jitgraph itself does not.
Changing a fit here and regenerating is how a polynomial of the library is changed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FITS", "Fit", "solve"]


@dataclass(frozen=True)
class Fit:
    """``function`` (of an mpmath number; mpmath is passed as its first argument so this
    module imports without it) on [low, high] by a polynomial of ``degree``."""

    name: str
    function: Callable[[Any, Any], Any]
    low: float
    high: float
    degree: int
    relative: bool = True


def _exp_quotient(mp: Any, s: Any) -> Any:
    return mp.expm1(s) / s if s != 0 else mp.mpf(1)


def _exp2_quotient(mp: Any, r: Any) -> Any:
    return mp.expm1(r * mp.ln2) / r if r != 0 else mp.ln2


def _expm1_tail(mp: Any, r: Any) -> Any:
    """(expm1(r) - r) / r**2."""
    if abs(r) < mp.mpf(2) ** -40:
        return mp.mpf(1) / 2 + r / 6 + r * r / 24
    return (mp.expm1(r) - r) / (r * r)


def _log_tail(mp: Any, z: Any) -> Any:
    """(2 atanh(s) - 2 s) / s**3 as a function of z = s**2."""
    if z < mp.mpf(2) ** -60:
        return mp.mpf(2) / 3 + 2 * z / 5
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / (s * z)


def _log_tail5(mp: Any, z: Any) -> Any:
    """(2 atanh(s) - 2 s - 2 s**3 / 3) / s**5 as a function of z = s**2."""
    if z < mp.mpf(2) ** -60:
        return mp.mpf(2) / 5 + 2 * z / 7
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s - 2 * s * z / 3) / (s * z * z)


def _sin_tail(mp: Any, z: Any) -> Any:
    """(sin(r) - r) / r**3 in z = r**2."""
    if z < mp.mpf(2) ** -60:
        return -mp.mpf(1) / 6 + z / 120
    r = mp.sqrt(z)
    return (mp.sin(r) - r) / (r * z)


def _cos_tail(mp: Any, z: Any) -> Any:
    """(cos(r) - 1 + r**2/2) / r**4 in z = r**2."""
    if z < mp.mpf(2) ** -60:
        return mp.mpf(1) / 24 - z / 720
    r = mp.sqrt(z)
    return (mp.cos(r) - 1 + z / 2) / (z * z)


def _atan_tail(mp: Any, z: Any) -> Any:
    """(atan(t) - t) / t**3 in z = t**2."""
    if z < mp.mpf(2) ** -60:
        return -mp.mpf(1) / 3 + z / 5
    t = mp.sqrt(z)
    return (mp.atan(t) - t) / (t * z)


def _tanh_tail(mp: Any, z: Any) -> Any:
    """(tanh(x) - x) / x**3 in z = x**2."""
    if z < mp.mpf(2) ** -60:
        return -mp.mpf(1) / 3 + 2 * z / 15
    x = mp.sqrt(z)
    return (mp.tanh(x) - x) / (x * z)


def _erf_tail(mp: Any, z: Any) -> Any:
    """erf(x)/x - 1 in z = x**2."""
    if z < mp.mpf(2) ** -60:
        return 2 / mp.sqrt(mp.pi) - 1 - 2 * z / (3 * mp.sqrt(mp.pi))
    x = mp.sqrt(z)
    return mp.erf(x) / x - 1


def erfc_piece_center(low: float, high: float, reciprocal: bool) -> float:
    """The point a piece's polynomial is centered on, in its variable (x or 1/x)."""
    return (1 / low + 1 / high) / 2 if reciprocal else (low + high) / 2


def _erfc_scaled(low: float, high: float, reciprocal: bool) -> Callable[[Any, Any], Any]:
    """erfc(x) exp(x**2) as a function of v = x - the piece's center, or x erfc(x)
    exp(x**2) (about 1/sqrt(pi)) as a function of v = 1/x - the center: erfc(x) exp(x**2)
    itself is about (v + center)/sqrt(pi) there, and evaluating that polynomial would
    cancel."""
    center = erfc_piece_center(low, high, reciprocal)

    def function(mp: Any, v: Any) -> Any:
        x = 1 / (v + mp.mpf(center)) if reciprocal else v + mp.mpf(center)
        scaled = mp.erfc(x) * mp.exp(x * x)
        return scaled * x if reciprocal else scaled

    return function


LN2 = 0.6931471805599453
# Reduced arguments reach slightly past the nominal bounds (the reduction's quotient is
# rounded), so every interval gets a 2% margin.
_MARGIN = 1.02
_QUARTER_PI = 0.7853981633974483
# erfc(x) exp(x**2) for x >= ERFC_PIECES[0][0] (erfc underflows beyond 27.3), one
# polynomial per piece: in x - center near 1, in 1/x - center where it behaves like 1/x.
ERFC_PIECES = (
    (0.5, 1.0, False),
    (1.0, 1.6, False),
    (1.6, 2.6, True),
    (2.6, 4.5, True),
    (4.5, 9.0, True),
    (9.0, 28.0, True),
)


def _erfc_fits(precision: str, degree: int) -> list[Fit]:
    fits = []
    for index, (low, high, reciprocal) in enumerate(ERFC_PIECES):
        center = erfc_piece_center(low, high, reciprocal)
        half_width = abs(1 / low - center) if reciprocal else high - center
        fits.append(
            Fit(
                f"erfc{index}_{precision}",
                _erfc_scaled(low, high, reciprocal),
                -half_width * _MARGIN,
                half_width * _MARGIN,
                degree,
            )
        )
    return fits


def _fits(precision: str, degrees: dict[str, int]) -> list[Fit]:
    half_ln2 = LN2 / 2 * _MARGIN
    log_z = (((2**0.5 - 1) / (2**0.5 + 1)) * _MARGIN) ** 2
    trig_z = (_QUARTER_PI * _MARGIN) ** 2
    return [
        Fit(f"exp_{precision}", _exp_quotient, -half_ln2, half_ln2, degrees["exp"]),
        Fit(f"exp2_{precision}", _exp2_quotient, -0.5 * _MARGIN, 0.5 * _MARGIN, degrees["exp2"]),
        Fit(f"expm1_{precision}", _expm1_tail, -half_ln2, half_ln2, degrees["expm1"]),
        Fit(f"log_{precision}", _log_tail, 0.0, log_z, degrees["log"]),
        Fit(f"sin_{precision}", _sin_tail, 0.0, trig_z, degrees["sin"]),
        Fit(f"cos_{precision}", _cos_tail, 0.0, trig_z, degrees["cos"]),
        Fit(f"atan_{precision}", _atan_tail, 0.0, (7 / 16 * _MARGIN) ** 2, degrees["atan"]),
        Fit(f"tanh_{precision}", _tanh_tail, 0.0, 0.55**2 * _MARGIN, degrees["tanh"]),
        Fit(f"erf_{precision}", _erf_tail, 0.0, 0.5**2 * _MARGIN, degrees["erf"]),
        *_erfc_fits(precision, degrees["erfc"]),
    ]


FITS: list[Fit] = [
    *_fits(
        "f64",
        {
            "exp": 10,
            "exp2": 11,
            "expm1": 10,
            "log": 7,
            "sin": 6,
            "cos": 5,
            "atan": 11,
            "tanh": 11,
            "erf": 10,
            "erfc": 13,
        },
    ),
    Fit("log5_f64", _log_tail5, 0.0, (((2**0.5 - 1) / (2**0.5 + 1)) * _MARGIN) ** 2, 7),
    *_fits(
        "f32",
        {
            "exp": 6,
            "exp2": 6,
            "expm1": 6,
            "log": 3,
            "sin": 3,
            "cos": 3,
            "atan": 6,
            "tanh": 5,
            "erf": 5,
            "erfc": 8,
        },
    ),
]


def solve(fit: Fit, mp: Any, iterations: int = 12) -> tuple[list[float], float, float]:
    """Float64 coefficients (lowest degree first) of ``fit``, the max error (relative
    or absolute, as the fit says) of the polynomial with those rounded coefficients, and
    the rounding error of the constant coefficient (c0 = coefficients[0] + that, for
    evaluations that carry the constant as a double-double)."""
    count = 4 * (fit.degree + 1) + 40
    low, high = mp.mpf(fit.low), mp.mpf(fit.high)
    middle, half = (low + high) / 2, (high - low) / 2
    # Solved in the normalized variable u = (x - middle) / half in [-1, 1], where the
    # powers of u are well conditioned, then expanded into powers of x.
    units = [mp.cos(mp.pi * (2 * i + 1) / (2 * count)) for i in range(count)]
    nodes = [middle + half * u for u in units]
    values = [fit.function(mp, node) for node in nodes]
    scales = [abs(value) if fit.relative else mp.mpf(1) for value in values]
    weights = [mp.mpf(1)] * count
    normalized: list[Any] = []
    for _ in range(iterations):
        matrix = mp.matrix(
            [
                [weights[i] * units[i] ** j / scales[i] for j in range(fit.degree + 1)]
                for i in range(count)
            ]
        )
        target = mp.matrix([weights[i] * values[i] / scales[i] for i in range(count)])
        normalized = list(mp.qr_solve(matrix, target)[0])
        errors = [
            abs(mp.polyval(normalized[::-1], units[i]) - values[i]) / scales[i]
            for i in range(count)
        ]
        # Lawson: weights grow where the error is large, towards equioscillation.
        total = sum(weights[i] ** 2 * errors[i] for i in range(count))
        weights = [mp.sqrt(weights[i] ** 2 * errors[i] / total) for i in range(count)]
    exact = _expand(mp, normalized, middle, half)
    rounded = [float(c) for c in exact]
    return rounded, _max_error(fit, mp, rounded), float(exact[0] - mp.mpf(rounded[0]))


def _expand(mp: Any, normalized: list[Any], middle: Any, half: Any) -> list[Any]:
    """Coefficients in x of sum(a[j] ((x - middle) / half)**j)."""
    result = [mp.mpf(0)] * len(normalized)
    for j, coefficient in enumerate(normalized):
        for i in range(j + 1):
            term = coefficient * mp.binomial(j, i) * (-middle) ** (j - i) / half**j
            result[i] += term
    return result


def _max_error(fit: Fit, mp: Any, coefficients: list[float]) -> float:
    worst = mp.mpf(0)
    points = 2000
    for i in range(points + 1):
        x = mp.mpf(fit.low) + (mp.mpf(fit.high) - mp.mpf(fit.low)) * i / points
        exact = fit.function(mp, x)
        error = abs(mp.polyval([mp.mpf(c) for c in coefficients[::-1]], x) - exact)
        worst = max(worst, error / abs(exact) if fit.relative else error)
    return float(worst)


def two_over_pi_chunks(mp: Any, width: int, count: int) -> list[int]:
    """The bits of 2/pi after the binary point in ``width``-bit integers:
    2/pi = sum(c[i] * 2**(-width (i + 1)))."""
    with mp.workprec(width * count + 64):
        bits = int(mp.floor(2 / mp.pi * mp.mpf(2) ** (width * count)))
    mask = (1 << width) - 1
    return [(bits >> (width * (count - 1 - i))) & mask for i in range(count)]


def generate(mp: Any) -> str:
    """The text of ``mathlib_coefficients.py``."""
    mp.mp.prec = 128
    lines = [
        '"""Polynomial coefficients of the math library, lowest degree first. GENERATED by',
        "``python -m jitgraph.backends.llvm.mathlib_fit`` from the fits listed there: do not",
        'edit by hand. Each entry notes the max error of the rounded polynomial."""',
        "",
        "COEFFICIENTS: dict[str, tuple[float, ...]] = {",
    ]
    constant_lows = []
    for fit in FITS:
        coefficients, error, constant_low = solve(fit, mp)
        constant_lows.append(f'    "{fit.name}": {constant_low!r},')
        kind = "relative" if fit.relative else "absolute"
        lines.append(
            f"    # [{fit.low!r}, {fit.high!r}], degree {fit.degree}: {kind} error {error:.2e}"
        )
        lines.append(f'    "{fit.name}": (')
        lines.extend(f"        {c!r}," for c in coefficients)
        lines.append("    ),")
        print(f"{fit.name}: {kind} error {error:.2e}", file=sys.stderr)
    lines.append("}")
    lines.append("")
    lines.append(
        "# The rounding error of each constant coefficient: c0 = COEFFICIENTS[name][0] + this."
    )
    lines.append("CONSTANT_LOWS: dict[str, float] = {")
    lines.extend(constant_lows)
    lines.append("}")
    lines.append("")
    # float64 arguments: 48-bit chunks to 26 * 48 bits (x up to 2**1024); float32
    # arguments: 29-bit chunks to 12 * 29 bits (x up to 2**128).
    for width, count in ((48, 26), (29, 12)):
        lines.append(f"# 2/pi = sum(c[i] * 2**(-{width} (i + 1))): its bits in {width}-bit chunks.")
        lines.append(f"TWO_OVER_PI_CHUNKS_{width}: tuple[int, ...] = (")
        lines.extend(f"    0x{chunk:X}," for chunk in two_over_pi_chunks(mp, width, count))
        lines.append(")")
    return "\n".join(lines) + "\n"


def main() -> None:
    import mpmath  # a development tool's dependency

    target = Path(__file__).with_name("mathlib_coefficients.py")
    target.write_text(generate(mpmath))


if __name__ == "__main__":
    main()
