/**
 * float32 transcendentals for the CPU kernels, each written once as a program over float32
 * operations (`ScalarOps`) that runs three ways: in JavaScript with every result rounded by
 * Math.fround (the JS kernels' `lib.exp32`, ...), and emitted inline as WebAssembly f32
 * instructions or f32x4 lanes (wasm/scalar-emit.ts). All three execute the same IEEE
 * float32 operations in the same order (a float64 +, -, *, / of float32 operands rounded
 * once to float32 is the float32 operation), so the kernels stay bit-identical, and the
 * four-lane loops run at float32 SIMD width instead of widening to float64.
 *
 * Over the whole float32 range exp is within 1 float32 ulp of the exact value, tanh 1.5,
 * the logistic 2.3 and log 0.8 (tests/backends/cpu/scalar-math.test.ts measures it), with
 * IEEE special values: NaN stays NaN, exp overflows to Infinity and underflows through the
 * subnormals to 0, tanh saturates to exactly +-1 and the logistic to exactly 0 and 1, log
 * gives -Infinity at 0 and NaN below. float64 arrays keep Math.exp and friends.
 */

/** The float32 operations a program may use; `V` is a number (JS) or a wasm local (emitter). */
export interface ScalarOps<V> {
  /** A constant, rounded to float32. */
  num(x: number): V;
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  /**
   * b < a ? b : a and a < b ? b : a (WebAssembly's f32x4.pmin / pmax, one instruction each):
   * a NaN `a` stays NaN. The programs clamp with `b` a constant.
   */
  min(a: V, b: V): V;
  max(a: V, b: V): V;
  floor(a: V): V;
  abs(a: V): V;
  neg(a: V): V;
  /** 2^n for an integer-valued n in [-126, 127] (exact), or anything times NaN for NaN. */
  pow2(n: V): V;
  /** a < b ? x : y, both sides evaluated. */
  ifLess(a: V, b: V, x: V, y: V): V;
  /** The exponent field of a's float32 bits minus 127 (-127 for zero and subnormals, 128 for Infinity and NaN). */
  exponentField(a: V): V;
  /** a's significand bits under exponent 0 and sign +: a value in [1, 2). */
  significand(a: V): V;
}

export type ScalarProgram = <V>(o: ScalarOps<V>, x: V) => V;

const f32 = Math.fround;
const LOG2E = f32(Math.LOG2E);
// Cody-Waite split of ln 2 (Cephes' expf): LN2_HI = 355/512 has 9 significant bits, so
// n * LN2_HI is exact in float32 for |n| < 2^15, and x - n * LN2_HI is exact near n ln 2.
const LN2_HI = 355 / 512;
const LN2_LO = f32(Math.LN2 - LN2_HI);
/** 1/k! for k = 0..7: on |r| <= ln2/2 the Taylor remainder of e^r is below 6e-9 relative (0.1 ulp). */
const EXP_TAYLOR = Array.from({ length: 8 }, (_, k) => 1 / Array.from({ length: k }, (_, i) => i + 1).reduce((a, b) => a * b, 1));
// e^x beyond these is 0 or infinite in float32; the clamp keeps 2^n's two halves normal.
const EXP_MIN = -110;
const EXP_MAX = 100;
/**
 * tanh x = x (1 + z P(z)), z = x^2, on |x| < 0.625: Cephes' tanhf minimax coefficients
 * (S. L. Moshier), lowest degree first. Beyond 0.625 the quotient form loses no bits.
 */
const TANH_MINIMAX = [-3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2, 2.06390887954e-2, -5.70498872745e-3];
const TANH_SMALL = 0.625;

/** Horner's rule over `coeffs` (lowest degree first) at t. */
function horner<V>(o: ScalarOps<V>, coeffs: readonly number[], t: V): V {
  let p = o.num(coeffs[coeffs.length - 1]);
  for (let i = coeffs.length - 2; i >= 0; i--) p = o.add(o.mul(p, t), o.num(coeffs[i]));
  return p;
}

/**
 * e^x for x clamped to [lo, hi] (no upper clamp without hi): x = n ln2 + r with
 * |r| <= ln2/2, e^r by its Taylor series, times 2^n. `halves`: 2^n in two factors, which
 * results below float32's normal range (subnormal or 0) and above it (Infinity) need;
 * without, n must stay in [-126, 127].
 */
function expOf<V>(o: ScalarOps<V>, x: V, range: { lo: number; hi?: number; halves: boolean }): V {
  const above = o.max(x, o.num(range.lo));
  const xc = range.hi === undefined ? above : o.min(above, o.num(range.hi));
  const n = o.floor(o.add(o.mul(xc, o.num(LOG2E)), o.num(0.5)));
  const r = o.sub(o.sub(xc, o.mul(n, o.num(LN2_HI))), o.mul(n, o.num(LN2_LO)));
  // 1 + r + r^2 (1/2 + r/6 + ...): the small terms first, so the last roundings are the two additions.
  const er = o.add(o.add(o.mul(o.mul(r, r), horner(o, EXP_TAYLOR.slice(2), r)), r), o.num(1));
  if (!range.halves) return o.mul(er, o.pow2(n));
  const half = o.floor(o.mul(n, o.num(0.5)));
  return o.mul(o.mul(er, o.pow2(half)), o.pow2(o.sub(n, half)));
}

