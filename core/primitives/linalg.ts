/**
 * Linear algebra on small batched matrices [..., n, n]: `expm`, its Fréchet derivative
 * `expm_frechet`, `solve`, `det`, and `log_abs_det` / `det_sign` (for slogdet).
 * Every primitive is natively batched over its leading axes, so the batch rules only
 * move the mapped axis to the front. CPU kernels compute in float64 for both float
 * dtypes and round once when they store.
 *
 * Precision of expm: scaling and squaring with the [m/m] Padé approximants of Higham
 * (2005), m in {3, 5, 7, 9, 13}; the backward error is at most the float64 unit roundoff
 * (2^-53) in exact arithmetic, so the computed result has a relative error of about
 * cond(expm, A) * 1e-16 in float64 (and is rounded once to float32 for float32 inputs).
 *
 * Singular matrices: kernels cannot throw per batch element (they may run inside jit),
 * so `solve` returns NaN for every entry of a solution whose matrix has an exactly zero
 * pivot, `det` returns 0, `log_abs_det` -inf and `det_sign` 0 (NumPy raises LinAlgError
 * for solve/inv instead). Nearly singular matrices give large, inaccurate values, as in NumPy.
 */
import { isFloat, type TypedArray } from "../dtype.ts";
import { definePrimitive, UndefinedPrimal, type Primitive } from "../primitive.ts";
import { fmtShape, shapeEq } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import * as np from "../np.ts";
import { bdimToFront, moveaxis, slice } from "./shape.ts";
import { defineCpu } from "../backends/cpu/routines/registry.ts";

// ---------------------------------------------------------------- float64 kernels on one matrix

type Mat = Float64Array;

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

// Padé coefficients b_0..b_m and the largest 1-norms theta_m for which degree m reaches
// unit roundoff without scaling (Higham 2005, Table 2.3).
export const PADE: Record<number, number[]> = {
  3: [120, 60, 12, 1],
  5: [30240, 15120, 3360, 420, 30, 1],
  7: [17297280, 8648640, 1995840, 277200, 25200, 1512, 56, 1],
  9: [17643225600, 8821612800, 2075673600, 302702400, 30270240, 2162160, 110880, 3960, 90, 1],
  13: [
    64764752532480000, 32382376266240000, 7771770303897600, 1187353796428800, 129060195264000, 10559470521600,
    670442572800, 33522128640, 1323241920, 40840800, 960960, 16380, 182, 1,
  ],
};
export const THETA: [number, number][] = [[3, 1.495585217958292e-2], [5, 2.539398330063230e-1], [7, 9.504178996162932e-1], [9, 2.097847961257068]];
export const THETA13 = 5.371920351148152;

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
  let r = pade(a.map((v) => v * scale), n, 13);
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

// ---------------------------------------------------------------- shape checks and helpers

function checkSquare(name: string, a: ShapedArray): number {
  const r = a.shape.length;
  if (r < 2 || a.shape[r - 1] !== a.shape[r - 2]) throw new Error(`${name}: expected a square matrix or a stack of them [..., n, n], got ${fmtShape(a.shape)}`);
  if (!isFloat(a.dtype)) throw new Error(`${name}: expected float32 or float64 matrices, got ${a.dtype} (the linalg functions promote integers to float32)`);
  return a.shape[r - 1];
}

const checkSameType = (name: string, a: ShapedArray, b: ShapedArray) => {
  if (a.dtype !== b.dtype) throw new Error(`${name}: dtypes ${a.dtype} and ${b.dtype} differ`);
};

/** The transpose of each matrix in a stack. */
const mT = (x: Tracer) => np.swapaxes(x, -1, -2);

/** Trace of each matrix, with ops that transpose (mask by the identity, then sum). */
function trace(x: Tracer): Tracer {
  const n = x.shape[x.ndim - 1];
  return np.sum(np.mul(x, np.eye(n, n, { dtype: x.dtype })), { axis: [-2, -1] });
}

