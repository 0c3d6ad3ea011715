/**
 * Small dense linear algebra on the CPU, one float64 matrix at a time: expm (Padé with
 * scaling and squaring), its Fréchet derivative, solve, and LU-based determinants.
 */
import type { TypedArray } from "../../../dtype.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { PADE, THETA, THETA13 } from "../../pade.ts";
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

type Mat = Float64Array;

const expm: CpuRoutine<"expm"> = ([a], [out], _p, [aa]) => {
  const n = lastDim(aa);
  for (let b = 0; b < batchCount(a, n * n); b++) out.set(expmMatrix(load(a, b, n * n), n), b * n * n);
};

const expm_frechet: CpuRoutine<"expm_frechet"> = ([a, e], [out], _p, [aa]) => {
  const n = lastDim(aa);
  const len = n * n;
  for (let b = 0; b < batchCount(a, len); b++) out.set(expmFrechetMatrix(load(a, b, len), load(e, b, len), n), b * len);
};

const solve: CpuRoutine<"solve"> = ([a, bIn], [out], _p, [aa], [oa]) => {
  const n = lastDim(aa);
  const k = lastDim(oa);
  for (let b = 0; b < batchCount(a, n * n); b++) {
    const [sign, lu, piv] = luOf(a, b, n);
    const x = load(bIn, b, n * k);
    if (sign === 0) x.fill(NaN);
    else luSolve(lu, piv, n, x, k);
    out.set(x, b * n * k);
  }
};

function matmul(a: Mat, b: Mat, n: number): Mat {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const v = a[i * n + k];
      if (v === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += v * b[k * n + j];
    }
  }
  return out;
}

/** sum_i c_i M_i for terms [c_i, M_i]. */
function combine(len: number, ...terms: [number, Mat][]): Mat {
  const out = new Float64Array(len);
  for (const [c, m] of terms) for (let i = 0; i < len; i++) out[i] += c * m[i];
  return out;
}

function identity(n: number): Mat {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** The 1-norm (largest absolute column sum); it bounds the spectral radius and picks the Padé degree. */
function norm1(a: Mat, n: number): number {
  let best = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(a[i * n + j]);
    if (!(s <= best)) best = s; // also lets NaN through
  }
  return best;
}

/**
 * LU with partial pivoting, in place (unit lower L below the diagonal, U on and above it).
 * Returns the sign of the row permutation, or 0 as soon as a pivot column is exactly zero.
 */
function luFactor(a: Mat, n: number, piv: Int32Array): number {
  let sign = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(a[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k]);
      if (v > best) [best, p] = [v, i];
    }
    piv[k] = p;
    if (best === 0) return 0;
    if (p !== k) {
      for (let j = 0; j < n; j++) [a[k * n + j], a[p * n + j]] = [a[p * n + j], a[k * n + j]];
      sign = -sign;
    }
    const d = a[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const f = (a[i * n + k] /= d);
      if (f !== 0) for (let j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return sign;
}

/** Solves (LU) X = B in place for B of shape [n, k]. */
function luSolve(lu: Mat, piv: Int32Array, n: number, b: Mat, k: number): void {
  for (let i = 0; i < n; i++) {
    const p = piv[i];
    if (p !== i) for (let j = 0; j < k; j++) [b[i * k + j], b[p * k + j]] = [b[p * k + j], b[i * k + j]];
  }
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < i; r++) {
      const f = lu[i * n + r];
      if (f !== 0) for (let j = 0; j < k; j++) b[i * k + j] -= f * b[r * k + j];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let r = i + 1; r < n; r++) {
      const f = lu[i * n + r];
      if (f !== 0) for (let j = 0; j < k; j++) b[i * k + j] -= f * b[r * k + j];
    }
    const d = lu[i * n + i];
    for (let j = 0; j < k; j++) b[i * k + j] /= d;
  }
}

/** The [m/m] Padé approximant r_m(A) = (V - U)^-1 (V + U), U odd and V even in A. */
function pade(a: Mat, n: number, m: number): Mat {
  const b = PADE[m];
  const len = n * n;
  const I = identity(n);
  const A2 = matmul(a, a, n);
  let U: Mat;
  let V: Mat;
  if (m < 13) {
    const evens = [I, A2];
    while (evens.length < (m + 1) / 2) evens.push(matmul(evens[evens.length - 1], A2, n));
    U = matmul(a, combine(len, ...evens.map((p, j): [number, Mat] => [b[2 * j + 1], p])), n);
    V = combine(len, ...evens.map((p, j): [number, Mat] => [b[2 * j], p]));
  } else {
    // Higham's evaluation scheme: 6 products for degree 13.
    const A4 = matmul(A2, A2, n);
    const A6 = matmul(A4, A2, n);
    const inner = matmul(A6, combine(len, [b[13], A6], [b[11], A4], [b[9], A2]), n);
    U = matmul(a, combine(len, [1, inner], [b[7], A6], [b[5], A4], [b[3], A2], [b[1], I]), n);
    V = combine(len, [1, matmul(A6, combine(len, [b[12], A6], [b[10], A4], [b[8], A2]), n)], [b[6], A6], [b[4], A4], [b[2], A2], [b[0], I]);
  }
  const P = combine(len, [1, V], [1, U]);
  const Q = combine(len, [1, V], [-1, U]);
  const piv = new Int32Array(n);
  // Q is well conditioned for ||A||_1 <= theta_m (Higham 2005, section 2), so no singular case.
  luFactor(Q, n, piv);
  luSolve(Q, piv, n, P, n);
  return P;
}

