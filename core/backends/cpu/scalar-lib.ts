/**
 * Scalar functions that the CPU's kernels call (JavaScript kernels as `lib.*`, WebAssembly
 * kernels as imports) where one JavaScript operator is not enough.
 */
import { exp32, jsScalarOps, log32, logistic32, tanh32 } from "./scalar-math.ts";

export const lib = {
  exp32: (x: number) => exp32(jsScalarOps, x),
  tanh32: (x: number) => tanh32(jsScalarOps, x),
  logistic32: (x: number) => logistic32(jsScalarOps, x),
  log32: (x: number) => log32(jsScalarOps, x),
  erf(x: number): number {
    // Abramowitz-Stegun 7.1.26 is too coarse for gradients checks; use a series/continued fraction split.
    const ax = Math.abs(x);
    if (ax === Infinity) return Math.sign(x);
    if (ax < 2.5) {
      // Maclaurin series: erf x = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
      let term = x;
      let sum = x;
      const x2 = x * x;
      for (let n = 1; n < 60; n++) {
        term *= -x2 / n;
        const add = term / (2 * n + 1);
        sum += add;
        if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    }
    // erfc continued fraction (Lentz) for the tail.
    const t = erfcTail(ax);
    return x > 0 ? 1 - t : t - 1;
  },
  erfInv(y: number): number {
    // Giles (2010) single-precision approximation, as XLA computes erf_inv for float32.
    if (y <= -1) return y === -1 ? -Infinity : NaN;
    if (y >= 1) return y === 1 ? Infinity : NaN;
    let w = -Math.log((1 - y) * (1 + y));
    let p: number;
    if (w < 5) {
      w -= 2.5;
      p = 2.81022636e-8;
      p = 3.43273939e-7 + p * w;
      p = -3.5233877e-6 + p * w;
      p = -4.39150654e-6 + p * w;
      p = 0.00021858087 + p * w;
      p = -0.00125372503 + p * w;
      p = -0.00417768164 + p * w;
      p = 0.246640727 + p * w;
      p = 1.50140941 + p * w;
    } else {
      w = Math.sqrt(w) - 3;
      p = -0.000200214257;
      p = 0.000100950558 + p * w;
      p = 0.00134934322 + p * w;
      p = -0.00367342844 + p * w;
      p = 0.00573950773 + p * w;
      p = -0.0076224613 + p * w;
      p = 0.00943887047 + p * w;
      p = 1.00167406 + p * w;
      p = 2.83297682 + p * w;
    }
    return p * y;
  },
  /** erf_inv for float64: Giles' float32-accurate value, then one Newton step on erf(y) = a. */
  erfInv64(a: number): number {
    const y = lib.erfInv(a);
    return Number.isFinite(y) ? y - (lib.erf(y) - a) * 0.886226925452758 * Math.exp(y * y) : y;
  },
  /** Round half to even, as NumPy and JAX round. */
  roundEven(x: number): number {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  sign(x: number): number {
    return x > 0 ? 1 : x < 0 ? -1 : x;
  },
  /** C-style remainder (sign of the dividend), as lax.rem; integer division by zero gives 0. */
  irem(a: number, b: number): number {
    return b === 0 ? 0 : a % b;
  },
  idiv(a: number, b: number): number {
    return b === 0 ? 0 : Math.trunc(a / b);
  },
  ipow(a: number, b: number): number {
    if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
    let r = 1;
    let base = a;
    let e = b;
    while (e > 0) {
      if (e & 1) r = Math.imul(r, base);
      base = Math.imul(base, base);
      e >>>= 1;
    }
    return r;
  },
};

function erfcTail(x: number): number {
  // Continued fraction for erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))).
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    D = x + an * D;
    D = D === 0 ? tiny : 1 / D;
    C = x + an / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
