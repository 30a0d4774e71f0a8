"""The CUDA C prelude: the C types of the dtypes, exact literals, and the device helpers
(``jg_*``, ``__device__ __forceinline__``) the expressions of jitgraph/backends/cuda/scalar.py
call. Every translation unit includes ``PRELUDE`` once.

Integer helpers wrap (computed unsigned), follow NumPy's signs for floor_divide/remainder and
give 0 for a division by zero. Float helpers are NumPy's npy_divmod, NaN-propagating
maximum/minimum, sigmoid/softplus. Complex: NumPy's arithmetic loops operation for operation;
sqrt, exp, log and power are ports of glibc's csqrt, cexp, clog and cpow (NumPy calls them;
their hypot is glibc's, ``jg_hypot``, bit-exact: glibc 2.35+'s correctly-rounded-ish kernel
for double, float through double), power with NumPy's special cases of nc_pow. The other
complex functions compute in complex128 (complex64 rounds) with textbook formulas written
against cancellation and with the branch cuts' signed zeros kept. These rely on the compile
flags of compile.py: no contraction (``-fmad=false``), IEEE division and square root.
"""

from __future__ import annotations

import re

import numpy as np

from jitgraph import dtypes

__all__ = [
    "COMPLEX_FUNCTION_NAMES",
    "COMPLEX_PART",
    "C_TYPES",
    "MATH_SUFFIX",
    "PRELUDE",
    "literal",
    "wide_unsigned",
]

C_TYPES: dict[str, str] = {
    "bool": "bool",
    "int8": "signed char",
    "int16": "short",
    "int32": "int",
    "int64": "long long",
    "uint8": "unsigned char",
    "uint16": "unsigned short",
    "uint32": "unsigned int",
    "uint64": "unsigned long long",
    "float16": "__half",
    "float32": "float",
    "float64": "double",
    "complex64": "jg_complex64",
    "complex128": "jg_complex128",
}
COMPLEX_PART = {"complex64": "float32", "complex128": "float64"}
MATH_SUFFIX = {"float32": "f", "float64": ""}  # CUDA's float32 math functions end in f


# ============================================================================ the prelude
def _bits(dtype: str) -> int:
    return 8 * np.dtype(dtype).itemsize


def wide_unsigned(dtype: str) -> str:
    """The unsigned type integer arithmetic of ``dtype`` wraps in (no UB, no promotion)."""
    return "unsigned long long" if _bits(dtype) == 64 else "unsigned int"


def _integer_helpers(dtype: str) -> str:
    """floor_divide, remainder, power, abs and shifts of one integer dtype (overloads)."""
    t, u, bits = C_TYPES[dtype], wide_unsigned(dtype), _bits(dtype)
    same_width = C_TYPES["u" + dtype.lstrip("u")] if dtypes.kind(dtype) == "i" else t
    signed = dtypes.kind(dtype) == "i"
    minimum = literal(np.iinfo(dtype).min, dtype)
    overflow = f"if (x == {minimum} && y == ({t})-1) return x;" if signed else ""
    floor_fix = (
        "T r = (T)(x % y); if (r != 0 && ((r < 0) != (y < 0))) q = (T)(q - 1);" if signed else ""
    )
    remainder_fix = "if (r != 0 && ((r < 0) != (y < 0))) r = (T)(r + y);" if signed else ""
    minus_one = "if (y == (T)-1) return 0;" if signed else ""
    negative_power = (
        "if (e < 0) return b == 1 ? (T)1 : b == (T)-1 ? ((e & 1) ? (T)-1 : (T)1) : (T)0;"
        if signed
        else ""
    )
    sign_fill = "(T)(x < 0 ? -1 : 0)" if signed else "(T)0"
    absolute = "x < 0 ? (T)((U)0 - (U)x) : x" if signed else "x"
    text = f"""
JG_DEVICE T jg_floor_divide(T x, T y) {{
  if (y == 0) return 0;
  {overflow}
  T q = (T)(x / y);
  {floor_fix}
  return q;
}}
JG_DEVICE T jg_remainder(T x, T y) {{
  if (y == 0) return 0;
  {minus_one}
  T r = (T)(x % y);
  {remainder_fix}
  return r;
}}
JG_DEVICE T jg_power(T b, T e) {{
  {negative_power}
  U result = 1, power = (U)b; W bits = (W)e;
  while (bits) {{ if (bits & 1) result *= power; power *= power; bits >>= 1; }}
  return (T)result;
}}
JG_DEVICE T jg_absolute(T x) {{ return {absolute}; }}
JG_DEVICE T jg_left_shift(T x, T n) {{ return (W)n < {bits} ? (T)((U)x << (W)n) : (T)0; }}
JG_DEVICE T jg_right_shift(T x, T n) {{ return (W)n < {bits} ? (T)(x >> (W)n) : {sign_fill}; }}
"""
    for letter, c_type in (("T", t), ("U", u), ("W", same_width)):
        text = re.sub(rf"\b{letter}\b", c_type, text)
    return text