/** e^x, with overflow to Infinity and underflow through the subnormals to 0. */
export const exp32: ScalarProgram = (o, x) => expOf(o, x, { lo: EXP_MIN, hi: EXP_MAX, halves: true });

/** tanh x: the minimax polynomial near 0, else (1 - e^-2|x|) / (1 + e^-2|x|) with x's sign. */
export const tanh32: ScalarProgram = (o, x) => {
  const a = o.abs(x);
  const z = o.mul(x, x);
  // x (1 + z P(z)) rather than x + x z P(z): the product keeps tanh(-0) = -0.
  const small = o.mul(x, o.add(o.num(1), o.mul(z, horner(o, TANH_MINIMAX, z))));
  // e <= 1; below 2^-25 it leaves t = 1 exactly, so e^-87 (2^n still normal) may stand for anything smaller.
  const e = expOf(o, o.neg(o.add(a, a)), { lo: -87, halves: false });
  const t = o.div(o.sub(o.num(1), e), o.add(o.num(1), e));
  return o.ifLess(a, o.num(TANH_SMALL), small, o.ifLess(x, o.num(0), o.neg(t), t));
};

/** The logistic sigmoid: with e = e^-|x|, 1 / (1 + e) for x >= 0 and e / (1 + e) below, so e never overflows. */
export const logistic32: ScalarProgram = (o, x) => {
  const e = expOf(o, o.neg(o.abs(x)), { lo: EXP_MIN, halves: true });
  return o.div(o.ifLess(x, o.num(0), e, o.num(1)), o.add(o.num(1), e));
};

/**
 * log(1 + f) - f + f^2/2 = f^3 P(f) on sqrt(1/2) - 1 <= f < sqrt(2) - 1: Cephes' logf minimax
 * coefficients (S. L. Moshier), lowest degree first.
 */
const LOG_MINIMAX = [3.3333331174e-1, -2.4999993993e-1, 2.0000714765e-1, -1.6668057665e-1, 1.4249322787e-1, -1.2420140846e-1, 1.167699874e-1, -1.151461031e-1, 7.0376836292e-2];
const MIN_NORMAL = 2 ** -126;
const MAX_FLOAT32 = f32(3.4028234663852886e38);

/**
 * log x: x = 2^e m with m in [sqrt(1/2), sqrt(2)) from x's bits (subnormals scaled by 2^23
 * first), log m by its minimax polynomial in f = m - 1, plus e ln 2 in Cody-Waite's two parts.
 * log 0 = -Infinity, log of a negative is NaN, log Infinity = Infinity.
 */
export const log32: ScalarProgram = (o, x) => {
  const tiny = o.ifLess(x, o.num(MIN_NORMAL), o.num(1), o.num(0));
  const xs = o.mul(x, o.ifLess(x, o.num(MIN_NORMAL), o.num(2 ** 23), o.num(1)));
  const m1 = o.significand(xs);
  const e1 = o.sub(o.exponentField(xs), o.mul(tiny, o.num(23)));
  // m above sqrt 2: halve it and count one more power of two.
  const high = o.ifLess(o.num(Math.SQRT2), m1, o.num(1), o.num(0));
  const m = o.mul(m1, o.sub(o.num(1), o.mul(high, o.num(0.5))));
  const e = o.add(e1, high);
  const f = o.sub(m, o.num(1));
  const z = o.mul(f, f);
  const y = o.add(o.add(o.mul(o.mul(f, z), horner(o, LOG_MINIMAX, f)), o.mul(e, o.num(LN2_LO))), o.mul(o.num(-0.5), z));
  const r = o.add(o.add(f, y), o.mul(e, o.num(LN2_HI)));
  // x <= 0: -Infinity at zero, NaN below; a NaN x reaches the sum through x * 0; Infinity stays.
  const special = o.ifLess(x, o.num(0), o.num(NaN), o.num(-Infinity));
  const finite = o.add(o.ifLess(o.num(0), x, r, special), o.mul(x, o.num(0)));
  return o.ifLess(o.num(MAX_FLOAT32), x, x, finite);
};

/** 2^(i - 200), by exact halvings and doublings of 1. */
const POW2 = new Float64Array(401);
for (let i = 200, v = 1; i <= 400; i++, v *= 2) POW2[i] = v;
for (let i = 199, v = 0.5; i >= 0; i--, v /= 2) POW2[i] = v;

const scratch = new Float32Array(1);
const bits = new Uint32Array(scratch.buffer);

/** The programs run on JavaScript numbers, each result rounded to float32 as the f32 instruction rounds it. */
export const jsScalarOps: ScalarOps<number> = {
  num: f32,
  add: (a, b) => f32(a + b),
  sub: (a, b) => f32(a - b),
  mul: (a, b) => f32(a * b),
  div: (a, b) => f32(a / b),
  min: (a, b) => (b < a ? b : a),
  max: (a, b) => (a < b ? b : a),
  floor: Math.floor,
  abs: Math.abs,
  neg: (a) => -a,
  // A NaN index reads undefined, and the product with it is NaN, as in the emitted code.
  pow2: (n) => POW2[n + 200],
  ifLess: (a, b, x, y) => (a < b ? x : y),
  exponentField: (a) => {
    scratch[0] = a;
    return ((bits[0] >>> 23) & 0xff) - 127;
  },
  significand: (a) => {
    scratch[0] = a;
    bits[0] = (bits[0] & 0x7fffff) | 0x3f800000;
    return scratch[0];
  },
};