/** exp(A) by scaling and squaring. */
export function expmMatrix(a: Mat, n: number): Mat {
  const norm = norm1(a, n);
  if (!Number.isFinite(norm)) return new Float64Array(n * n).fill(NaN);
  for (const [m, theta] of THETA) if (norm <= theta) return pade(a, n, m);
  const s = Math.max(0, Math.ceil(Math.log2(norm / THETA13)));
  const scale = 2 ** -s;
  let r = pade(
    a.map((v) => v * scale),
    n,
    13,
  );
  for (let i = 0; i < s; i++) r = matmul(r, r, n);
  return r;
}

/**
 * L(A, E), the upper-right block of exp([[A, E], [0, A]]). L is linear in E, so E is
 * first scaled to the norm of A: the block's norm then stays within 2 ||A||_1 and costs
 * at most one extra squaring, whatever the size of E.
 */
export function expmFrechetMatrix(a: Mat, e: Mat, n: number): Mat {
  const na = norm1(a, n);
  const ne = norm1(e, n);
  const out = new Float64Array(n * n);
  if (!Number.isFinite(na) || !Number.isFinite(ne)) return out.fill(NaN);
  if (ne === 0) return out;
  const c = (na > 0 ? na : 1) / ne;
  const m = 2 * n;
  const big = new Float64Array(m * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      big[i * m + j] = big[(i + n) * m + n + j] = a[i * n + j];
      big[i * m + n + j] = c * e[i * n + j];
    }
  }
  const x = expmMatrix(big, m);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = x[i * m + n + j] / c;
  return out;
}

/** Matrix `b` of a batch laid out as consecutive blocks of `len` elements, as float64. */
function load(src: TypedArray, b: number, len: number): Mat {
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = src[b * len + i];
  return out;
}

/** [sign of the permutation (0 if singular), LU factors] of matrix `b` of the batch. */
function luOf(src: TypedArray, b: number, n: number): [number, Mat, Int32Array] {
  const lu = load(src, b, n * n);
  const piv = new Int32Array(n);
  return [luFactor(lu, n, piv), lu, piv];
}

const lastDim = (a: ShapedArray) => a.shape[a.shape.length - 1];

const batchCount = (x: TypedArray, len: number) => (len === 0 ? 0 : x.length / len);

/** det, log_abs_det and det_sign of each matrix of a stack, from its LU factors (an empty matrix has determinant 1). */
const FROM_LU: Record<"det" | "log_abs_det" | "det_sign", (sign: number, lu: Mat, n: number) => number> = {
  det: (sign, lu, n) => {
    let d = sign;
    for (let i = 0; i < n && d !== 0; i++) d *= lu[i * n + i];
    return d;
  },
  log_abs_det: (sign, lu, n) => {
    if (sign === 0) return -Infinity;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.log(Math.abs(lu[i * n + i]));
    return s;
  },
  det_sign: (sign, lu, n) => {
    let s = sign;
    for (let i = 0; i < n && s !== 0; i++) s *= Math.sign(lu[i * n + i]);
    return s;
  },
};
const fromLuRoutine =
  <R extends keyof typeof FROM_LU>(fromLu: (typeof FROM_LU)[R]): CpuRoutine<R> =>
  ([a], [out], _p, [aa]) => {
    const n = lastDim(aa);
    if (n === 0) return void out.fill(fromLu(1, new Float64Array(0), 0));
    for (let b = 0; b < batchCount(a, n * n); b++) {
      const [sign, lu] = luOf(a, b, n);
      out[b] = fromLu(sign, lu, n);
    }
  };

export const linalgRoutines: CpuRoutines<"expm" | "expm_frechet" | "solve" | "det" | "log_abs_det" | "det_sign"> = {
  expm,
  expm_frechet,
  solve,
  det: fromLuRoutine<"det">(FROM_LU.det),
  log_abs_det: fromLuRoutine<"log_abs_det">(FROM_LU.log_abs_det),
  det_sign: fromLuRoutine<"det_sign">(FROM_LU.det_sign),
};
