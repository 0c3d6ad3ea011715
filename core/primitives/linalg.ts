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
import { isFloat, typedArrayFor, type DType } from "../dtype.ts";
import { fromTyped, scalar } from "../array.ts";
import { definePrimitive, UndefinedPrimal, type Primitive } from "../primitive.ts";
import type { RoutineParams } from "../routines.ts";
import { fmtShape, shapeEq } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { bdimToFront, broadcastInDim, concatenate, moveaxis, slice, transpose } from "./shape.ts";
import { mul, sub } from "./elementwise.ts";
import { reduceSum } from "./reduce.ts";
import { dotGeneral } from "./dot.ts";

// ---------------------------------------------------------------- shape checks and helpers

/** The linalg primitives take no params. */
type NoParams = RoutineParams["expm"];

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
function mT(x: Tracer): Tracer {
  const perm = [...x.shape.keys()];
  perm.splice(-2, 2, x.ndim - 1, x.ndim - 2);
  return transpose(x, perm);
}

/** The n x n identity matrix, a constant. */
function identity(n: number, dtype: DType): Tracer {
  const data = typedArrayFor(dtype, n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return fromTyped(data, [n, n], dtype);
}

/** Trace of each matrix, with ops that transpose (mask by the identity, then sum). */
function trace(x: Tracer): Tracer {
  const r = x.ndim;
  const eye = broadcastInDim(identity(x.shape[r - 1], x.dtype), x.shape, [r - 2, r - 1]);
  return reduceSum(mul(x, eye), [r - 2, r - 1]);
}

/** [[a, e], [0, a]] for stacks of n x n matrices: its exponential holds L(a, e) top right. */
function blockUpper(a: Tracer, e: Tracer): Tracer {
  const top = concatenate([a, e], a.ndim - 1);
  const bottom = concatenate([broadcastInDim(scalar(0, a.dtype), a.shape, []), a], a.ndim - 1);
  return concatenate([top, bottom], a.ndim - 2);
}

/** The matrix product of two stacks with the same batch axes. */
function matmul(a: Tracer, b: Tracer): Tracer {
  const batch = [...Array(a.ndim - 2).keys()];
  return dotGeneral(a, b, { contracting: [[a.ndim - 1], [b.ndim - 2]], batch: [batch, batch] });
}

function topRight(x: Tracer, n: number): Tracer {
  const r = x.ndim;
  const start = x.shape.map((_, i) => (i === r - 1 ? n : 0));
  const limit = x.shape.map((d, i) => (i === r - 2 ? n : d));
  return slice(x, start, limit);
}

/** Batch rule of a primitive whose inputs are all stacks: mapped axis first on every input. */
const frontBatch =
  (f: (...xs: Tracer[]) => Tracer) =>
  (vals: Tracer[], dims: (number | null)[], _p: unknown, size: number): [Tracer[], number[]] => [
    [f(...vals.map((v, i) => (vals.length === 1 ? moveaxis(v, dims[i]!, 0) : bdimToFront(v, dims[i], size))))],
    [0],
  ];

// ---------------------------------------------------------------- expm

export const expmP: Primitive<NoParams> = definePrimitive<NoParams>({
  name: "expm",
  abstractEval([a]) {
    checkSquare("expm", a);
    return [a];
  },
  jvp: ([a], [da]) => [[expm(a)], [expmFrechet(a, da)]],
  batch: frontBatch((a) => expm(a)),
});

export const expm = (a: Tracer): Tracer => bind1(expmP, [a]);

// ---------------------------------------------------------------- expm_frechet

export const expmFrechetP: Primitive<NoParams> = definePrimitive<NoParams>({
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

export const expmFrechet = (a: Tracer, e: Tracer): Tracer => bind1(expmFrechetP, [a, e]);

// ---------------------------------------------------------------- solve

export const solveP: Primitive<NoParams> = definePrimitive<NoParams>({
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
    return [[x], [solve(a, sub(db, matmul(da, x)))]];
  },
  transpose([ct], [a, b]) {
    if (a instanceof UndefinedPrimal) throw new Error("solve: not linear in A (the matrix); it can only be transposed in the right-hand side B");
    if (!ct || !(b instanceof UndefinedPrimal)) return [null, null];
    return [null, solve(mT(a as Tracer), ct)];
  },
  batch: frontBatch((a, b) => solve(a, b)),
});

export const solve = (a: Tracer, b: Tracer): Tracer => bind1(solveP, [a, b]);

// ---------------------------------------------------------------- det, log_abs_det, det_sign

/** A primitive mapping each matrix of a stack to a scalar computed from its LU factors. */
function luScalar(name: string, jvp: Primitive<NoParams>["jvp"]): Primitive<NoParams> {
  const p: Primitive<NoParams> = definePrimitive<NoParams>({
    name,
    abstractEval([a]) {
      checkSquare(name, a);
      return [{ shape: a.shape.slice(0, -2), dtype: a.dtype }];
    },
    jvp,
    batch: frontBatch((a) => bind1(p, [a])),
  });
  return p;
}

// d det(A) = det(A) tr(A^-1 dA) (Jacobi's formula); the tangent path is solve (linear in its
// second argument), the identity mask, a sum and a product with the primal det.
export const detP: Primitive<NoParams> = luScalar("det", ([a], [da]) => {
  const d = det(a);
  return [[d], [mul(d, trace(solve(a, da)))]];
});

export const logAbsDetP: Primitive<NoParams> = luScalar("log_abs_det", ([a], [da]) => [[logAbsDet(a)], [trace(solve(a, da))]]);

export const detSignP: Primitive<NoParams> = luScalar(
  "det_sign",
  "zero", // piecewise constant
);

export const det = (a: Tracer): Tracer => bind1(detP, [a]);
export const logAbsDet = (a: Tracer): Tracer => bind1(logAbsDetP, [a]);
export const detSign = (a: Tracer): Tracer => bind1(detSignP, [a]);