/** [[a, e], [0, a]] for stacks of n x n matrices: its exponential holds L(a, e) top right. */
function blockUpper(a: Tracer, e: Tracer): Tracer {
  const top = np.concatenate([a, e], { axis: -1 });
  const bottom = np.concatenate([np.zerosLike(a), a], { axis: -1 });
  return np.concatenate([top, bottom], { axis: -2 });
}

function topRight(x: Tracer, n: number): Tracer {
  const r = x.ndim;
  const start = x.shape.map((_, i) => (i === r - 1 ? n : 0));
  const limit = x.shape.map((d, i) => (i === r - 2 ? n : d));
  return slice(x, start, limit);
}

/** Batch rule of a primitive whose inputs are all stacks: mapped axis first on every input. */
const frontBatch = (f: (...xs: Tracer[]) => Tracer) => (vals: Tracer[], dims: (number | null)[], _p: unknown, size: number): [Tracer[], number[]] => [
  [f(...vals.map((v, i) => (vals.length === 1 ? moveaxis(v, dims[i]!, 0) : bdimToFront(v, dims[i], size))))],
  [0],
];

// ---------------------------------------------------------------- expm

export const expmP: Primitive = definePrimitive({
  name: "expm",
  abstractEval([a]) {
    checkSquare("expm", a);
    return [a];
  },
  jvp: ([a], [da]) => [[expm(a)], [expmFrechet(a, da)]],
  batch: frontBatch((a) => expm(a)),
});
defineCpu("expm", ([a], [out], _p, [aa]) => {
      const n = lastDim(aa);
      for (let b = 0; b < batchCount(a, n * n); b++) out.set(expmMatrix(load(a, b, n * n), n), b * n * n);
    });

export const expm = (a: Tracer): Tracer => bind1(expmP, [a]);

// ---------------------------------------------------------------- expm_frechet

export const expmFrechetP: Primitive = definePrimitive({
  name: "expm_frechet",
  abstractEval([a, e]) {
    checkSquare("expm_frechet", a);
    checkSameType("expm_frechet", a, e);
    if (!shapeEq(a.shape, e.shape)) throw new Error(`expm_frechet: the direction E ${fmtShape(e.shape)} must have the shape of A ${fmtShape(a.shape)}`);
    return [a];
  },
  // With M = [[A, E], [0, A]], L(A, E) is the top-right block of expm(M) and M is linear in
  // (A, E) jointly, so the derivative along (dA, dE) is the top-right block of
  // L(M, [[dA, dE], [0, dA]]): linear in the tangents, and nests for any derivative order.
  jvp: ([a, e], [da, de]) => [[expmFrechet(a, e)], [topRight(expmFrechet(blockUpper(a, e), blockUpper(da, de)), a.shape[a.ndim - 1])]],
  transpose([ct], [a, e]) {
    if (a instanceof UndefinedPrimal) throw new Error("expm_frechet: not linear in A (the matrix); it can only be transposed in the direction E");
    if (!ct || !(e instanceof UndefinedPrimal)) return [null, null];
    // <L(A, E), C> = <E, L(A^T, C)> for real matrices.
    return [null, expmFrechet(mT(a as Tracer), ct)];
  },
  batch: frontBatch((a, e) => expmFrechet(a, e)),
});
defineCpu("expm_frechet", ([a, e], [out], _p, [aa]) => {
      const n = lastDim(aa);
      const len = n * n;
      for (let b = 0; b < batchCount(a, len); b++) out.set(expmFrechetMatrix(load(a, b, len), load(e, b, len), n), b * len);
    });

export const expmFrechet = (a: Tracer, e: Tracer): Tracer => bind1(expmFrechetP, [a, e]);

// ---------------------------------------------------------------- solve

