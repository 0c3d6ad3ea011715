/**
 * NumPy's elementwise names beyond the basic arithmetic of math.ts, composed from existing
 * primitives (so grad, vmap, jit and every backend apply unchanged). Formulas follow
 * jax.numpy's where it picks one for accuracy (remainder, floor_divide, hypot).
 */
import { asArray, type ArrayLike } from "../convert.ts";
import { isFloat, isInt, type DType } from "../dtype.ts";
import type { Tracer } from "../tracer.ts";
import { checkOptions } from "../options.ts";
import * as ew from "../primitives/elementwise.ts";
import {
  abs,
  add,
  astype,
  atan2,
  bitwiseAnd,
  broadcastTo,
  div,
  equal,
  exp,
  expm1,
  greater,
  isFinite,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalOr,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  pow,
  promoteBroadcast,
  rem,
  round,
  sign,
  sin,
  sqrt,
  sub,
  where,
} from "./math.ts";

const asFloat = (x: ArrayLike): Tracer => {
  const a = asArray(x);
  return isFloat(a.dtype) ? a : astype(a, "float32");
};

/**
 * Remainder with the sign of the divisor (Python's `%`), as np.remainder and np.mod; an
 * integer divisor of 0 gives 0 (JAX divides by 1 there instead of trapping).
 * @example np.remainder(np.array([-3, 3]), 2) // [1, 1]; np.rem (C fmod) gives [-1, 1]
 */
export function remainder(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b0] = promoteBroadcast("remainder", [x, y]);
  const b = isInt(b0.dtype) ? where(equal(b0, 0), 1, b0) : b0;
  const r = rem(a, b);
  const flip = logicalAnd(notEqual(less(r, 0), less(b, 0)), notEqual(r, 0));
  return where(flip, add(r, b), r);
}
export { remainder as mod, rem as fmod };

/**
 * The floor of x / y (Python's `//`): integers stay integers; floats follow CPython's
 * float_divmod, so floorDivide(x, y) * y + remainder(x, y) == x up to rounding. A float
 * divisor of 0 gives x / 0 as NumPy; an integer one gives what lax.div gives.
 * @example np.floorDivide(np.array([-7, 7]), 2) // [-4, 3]
 */
export function floorDivide(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteBroadcast("floorDivide", [x, y]);
  if (a.dtype === "uint32") return ew.div(a, b);
  if (isInt(a.dtype)) {
    const q = ew.div(a, b);
    return where(logicalAnd(notEqual(sign(a), sign(b)), notEqual(rem(a, b), 0)), sub(q, 1), q);
  }
  const m = rem(a, b);
  const d = div(sub(a, m), b);
  const q = round(where(logicalAnd(notEqual(m, 0), notEqual(sign(b), sign(m))), sub(d, 1), d));
  // By zero: x / 0 (inf, or NaN for 0 / 0), as NumPy, where the formula above gives NaN.
  return where(equal(b, 0), div(a, b), q);
}

/** [floorDivide(x, y), remainder(x, y)], as np.divmod. */
export function divmod(x: ArrayLike, y: ArrayLike): [Tracer, Tracer] {
  return [floorDivide(x, y), remainder(x, y)];
}

/** Bool arrays of x's shape; integers are never NaN or infinite. */
const floatTest =
  (f: (a: Tracer) => Tracer) =>
  (x: ArrayLike): Tracer => {
    const a = asArray(x);
    return isFloat(a.dtype) ? f(a) : broadcastTo(asArray(false), a.shape);
  };
/**
 * float32 tests read the bits (sign cleared unless `signed`): WGSL leaves comparisons with NaN
 * to the implementation, and lavapipe's `abs(NaN) != inf` is false. float64 is CPU-only, where
 * comparisons follow IEEE.
 */