_REAL_HELPERS = """
JG_DEVICE R jg_add(R a, R b) { return ADD(a, b); }
JG_DEVICE R jg_sub(R a, R b) { return SUB(a, b); }
JG_DEVICE R jg_mul(R a, R b) { return MUL(a, b); }
JG_DEVICE R jg_floor_divide(R a, R b) {
  if (b == (R)0) return a / b;
  R mod = fmodS(a, b);
  R div = jg_sub(a, mod) / b;
  if (mod != (R)0 && ((b < (R)0) != (mod < (R)0))) div = jg_sub(div, (R)1);
  if (div == (R)0) return copysignS((R)0, a / b);
  R whole = floorS(div);
  return jg_sub(div, whole) > (R)0.5 ? jg_add(whole, (R)1) : whole;
}
JG_DEVICE R jg_remainder(R a, R b) {
  R mod = fmodS(a, b);
  if (b == (R)0) return mod;
  if (mod == (R)0) return copysignS((R)0, b);
  return ((b < (R)0) != (mod < (R)0)) ? jg_add(mod, b) : mod;
}
JG_DEVICE R jg_maximum(R x, R y) { return (x > y || x != x) ? x : y; }
JG_DEVICE R jg_minimum(R x, R y) { return (x < y || x != x) ? x : y; }
JG_DEVICE R jg_sign(R x) { return x > (R)0 ? (R)1 : x < (R)0 ? (R)-1 : x == (R)0 ? (R)0 : x; }
JG_DEVICE R jg_angle(R x) { return x != x ? x : copysignS((R)1, x) < (R)0 ? (R)PI : (R)0; }
JG_DEVICE R jg_sigmoid(R x) {
  if (x < (R)0) { R e = expS(x); return e / jg_add((R)1, e); }
  return (R)1 / jg_add((R)1, expS(-x));
}
JG_DEVICE R jg_softplus(R x) {
  if (x == (R)0) return (R)LN2;
  if (x > (R)0) return jg_add(x, log1pS(expS(-x)));
  return x <= (R)0 ? log1pS(expS(x)) : x;
}
"""

# Complex arithmetic, one copy per complex type C with part type R (and math suffix S).
# glibc's hypot (2.35+; the kernel without FMA, which x86-64 builds use) and hypotf (exact
# squares summed in double), bit-exact: NumPy's csqrt, clog and nc_log1p call them. And
# glibc's x2y2m1 (x*x + y*y - 1 without cancellation) of its clog.
_HYPOT = """
JG_DEVICE double jg_hypot_kernel(double ax, double ay) {
  double h = sqrt(ax * ax + ay * ay), t1, t2;
  if (h <= 2.0 * ay) {
    double delta = h - ay;
    t1 = ax * (2.0 * delta - ax);
    t2 = (delta - 2.0 * (ax - ay)) * delta;
  } else {
    double delta = h - ax;
    t1 = 2.0 * delta * (ax - 2.0 * ay);
    t2 = (4.0 * delta - ay) * ay + delta * delta;
  }
  return h - (t1 + t2) / (2.0 * h);
}
JG_DEVICE double jg_hypot(double x, double y) {
  if (!isfinite(x) || !isfinite(y)) return (isinf(x) || isinf(y)) ? INF64 : x + y;
  x = fabs(x); y = fabs(y);
  double ax = x < y ? y : x, ay = x < y ? x : y;
  if (ax > 0x1p+511) {
    if (ay <= ax * 0x1p-54) return ax + ay;
    return jg_hypot_kernel(ax * 0x1p-600, ay * 0x1p-600) / 0x1p-600;
  }
  if (ay < 0x1p-511) {
    if (ax >= ay / 0x1p-54) return ax + ay;
    return jg_hypot_kernel(ax / 0x1p-600, ay / 0x1p-600) * 0x1p-600;
  }
  if (ay <= ax * 0x1p-54) return ax + ay;
  return jg_hypot_kernel(ax, ay);
}
JG_DEVICE float jg_hypot(float x, float y) {
  if (!isfinite(x) || !isfinite(y)) return (isinf(x) || isinf(y)) ? (float)INF64 : x + y;
  double dx = x, dy = y;
  return (float)sqrt(dx * dx + dy * dy);
}
JG_DEVICE float jg_x2y2m1(float x, float y) {
  double dx = x, dy = y;
  return (float)((dx - 1.0) * (dx + 1.0) + dy * dy);
}
/* Insertion sort of v[from..4] by magnitude (glibc sorts with qsort). */
JG_DEVICE void jg_sort_by_magnitude(double* v, int from) {
  for (int i = from + 1; i < 5; ++i) {
    double key = v[i];
    int j = i - 1;
    while (j >= from && fabs(v[j]) > fabs(key)) { v[j + 1] = v[j]; --j; }
    v[j + 1] = key;
  }
}
/* The exact squares (fma splits) and -1, summed smallest first with exact additions. */
JG_DEVICE double jg_x2y2m1(double x, double y) {
  double v[5];
  v[1] = x * x; v[0] = fma(x, x, -v[1]);
  v[3] = y * y; v[2] = fma(y, y, -v[3]);
  v[4] = -1.0;
  jg_sort_by_magnitude(v, 0);
  for (int i = 0; i <= 3; ++i) {
    double high = v[i + 1] + v[i];
    v[i] = (v[i + 1] - high) + v[i];
    v[i + 1] = high;
    jg_sort_by_magnitude(v, i + 1);
  }
  return v[4] + v[3] + v[2] + v[1] + v[0];
}
"""