export const solveP: Primitive = definePrimitive({
  name: "solve",
  abstractEval([a, b]) {
    const n = checkSquare("solve", a);
    checkSameType("solve", a, b);
    const r = a.shape.length;
    if (b.shape.length !== r || b.shape[r - 2] !== n || !shapeEq(a.shape.slice(0, -2), b.shape.slice(0, -2))) {
      throw new Error(`solve: right-hand side ${fmtShape(b.shape)} must be [..., ${n}, k] with the batch axes of A ${fmtShape(a.shape)}`);
    }
    return [b];
  },
  // dX = A^-1 (dB - dA X): linear in (dA, dB) with A and X held as constants.
  jvp([a, b], [da, db]) {
    const x = solve(a, b);
    return [[x], [solve(a, np.sub(db, np.matmul(da, x)))]];
  },
  transpose([ct], [a, b]) {
    if (a instanceof UndefinedPrimal) throw new Error("solve: not linear in A (the matrix); it can only be transposed in the right-hand side B");
    if (!ct || !(b instanceof UndefinedPrimal)) return [null, null];
    return [null, solve(mT(a as Tracer), ct)];
  },
  batch: frontBatch((a, b) => solve(a, b)),
});
defineCpu("solve", ([a, bIn], [out], _p, [aa], [oa]) => {
      const n = lastDim(aa);
      const k = lastDim(oa);
      for (let b = 0; b < batchCount(a, n * n); b++) {
        const [sign, lu, piv] = luOf(a, b, n);
        const x = load(bIn, b, n * k);
        if (sign === 0) x.fill(NaN);
        else luSolve(lu, piv, n, x, k);
        out.set(x, b * n * k);
      }
    });

export const solve = (a: Tracer, b: Tracer): Tracer => bind1(solveP, [a, b]);

// ---------------------------------------------------------------- det, log_abs_det, det_sign

/** A primitive mapping each matrix of a stack to a scalar computed from its LU factors. */
function luScalar(name: string, fromLu: (sign: number, lu: Mat, n: number) => number, jvp: Primitive["jvp"]): Primitive {
  const p: Primitive = definePrimitive({
    name,
    abstractEval([a]) {
      checkSquare(name, a);
      return [{ shape: a.shape.slice(0, -2), dtype: a.dtype }];
    },
    jvp,
    batch: frontBatch((a) => bind1(p, [a])),
  });
  defineCpu(name as "det", ([a], [out], _p, [aa]) => {
        const n = lastDim(aa);
        // An empty matrix (n = 0) has determinant 1.
        if (n === 0) return void out.fill(fromLu(1, new Float64Array(0), 0));
        for (let b = 0; b < batchCount(a, n * n); b++) {
          const [sign, lu] = luOf(a, b, n);
          out[b] = fromLu(sign, lu, n);
        }
      });
  return p;
}

// d det(A) = det(A) tr(A^-1 dA) (Jacobi's formula); the tangent path is solve (linear in its
// second argument), the identity mask, a sum and a product with the primal det.
export const detP: Primitive = luScalar(
  "det",
  (sign, lu, n) => {
    let d = sign;
    for (let i = 0; i < n && d !== 0; i++) d *= lu[i * n + i];
    return d;
  },
  ([a], [da]) => {
    const d = det(a);
    return [[d], [np.mul(d, trace(solve(a, da)))]];
  },
);

export const logAbsDetP: Primitive = luScalar(
  "log_abs_det",
  (sign, lu, n) => {
    if (sign === 0) return -Infinity;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.log(Math.abs(lu[i * n + i]));
    return s;
  },
  ([a], [da]) => [[logAbsDet(a)], [trace(solve(a, da))]],
);

export const detSignP: Primitive = luScalar(
  "det_sign",
  (sign, lu, n) => {
    let s = sign;
    for (let i = 0; i < n && s !== 0; i++) s *= Math.sign(lu[i * n + i]);
    return s;
  },
  "zero", // piecewise constant
);

export const det = (a: Tracer): Tracer => bind1(detP, [a]);
export const logAbsDet = (a: Tracer): Tracer => bind1(logAbsDetP, [a]);
export const detSign = (a: Tracer): Tracer => bind1(detSignP, [a]);