const bits = (a: Tracer, signed = false) => {
  const u = ew.bitcastConvertType(a, "uint32");
  return signed ? u : bitwiseAnd(u, 0x7fffffff);
};
/** @example np.isInf(np.array([1, Infinity, -Infinity, NaN])) // [false, true, true, false] */
export const isInf = floatTest((a) => (a.dtype === "float32" ? equal(bits(a), 0x7f800000) : equal(abs(a), Infinity)));
export const isPosInf = floatTest((a) => (a.dtype === "float32" ? equal(bits(a, true), 0x7f800000) : equal(a, Infinity)));
export const isNegInf = floatTest((a) => (a.dtype === "float32" ? equal(bits(a, true), 0xff800000) : equal(a, -Infinity)));
/** @example np.isNan(np.array([1, NaN])) // [false, true] */
export const isNan = floatTest((a) => (a.dtype === "float32" ? greater(bits(a), 0x7f800000) : notEqual(a, a)));
/** NumPy's spellings. */
export { isNan as isnan, isInf as isinf, isFinite as isfinite };

const FLOAT_MAX: Partial<Record<DType, number>> = { float32: 3.4028234663852886e38, float64: Number.MAX_VALUE };

/**
 * Replaces NaN by `nan` (0), +inf by `posinf` and -inf by `neginf` (the largest finite
 * values of the dtype by default), as np.nan_to_num. Integer arrays are returned as they are.
 * @example np.nanToNum(np.array([NaN, Infinity]), { nan: -1 }) // [-1, 3.4e38]
 */
export function nanToNum(x: ArrayLike, opts: { nan?: number; posinf?: number; neginf?: number } = {}): Tracer {
  checkOptions("nanToNum", opts, ["nan", "posinf", "neginf"]);
  const a = asArray(x);
  if (!isFloat(a.dtype)) return a;
  const big = FLOAT_MAX[a.dtype]!;
  const out = where(isNan(a), opts.nan ?? 0, a);
  return where(isPosInf(a), opts.posinf ?? big, where(isNegInf(a), opts.neginf ?? -big, out));
}

/**
 * Elementwise |a - b| <= atol + rtol * |b| (rtol 1e-5, atol 1e-8); infinities are close only
 * to themselves, NaNs only with equalNan, as np.isclose.
 */
export function isclose(a: ArrayLike, b: ArrayLike, opts: { rtol?: number; atol?: number; equalNan?: boolean } = {}): Tracer {
  checkOptions("isclose", opts, ["rtol", "atol", "equalNan"]);
  const [x, y] = promoteBroadcast("isclose", [a, b]);
  // The tolerance test applies to finite pairs only: with an infinity both sides are inf.
  const finite = logicalAnd(isFinite(x), isFinite(y));
  const close = logicalAnd(finite, lessEqual(abs(sub(x, y)), add(opts.atol ?? 1e-8, mul(opts.rtol ?? 1e-5, abs(y)))));
  const sameInf = logicalOr(logicalAnd(isPosInf(x), isPosInf(y)), logicalAnd(isNegInf(x), isNegInf(y)));
  const ok = logicalOr(close, sameInf);
  return opts.equalNan ? logicalOr(ok, logicalAnd(isNan(x), isNan(y))) : ok;
}

/** sqrt(x^2 + y^2) without overflow or underflow, as jnp.hypot. */
export function hypot(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteBroadcast("hypot", [x, y], "float").map(abs);
  const hi = maximum(a, b);
  const lo = minimum(a, b);
  const zero = equal(hi, 0);
  // The inner where keeps lo / 0 out of the gradient at the origin.
  const r = where(zero, 1, div(lo, where(zero, 1, hi)));
  const h = where(zero, hi, mul(hi, sqrt(add(1, mul(r, r)))));
  return where(logicalAnd(isInf(a), isInf(b)), Infinity, h);
}

/** The real cube root (negative for negative x). */
export const cbrt = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  return mul(sign(a), pow(abs(a), 1 / 3));
};
export const log2 = (x: ArrayLike): Tracer => mul(log(asFloat(x)), Math.LOG2E);
export const log10 = (x: ArrayLike): Tracer => mul(log(asFloat(x)), Math.LOG10E);
/** 2^x, exact at integers (pow, not exp(x ln 2)). */
export const exp2 = (x: ArrayLike): Tracer => pow(2, asFloat(x));
/** log2(2^x + 2^y), computed stably. */
export function logaddexp2(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteBroadcast("logaddexp2", [x, y], "float");
  const m = maximum(a, b);
  return add(m, mul(log1p(exp2(sub(minimum(a, b), m))), Math.LOG2E));
}
export const deg2rad = (x: ArrayLike): Tracer => mul(asFloat(x), Math.PI / 180);
export const rad2deg = (x: ArrayLike): Tracer => mul(asFloat(x), 180 / Math.PI);
export { deg2rad as radians, rad2deg as degrees };