_COMPLEX_ARITHMETIC = """
JG_DEVICE C jg_make(R re, R im) { C z; z.re = re; z.im = im; return z; }
JG_DEVICE C jg_add(C x, C y) { return jg_make(jg_add(x.re, y.re), jg_add(x.im, y.im)); }
JG_DEVICE C jg_subtract(C x, C y) { return jg_make(jg_sub(x.re, y.re), jg_sub(x.im, y.im)); }
JG_DEVICE C jg_negative(C x) { return jg_make(-x.re, -x.im); }
JG_DEVICE C jg_conj(C x) { return jg_make(x.re, -x.im); }
JG_DEVICE bool jg_nonzero(C x) { return x.re != (R)0 || x.im != (R)0; }
JG_DEVICE bool jg_equal(C x, C y) { return x.re == y.re && x.im == y.im; }
JG_DEVICE R jg_absolute(C x) { return hypotS(x.re, x.im); }
JG_DEVICE C jg_scale(C x, R factor) { return jg_make(jg_mul(x.re, factor), jg_mul(x.im, factor)); }
/* NumPy's SIMD loops fuse one product of each part (FMA hosts). */
JG_DEVICE C jg_multiply(C x, C y) {
  return jg_make(fmaS(x.re, y.re, -jg_mul(x.im, y.im)), fmaS(x.re, y.im, jg_mul(x.im, y.re)));
}
JG_DEVICE C jg_square(C x) { return jg_multiply(x, x); }
/* npymath's cmul, unfused (npy_cpow's integral powers). */
JG_DEVICE C jg_multiply_plain(C x, C y) {
  return jg_make(jg_sub(jg_mul(x.re, y.re), jg_mul(x.im, y.im)),
                 jg_add(jg_mul(x.re, y.im), jg_mul(x.im, y.re)));
}
/* NumPy's complex division loop (Smith's algorithm), operation for operation. */
JG_DEVICE C jg_true_divide(C x, C y) {
  R abs_re = fabsS(y.re), abs_im = fabsS(y.im);
  if (abs_re >= abs_im) {
    if (abs_re == (R)0 && abs_im == (R)0) return jg_make(x.re / abs_re, x.im / abs_im);
    R ratio = y.im / y.re, scale = (R)1 / jg_add(y.re, jg_mul(y.im, ratio));
    return jg_make(jg_mul(jg_add(x.re, jg_mul(x.im, ratio)), scale),
                   jg_mul(jg_sub(x.im, jg_mul(x.re, ratio)), scale));
  }
  R ratio = y.re / y.im, scale = (R)1 / jg_add(y.im, jg_mul(y.re, ratio));
  return jg_make(jg_mul(jg_add(jg_mul(x.re, ratio), x.im), scale),
                 jg_mul(jg_sub(jg_mul(x.im, ratio), x.re), scale));
}
/* NumPy's complex reciprocal loop. */
JG_DEVICE C jg_reciprocal(C x) {
  if (fabsS(x.im) <= fabsS(x.re)) {
    R ratio = x.im / x.re, denominator = jg_add(x.re, jg_mul(x.im, ratio));
    return jg_make((R)1 / denominator, -ratio / denominator);
  }
  R ratio = x.re / x.im, denominator = jg_add(jg_mul(x.re, ratio), x.im);
  return jg_make(ratio / denominator, (R)-1 / denominator);
}
/* glibc's csqrt (NumPy calls it; sqrt is exact in the table), in the part precision. */
JG_DEVICE C jg_sqrt(C z) {
  R x = z.re, y = z.im;
  if (isinf(y)) return jg_make(fabsS(y), y);
  if (isnan(x)) return jg_make(x, x);  /* glibc: NaN + NaN i, a zero y included */
  if (isinf(x)) {
    if (x > (R)0) return jg_make(x, isnan(y) ? y : copysignS((R)0, y));
    return jg_make(isnan(y) ? y : (R)0, copysignS(-x, y));
  }
  if (isnan(y)) return jg_make(y, y);
  if (y == (R)0) {
    if (x < (R)0) return jg_make((R)0, copysignS(sqrtS(-x), y));
    return jg_make(fabsS(sqrtS(x)), copysignS((R)0, y));
  }
  if (x == (R)0) {
    R r = fabsS(y) >= (R)TWO_MIN ? sqrtS((R)0.5 * fabsS(y)) : (R)0.5 * sqrtS((R)2 * fabsS(y));
    return jg_make(r, copysignS(r, y));
  }
  int scale = 0;
  if (fabsS(x) > (R)QUARTER_MAX) {
    scale = 1; x = scalbnS(x, -2); y = scalbnS(y, -2);
  } else if (fabsS(y) > (R)QUARTER_MAX) {
    scale = 1; x = fabsS(x) >= (R)2 * (R)TWO_MIN ? scalbnS(x, -2) : (R)0; y = scalbnS(y, -2);
  } else if (fabsS(x) < (R)TWO_MIN && fabsS(y) < (R)TWO_MIN) {
    scale = -SQRT_SCALE; x = scalbnS(x, 2 * SQRT_SCALE); y = scalbnS(y, 2 * SQRT_SCALE);
  }
  R d = jg_hypot(x, y), r, s;
  if (x > (R)0) {
    r = sqrtS((R)0.5 * (d + x));
    if (scale == 1 && fabsS(y) < (R)1) { s = y / r; r = scalbnS(r, scale); scale = 0; }
    else s = (R)0.5 * (y / r);
  } else {
    s = sqrtS((R)0.5 * (d - x));
    if (scale == 1 && fabsS(y) < (R)1) { r = fabsS(y / s); s = scalbnS(s, scale); scale = 0; }
    else r = fabsS((R)0.5 * (y / s));
  }
  if (scale) { r = scalbnS(r, scale); s = scalbnS(s, scale); }
  return jg_make(r, copysignS(s, y));
}
/* glibc's cexp, in the part precision (cexpf for complex64). */
JG_DEVICE C jg_cexp(C z) {
  R x = z.re, y = z.im, sine, cosine;
  if (isfinite(x)) {
    if (!isfinite(y)) return jg_make(y - y, y - y);
    if (fabsS(y) > (R)MIN) sincosS(y, &sine, &cosine);
    else { sine = y; cosine = (R)1; }
    const R t = (R)EXP_LIMIT;
    if (x > t) {
      R exp_t = expS(t);
      x -= t; sine *= exp_t; cosine *= exp_t;
      if (x > t) { x -= t; sine *= exp_t; cosine *= exp_t; }
    }
    if (x > t) return jg_make((R)MAX * cosine, (R)MAX * sine);
    R e = expS(x);
    return jg_make(e * cosine, e * sine);
  }
  if (isinf(x)) {
    if (isfinite(y)) {
      R value = signbit(x) ? (R)0 : x;
      if (y == (R)0) return jg_make(value, y);
      if (fabsS(y) > (R)MIN) sincosS(y, &sine, &cosine);
      else { sine = y; cosine = (R)1; }
      return jg_make(copysignS(value, cosine), copysignS(value, sine));
    }
    if (!signbit(x)) return jg_make(x, y - y);
    return jg_make((R)0, copysignS((R)0, y));
  }
  return jg_make(x, y == (R)0 ? y : x);
}
/* glibc's clog, in the part precision (clogf for complex64). */
JG_DEVICE C jg_clog(C z) {
  R x = z.re, y = z.im, re;
  if (x == (R)0 && y == (R)0) {
    R im = copysignS(signbit(x) ? (R)PI : (R)0, y);
    return jg_make((R)-1 / fabsS(x), im);
  }
  if (isnan(x) || isnan(y)) {
    R infinity = fabsS(isinf(x) ? x : y);
    return jg_make(isinf(x) || isinf(y) ? infinity : x + y, x + y);
  }
  R big = fabsS(x), small = fabsS(y);
  if (big < small) { R t = big; big = small; small = t; }
  int scale = 0;
  if (big > (R)MAX / (R)2) {
    scale = -1;
    big = scalbnS(big, scale);
    small = small >= (R)MIN * (R)2 ? scalbnS(small, scale) : (R)0;
  } else if (big < (R)MIN && small < (R)MIN) {
    scale = MANT_DIG; big = scalbnS(big, scale); small = scalbnS(small, scale);
  }
  if (big == (R)1 && scale == 0) {
    re = log1pS(small * small) / (R)2;
  } else if (big > (R)1 && big < (R)2 && small < (R)1 && scale == 0) {
    R d2m1 = (big - (R)1) * (big + (R)1);
    if (small >= (R)EPSILON) d2m1 += small * small;
    re = log1pS(d2m1) / (R)2;
  } else if (big < (R)1 && big >= (R)0.5 && small < (R)EPSILON / (R)2 && scale == 0) {
    re = log1pS((big - (R)1) * (big + (R)1)) / (R)2;
  } else if (big < (R)1 && big >= (R)0.5 && scale == 0 && big * big + small * small >= (R)0.5) {
    re = log1pS(jg_x2y2m1(big, small)) / (R)2;
  } else {
    re = logS(jg_hypot(big, small)) - (R)scale * (R)LN2;
  }
  return jg_make(re, atan2S(y, x));
}
/* NumPy's nc_pow: 1 for a zero exponent, 0 or NaN for a zero base, repeated squaring for
   integral exponents in (-100, 100), else the C library's cpow: glibc's
   cexp(b * clog(a)), all in the part precision as NumPy computes it. */
JG_DEVICE C jg_power(C a, C b) {
  if (b.re == (R)0 && b.im == (R)0) return jg_make((R)1, (R)0);
  if (a.re == (R)0 && a.im == (R)0) {
    return b.re > (R)0 ? jg_make((R)0, (R)0) : jg_make((R)NAN, (R)NAN);
  }
  if (b.im == (R)0 && fabsS(b.re) < (R)100 && truncS(b.re) == b.re) {
    int n = (int)b.re;
    if (n == 1) return a;
    if (n == 2) return jg_multiply_plain(a, a);
    if (n == 3) return jg_multiply_plain(a, jg_multiply_plain(a, a));
    C result = jg_make((R)1, (R)0), power = a;
    for (int m = n < 0 ? -n : n; m; m >>= 1) {
      if (m & 1) result = jg_multiply_plain(result, power);
      power = jg_multiply_plain(power, power);
    }
    return n < 0 ? jg_true_divide(jg_make((R)1, (R)0), result) : result;
  }
  return jg_cexp(jg_multiply_plain(b, jg_clog(a)));
}
/* NumPy's nc_expm1 and nc_log1p, in the part precision as NumPy computes them. */
JG_DEVICE C jg_expm1(C x) {
  R half_sine = sinS(x.im / (R)2);
  R re = jg_sub(jg_mul(expm1S(x.re), cosS(x.im)), jg_mul(jg_mul((R)2, half_sine), half_sine));
  return jg_make(re, jg_mul(expS(x.re), sinS(x.im)));
}
JG_DEVICE C jg_log1p(C x) {
  R shifted = jg_add(x.re, (R)1);
  return jg_make(logS(jg_hypot(shifted, x.im)), atan2S(x.im, shifted));
}
"""

