/**
 * float32 transcendentals for the CPU kernels, each written once as a program over float64
 * operations (`ScalarOps`) that runs two ways: directly in JavaScript (the JS kernels'
 * `lib.exp32`, ...) and emitted inline as WebAssembly instructions (wasm/scalar-emit.ts).
 * Both execute the same IEEE float64 operations in the same order, so the wasm kernels stay
 * bit-identical to the JS ones, while a wasm kernel no longer calls out to JavaScript's
 * Math.exp per element (the call cost 50-200 ns; the inline program a few).
 *
 * Each program is accurate to about 1e-15 relative in float64, far below float32's half
 * ulp (3e-8), so after the kernel's rounding to float32 the result is the correctly rounded
 * one except when the exact value lies within ~1e-15 of a rounding boundary. float64
 * arrays keep Math.exp and friends.
 */

/** The float64 operations a program may use; `V` is a number (JS) or a wasm local (emitter). */
export interface ScalarOps<V> {
  num(x: number): V;
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  /** IEEE minimum / maximum: NaN if either is NaN. */
  min(a: V, b: V): V;
  max(a: V, b: V): V;
  floor(a: V): V;
  abs(a: V): V;
  neg(a: V): V;
  /** 2^n for an integer-valued n in [-200, 200] (exact), or anything times NaN for NaN. */
  pow2(n: V): V;
  /** a < b ? x : y, both sides evaluated. */
  ifLess(a: V, b: V, x: V, y: V): V;
}

export type ScalarProgram = <V>(o: ScalarOps<V>, x: V) => V;

const LOG2E = 1.4426950408889634;
// Cody-Waite split of ln 2 (fdlibm's): n * LN2_HI is exact for |n| < 2^20.
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** 1/k! for k = 0..12: the Taylor series of e^r on |r| <= ln2/2 to 2e-16. */
const EXP_TAYLOR = Array.from({ length: 13 }, (_, k) => 1 / Array.from({ length: k }, (_, i) => i + 1).reduce((a, b) => a * b, 1));
/** Odd Taylor coefficients of tanh x (x, x^3, ..., x^15): on |x| < 1/8 the truncation is below 4e-16 relative. */
const TANH_TAYLOR = [1, -1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925, 21844 / 6081075, -929569 / 638512875];
const TANH_SMALL = 0.125;
// e^x for x beyond these is 0 or infinite in float32 anyway; the clamp keeps 2^n exact in float64.
const EXP_MIN = -120;
const EXP_MAX = 120;

/** Horner's rule over `coeffs` (lowest degree first) at t. */
function horner<V>(o: ScalarOps<V>, coeffs: readonly number[], t: V): V {
  let p = o.num(coeffs[coeffs.length - 1]);
  for (let i = coeffs.length - 2; i >= 0; i--) p = o.add(o.mul(p, t), o.num(coeffs[i]));
  return p;
}

/** e^x: x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor series, times 2^n. */
export const exp32: ScalarProgram = (o, x) => {
  const xc = o.min(o.max(x, o.num(EXP_MIN)), o.num(EXP_MAX));
  const n = o.floor(o.add(o.mul(xc, o.num(LOG2E)), o.num(0.5)));
  const r = o.sub(o.sub(xc, o.mul(n, o.num(LN2_HI))), o.mul(n, o.num(LN2_LO)));
  return o.mul(horner(o, EXP_TAYLOR, r), o.pow2(n));
};

/** tanh x: its odd series near 0 (where 1 - 2/(e^2x + 1) cancels), else 1 - 2/(e^2|x| + 1) with x's sign. */
export const tanh32: ScalarProgram = (o, x) => {
  const a = o.abs(x);
  const small = o.mul(x, horner(o, TANH_TAYLOR, o.mul(x, x)));
  const t = o.sub(o.num(1), o.div(o.num(2), o.add(exp32(o, o.add(a, a)), o.num(1))));
  return o.ifLess(a, o.num(TANH_SMALL), small, o.ifLess(x, o.num(0), o.neg(t), t));
};

/** The logistic sigmoid 1 / (1 + e^-x). */
export const logistic32: ScalarProgram = (o, x) => o.div(o.num(1), o.add(o.num(1), exp32(o, o.neg(x))));

/** 2^(i - 200), by exact halvings and doublings of 1. */
const POW2 = new Float64Array(401);
for (let i = 200, v = 1; i <= 400; i++, v *= 2) POW2[i] = v;
for (let i = 199, v = 0.5; i >= 0; i--, v /= 2) POW2[i] = v;

/** The programs run on JavaScript numbers. */
export const jsScalarOps: ScalarOps<number> = {
  num: (x) => x,
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  min: Math.min,
  max: Math.max,
  floor: Math.floor,
  abs: Math.abs,
  neg: (a) => -a,
  // A NaN index reads undefined, and the product with it is NaN, as in the emitted code.
  pow2: (n) => POW2[n + 200],
  ifLess: (a, b, x, y) => (a < b ? x : y),
};