/** 0 where x < 0, 1 where x > 0, and `h0` where x == 0 (np.heaviside). */
export function heaviside(x: ArrayLike, h0: ArrayLike): Tracer {
  const [a, h] = promoteBroadcast("heaviside", [x, h0], "float");
  return where(less(a, 0), 0, where(greater(a, 0), 1, h));
}

// Inverse trigonometric and hyperbolic functions through atan2, log1p and expm1, which stay
// accurate near 0 (sqrt((1 - x)(1 + x)) rather than sqrt(1 - x^2) near +-1).
const cosOf = (a: Tracer) => sqrt(mul(sub(1, a), add(1, a)));
export const arcsin = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  return atan2(a, cosOf(a));
};
export const arccos = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  return atan2(cosOf(a), a);
};
export const arctan = (x: ArrayLike): Tracer => atan2(asFloat(x), 1);
export const sinh = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  return mul(sub(expm1(a), expm1(neg(a))), 0.5);
};
export const cosh = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  return mul(add(exp(a), exp(neg(a))), 0.5);
};
/**
 * asinh(x) = log1p(x + x^2 / (1 + sqrt(1 + x^2))) for x >= 0 (odd symmetry for x < 0), and
 * log(2x) beyond 2^28 where x^2 would overflow. The branches see only inputs where they are
 * finite, so no NaN reaches the gradient through the branch not taken.
 */
export const arcsinh = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  const negative = less(a, 0);
  const half = (m: Tracer) => {
    const big = greater(m, 2 ** 28);
    const s = where(big, 1, m);
    return where(big, add(log(where(big, m, 1)), Math.LN2), log1p(add(s, div(mul(s, s), add(1, sqrt(add(1, mul(s, s))))))));
  };
  return where(negative, neg(half(where(negative, neg(a), 0))), half(where(negative, 0, a)));
};
/** acosh(x) = log(x) + log1p(sqrt((1 - 1/x)(1 + 1/x))), which cannot overflow. */
export const arccosh = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  return add(log(a), log1p(cosOf(div(1, a))));
};
export const arctanh = (x: ArrayLike): Tracer => {
  const a = asFloat(x);
  return mul(sub(log1p(a), log1p(neg(a))), 0.5);
};
export { arcsin as asin, arccos as acos, arctan as atan, arcsinh as asinh, arccosh as acosh, arctanh as atanh, atan2 as arctan2 };

/** Logical exclusive or of the truth values, as np.logical_xor. */
export const logicalXor = (x: ArrayLike, y: ArrayLike): Tracer => notEqual(astype(x, "bool"), astype(y, "bool"));

/** Max and min that ignore a NaN when the other operand is a number, as np.fmax and np.fmin. */
export const fmax = (x: ArrayLike, y: ArrayLike): Tracer => ignoringNan("fmax", x, y, maximum);
export const fmin = (x: ArrayLike, y: ArrayLike): Tracer => ignoringNan("fmin", x, y, minimum);
function ignoringNan(op: string, x: ArrayLike, y: ArrayLike, f: (a: Tracer, b: Tracer) => Tracer): Tracer {
  const [a, b] = promoteBroadcast(op, [x, y]);
  return where(isNan(b), a, where(isNan(a), b, f(a, b)));
}

/**
 * sin(pi x) / (pi x), as np.sinc. Near 0 it is the series 1 - (pi x)^2 / 6 (exact to rounding
 * for |pi x| < 1e-4), whose derivative stays finite where the quotient's would divide by
 * (pi x)^2 = 0.
 */
export function sinc(x: ArrayLike): Tracer {
  const px = mul(asFloat(x), Math.PI);
  const small = less(abs(px), 1e-4);
  const safe = where(small, 1, px);
  return where(small, sub(1, div(mul(px, px), 6)), div(sin(safe), safe));
}