# The complex128 functions (complex64 calls them and rounds). C99 special values for exp,
# log and sqrt; textbook formulas for the rest.
_COMPLEX_FUNCTIONS = """
JG_DEVICE jg_complex128 jg_exp(jg_complex128 z) { return jg_cexp(z); }
JG_DEVICE jg_complex128 jg_log(jg_complex128 z) { return jg_clog(z); }
JG_DEVICE jg_complex128 jg_sinh(jg_complex128 z) {
  if (z.im == 0.0) return jg_make(sinh(z.re), z.im);
  if (z.re == 0.0 && !isfinite(z.im)) return jg_make(z.re, z.im - z.im);
  return jg_make(sinh(z.re) * cos(z.im), cosh(z.re) * sin(z.im));
}
JG_DEVICE jg_complex128 jg_cosh(jg_complex128 z) {
  if (z.im == 0.0) return jg_make(cosh(z.re), signbit(z.re) ? -z.im : z.im);
  if (z.re == 0.0 && !isfinite(z.im)) return jg_make(z.im - z.im, 0.0);
  return jg_make(cosh(z.re) * cos(z.im), sinh(z.re) * sin(z.im));
}
JG_DEVICE jg_complex128 jg_tanh(jg_complex128 z) {  /* Kahan */
  double x = z.re, y = z.im;
  if (isnan(x)) return jg_make(x, y == 0.0 ? y : x);
  if (fabs(x) > 22.0) {
    double im = isfinite(y) ? 4.0 * sin(y) * cos(y) * exp(-2.0 * fabs(x)) : copysign(0.0, y);
    return jg_make(copysign(1.0, x), im);
  }
  if (y == 0.0) return jg_make(tanh(x), y);
  double t = tan(y), beta = 1.0 + t * t, s = sinh(x), rho = sqrt(1.0 + s * s);
  double denominator = 1.0 + beta * s * s;
  return jg_make(beta * rho * s / denominator, t / denominator);
}
/* log(1 + u) without the cancellation of forming 1 + u (small u). */
JG_DEVICE jg_complex128 jg_log_one_plus(jg_complex128 u) {
  if (fabs(u.re) > 0.5 || fabs(u.im) > 0.5 || u.re != u.re || u.im != u.im) {
    return jg_log(jg_make(1.0 + u.re, u.im));
  }
  double re = 0.5 * log1p(u.re * (2.0 + u.re) + u.im * u.im);
  return jg_make(re, atan2(u.im, 1.0 + u.re));
}
JG_DEVICE jg_complex128 jg_times_i(jg_complex128 z) { return jg_make(-z.im, z.re); }
JG_DEVICE jg_complex128 jg_times_minus_i(jg_complex128 z) { return jg_make(z.im, -z.re); }
JG_DEVICE jg_complex128 jg_sin(jg_complex128 z) { return jg_times_minus_i(jg_sinh(jg_times_i(z))); }
JG_DEVICE jg_complex128 jg_cos(jg_complex128 z) { return jg_cosh(jg_times_i(z)); }
JG_DEVICE jg_complex128 jg_tan(jg_complex128 z) { return jg_times_minus_i(jg_tanh(jg_times_i(z))); }
JG_DEVICE jg_complex128 jg_arcsinh(jg_complex128 z) {
  bool flip = signbit(z.re);
  jg_complex128 w = flip ? jg_negative(z) : z;
  jg_complex128 r;
  if (fabs(w.re) > 1e150 || fabs(w.im) > 1e150) {
    r = jg_log(w); r.re += 0x1.62e42fefa39efp-1;
  } else {
    /* log(w + s) = log(1 + w + (s - 1)), s = sqrt(w^2 + 1), s - 1 = w^2 / (s + 1). */
    jg_complex128 square = jg_multiply_plain(w, w);
    /* 1 is added to real parts only: the imaginary parts keep their signed zeros. */
    jg_complex128 s = jg_sqrt(jg_make(square.re + 1.0, square.im));
    r = jg_log_one_plus(jg_add(w, jg_true_divide(square, jg_make(s.re + 1.0, s.im))));
  }
  if (isnan(z.re) && z.im == 0.0) r.im = z.im;
  return flip ? jg_negative(r) : r;
}
JG_DEVICE jg_complex128 jg_arcsin(jg_complex128 z) {
  return jg_times_minus_i(jg_arcsinh(jg_times_i(z)));
}
JG_DEVICE jg_complex128 jg_arccosh(jg_complex128 z) {
  jg_complex128 one = jg_make(1.0, 0.0), r;
  if (fabs(z.re) > 1e150 || fabs(z.im) > 1e150) {
    r = jg_log(z); r.re += 0x1.62e42fefa39efp-1;
    return r;
  }
  jg_complex128 w =
      jg_multiply_plain(jg_sqrt(jg_make(z.re + 1.0, z.im)), jg_sqrt(jg_subtract(z, one)));
  r = jg_log_one_plus(jg_add(jg_subtract(z, one), w));
  return r.re < 0.0 ? jg_negative(r) : r;
}
/* acos(w) = -i acosh(w) in the upper half plane; acos(conj z) = conj(acos(z)). */
JG_DEVICE jg_complex128 jg_arccos(jg_complex128 z) {
  jg_complex128 a = jg_arccosh(jg_make(z.re, fabs(z.im)));
  return jg_make(fabs(a.im), signbit(z.im) ? a.re : -a.re);
}
JG_DEVICE jg_complex128 jg_arctanh(jg_complex128 z) {
  jg_complex128 r = jg_subtract(jg_log_one_plus(z), jg_log_one_plus(jg_negative(z)));
  return jg_make(0.5 * r.re, 0.5 * r.im);
}
JG_DEVICE jg_complex128 jg_arctan(jg_complex128 z) {
  return jg_times_minus_i(jg_arctanh(jg_times_i(z)));
}
/* SciPy's psi (digamma): reflection for x < 0, the recurrence up to x >= 10, then the
   asymptotic series. Relative error ~1e-15 (~1e-12 next to the positive root). */
JG_DEVICE double jg_psi(double x) {
  if (x == 0.0) return -copysign(INF64, x);
  if (x != x || x == -INF64) return NAN64;
  if (x == INF64) return x;
  double result = 0.0;
  if (x < 0.0) {
    if (x == floor(x)) return NAN64;
    result = -0x1.921fb54442d18p+1 * cospi(x) / sinpi(x);
    x = 1.0 - x;
  }
  while (x < 10.0) { result -= 1.0 / x; x += 1.0; }
  double z = 1.0 / (x * x);
  double tail = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240
                - z * (1.0 / 132 - z * (691.0 / 32760 - z / 12.0))))));
  return result + log(x) - 0.5 / x - tail;
}
"""
COMPLEX_FUNCTION_NAMES = (
    "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
)  # fmt: skip

_HALF_HELPERS = """
JG_DEVICE __half jg_maximum(__half x, __half y) {
  float a = __half2float(x), b = __half2float(y);
  return (a >= b || a != a) ? x : y;
}
JG_DEVICE __half jg_minimum(__half x, __half y) {
  float a = __half2float(x), b = __half2float(y);
  return (a <= b || a != a) ? x : y;
}
/* NumPy's float16 nextafter. */
JG_DEVICE __half jg_nextafter(__half x, __half y) {
  float a = __half2float(x), b = __half2float(y);
  if (a != a || b != b) return __float2half_rn(a + b);
  if (a == b) return x;  /* npy_half_nextafter answers x (float32/64's C nextafter: y) */
  if (a == 0.0f) return __ushort_as_half((unsigned short)((__half_as_ushort(y) & 0x8000u) | 1u));
  unsigned short bits = __half_as_ushort(x);
  return __ushort_as_half((unsigned short)(((a < b) != (a < 0.0f)) ? bits + 1 : bits - 1));
}
"""

# NumPy's float -> integer conversions on x86-64 (see the LLVM backend's types.cast):
# truncation, INT_MIN for NaN and out-of-range values.
_CONVERSIONS = """
JG_DEVICE int jg_x86_int32(double v) {
  return (v >= -2147483648.0 && v < 2147483648.0) ? (int)v : (-2147483647 - 1);
}
JG_DEVICE long long jg_x86_int64(double v) {
  return (v >= -9223372036854775808.0 && v < 9223372036854775808.0) ? (long long)v
                                                                     : (-9223372036854775807LL - 1);
}
JG_DEVICE unsigned int jg_x86_uint32(double v) {
  if (v < 2147483648.0 || v != v) return (unsigned int)jg_x86_int32(v);
  return (unsigned int)jg_x86_int32(v - 2147483648.0) ^ 0x80000000u;
}
JG_DEVICE unsigned long long jg_x86_uint64(double v) {
  if (v < 9223372036854775808.0 || v != v) return (unsigned long long)jg_x86_int64(v);
  return (unsigned long long)jg_x86_int64(v - 9223372036854775808.0) ^ 0x8000000000000000ULL;
}
JG_DEVICE jg_complex128 jg_to_complex128(jg_complex64 z) {
  return jg_make((double)z.re, (double)z.im);
}
JG_DEVICE jg_complex64 jg_to_complex64(jg_complex128 z) {
  return jg_make((float)z.re, (float)z.im);
}
"""


def _real_text(template: str, dtype: str) -> str:
    """``template`` for the float dtype: ``R`` the C type, ``fS(`` CUDA's function ``f``
    of that type (``expf``/``exp``), ADD/SUB/MUL the uncontracted intrinsics, PI/LN2."""
    short = "f" if dtype == "float32" else "d"
    names = {
        "ADD(": f"__{short}add_rn(",
        "SUB(": f"__{short}sub_rn(",
        "MUL(": f"__{short}mul_rn(",
        "(R)PI": literal(np.pi, dtype),
        "(R)LN2": literal(np.log(2.0), dtype),
        "(R)QUARTER_MAX": literal(np.finfo(dtype).max / 4, dtype),
        "(R)TWO_MIN": literal(np.finfo(dtype).tiny * 2, dtype),
        "SQRT_SCALE": str((np.finfo(dtype).nmant + 2) // 2),
        "(R)MAX": literal(np.finfo(dtype).max, dtype),
        "(R)MIN": literal(np.finfo(dtype).tiny, dtype),
        "(R)EPSILON": literal(np.finfo(dtype).eps, dtype),
        "(R)NAN": literal(np.nan, dtype),
        "(R)EXP_LIMIT": f"(R){int((np.finfo(dtype).maxexp - 1) * np.log(2.0))}",
        "MANT_DIG": str(np.finfo(dtype).nmant + 1),
    }
    for key, value in names.items():
        template = template.replace(key, value)
    template = re.sub(r"\b([a-z][a-z0-9]*)S\(", rf"\g<1>{MATH_SUFFIX[dtype]}(", template)
    return re.sub(r"\bR\b", C_TYPES[dtype], template)


def _complex_text(dtype: str) -> str:
    """The complex arithmetic template for ``dtype``: ``C`` the struct, ``R`` its part."""
    return re.sub(r"\bC\b", C_TYPES[dtype], _real_text(_COMPLEX_ARITHMETIC, COMPLEX_PART[dtype]))


def _complex64_forwarders() -> str:
    """complex64 functions computed in complex128 and rounded."""
    lines = [
        f"JG_DEVICE jg_complex64 jg_{name}(jg_complex64 z) "
        f"{{ return jg_to_complex64(jg_{name}(jg_to_complex128(z))); }}"
        for name in COMPLEX_FUNCTION_NAMES
    ]
    return "\n".join(lines) + "\n"


def _build_prelude() -> str:
    header = (
        "/* jitgraph CUDA prelude: dtypes, NumPy semantics (jitgraph/backends/cuda/scalar.py) */\n"
        "#include <cuda_fp16.h>\n"
        "#define JG_DEVICE __device__ __forceinline__\n"
        "#define NAN64 __longlong_as_double(0x7ff8000000000000LL)\n"
        "#define INF64 __longlong_as_double(0x7ff0000000000000LL)\n"
        "struct jg_complex64 { float re; float im; };\n"
        "struct jg_complex128 { double re; double im; };\n"
    )
    # jg_make overloads on the part type: the arithmetic template builds with it.
    parts = [header]
    for dtype in dtypes.INTEGER:
        parts.append(_integer_helpers(dtype))
    for dtype in ("float32", "float64"):
        parts.append(_real_text(_REAL_HELPERS, dtype))
    parts.append(_HALF_HELPERS)
    parts.append(_HYPOT)
    for dtype in ("complex64", "complex128"):
        parts.append(_complex_text(dtype))
    parts.append(_CONVERSIONS)
    parts.append(_COMPLEX_FUNCTIONS)
    parts.append(_complex64_forwarders())
    return "".join(parts)


# ============================================================================ literals, casts
def literal(value: object, dtype: str) -> str:
    """``value`` as a C constant of ``dtype``, exact (NaN payloads, -0.0, subnormals:
    hexadecimal floats or bit patterns)."""
    item = np.asarray(value, dtype=dtype).reshape(())
    kind = dtypes.kind(dtype)
    if kind == "b":
        return "true" if bool(item) else "false"
    if kind in "iu":
        return _integer_literal(int(item), dtype)
    if kind == "c":
        part = COMPLEX_PART[dtype]
        real, imag = literal(item.real, part), literal(item.imag, part)
        return f"jg_make({real}, {imag})"
    if dtype == "float16":
        return f"__ushort_as_half((unsigned short){int(item.view(np.uint16))}u)"
    if not np.isfinite(item):
        if dtype == "float32":
            return f"__int_as_float({int(item.view(np.int32))})"
        return f"__longlong_as_double({int(item.view(np.int64))}LL)"
    text = float(item).hex()
    return text + "f" if dtype == "float32" else text


def _integer_literal(number: int, dtype: str) -> str:
    c_type = C_TYPES[dtype]
    if dtype == "int64" and number == np.iinfo(np.int64).min:
        return "(-9223372036854775807LL - 1)"
    suffix = {"int64": "LL", "uint64": "ULL", "uint32": "u"}.get(dtype, "")
    if dtype == "int32" and number == np.iinfo(np.int32).min:
        return "(-2147483647 - 1)"
    return f"(({c_type}){number}{suffix})"


PRELUDE = _build_prelude()
