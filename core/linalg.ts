/**
 * `linalg`: matrix functions for small, batched matrices [..., n, n]. All are
 * differentiable (any order), batch under `vmap` and stage under `jit`. Integer and bool
 * inputs are promoted to float32; kernels compute in float64 either way.
 *
 * Singular matrices do not throw (kernels may run inside `jit`): `solve` and `inv` give
 * NaN for that matrix, `det` gives 0, `slogdet` gives sign 0 and logabsdet -inf.
 */
import { asArray, type ArrayLike } from "./convert.ts";
import { isFloat } from "./dtype.ts";
import { broadcastShapes, fmtShape, normalizeAxes } from "./shape.ts";
import { checkOptions, optionsOf } from "./options.ts";
import type { Tracer } from "./tracer.ts";
import * as np from "./np.ts";
import * as prims from "./primitives/linalg.ts";

/** The float array for `x`, promoting integers and bools to float32. */
function floatArray(x: ArrayLike): Tracer {
  const a = asArray(x);
  return isFloat(a.dtype) ? a : np.astype(a, "float32");
}

/** Checks that `a` is [..., n, n] and returns n. */
function squareSize(op: string, a: Tracer): number {
  if (a.ndim < 2 || a.shape[a.ndim - 1] !== a.shape[a.ndim - 2]) {
    throw new Error(`linalg.${op}: expected a square matrix or a stack of them [..., n, n], got ${fmtShape(a.shape)}`);
  }
  return a.shape[a.ndim - 1];
}

function squareMatrix(op: string, x: ArrayLike): Tracer {
  const a = floatArray(x);
  squareSize(op, a);
  return a;
}

/**
 * Matrix exponential of each matrix in a stack (scaling and squaring with a degree-13
 * Padé approximant, Higham 2005; about 1e-15 relative accuracy in float64 for
 * well-conditioned inputs). Its derivative is the Fréchet derivative, so grad works to any order.
 * @example
 * const rot = linalg.expm(np.array([[0, -Math.PI / 2], [Math.PI / 2, 0]], { dtype: "float64" }));
 * // [[0, -1], [1, 0]]: a quarter turn
 */
export function expm(a: ArrayLike): Tracer {
  return prims.expm(squareMatrix("expm", a));
}

/**
 * The Fréchet derivative L(A, E) of expm at A in the direction E (same shapes): the
 * first-order change of expm(A + t E) in t. Linear in E.
 * @example
 * const A = np.array([[0, 1], [0, 0]], { dtype: "float64" });
 * linalg.expmFrechet(A, np.eye(2, 2, { dtype: "float64" })) // = expm(A) since A commutes with I
 */
export function expmFrechet(a: ArrayLike, e: ArrayLike): Tracer {
  const A = squareMatrix("expmFrechet", a);
  let E = asArray(e);
  if (E.shape.join() !== A.shape.join()) throw new Error(`linalg.expmFrechet: the direction E ${fmtShape(E.shape)} must have the shape of A ${fmtShape(A.shape)}`);
  const dtype = np.resultType(A, E);
  E = np.astype(E, isFloat(dtype) ? dtype : "float32");
  return prims.expmFrechet(np.astype(A, E.dtype), E);
}

/**
 * Solves A x = b for each matrix in a stack (LU with partial pivoting, in float64).
 * NumPy 2 semantics: a 1-D `b` of length n is a vector (result [..., n]); otherwise `b` is
 * [..., n, k] and its batch axes broadcast against A's. For a stack of vectors [..., n],
 * pass `np.expandDims(b, -1)` and squeeze the result.
 * @example
 * const A = np.array([[2, 0], [0, 4]], { dtype: "float64" });
 * linalg.solve(A, np.array([2, 2], { dtype: "float64" })) // [1, 0.5]
 */
export function solve(a: ArrayLike, b: ArrayLike): Tracer {
  let A = floatArray(a);
  let B = asArray(b);
  const n = squareSize("solve", A);
  const dtype = np.resultType(A, B);
  const ft = isFloat(dtype) ? dtype : "float32";
  A = np.astype(A, ft);
  B = np.astype(B, ft);
  const vector = B.ndim === 1;
  if (vector) B = np.reshape(B, [B.shape[0], 1]);
  if (B.ndim < 2 || B.shape[B.ndim - 2] !== n) {
    const hint = B.ndim >= 2 && B.shape[B.ndim - 1] === n ? " (for a stack of vectors [..., n], pass np.expandDims(b, -1))" : "";
    throw new Error(`linalg.solve: b ${fmtShape(asArray(b).shape)} does not match A ${fmtShape(A.shape)}; expected [${n}] or [..., ${n}, k]${hint}`);
  }
  const batch = broadcastShapes("linalg.solve", A.shape.slice(0, -2), B.shape.slice(0, -2));
  A = np.broadcastTo(A, [...batch, n, n]);
  B = np.broadcastTo(B, [...batch, n, B.shape[B.ndim - 1]]);
  const x = prims.solve(A, B);
  return vector ? np.reshape(x, x.shape.slice(0, -1)) : x;
}

/**
 * Inverse of each matrix in a stack, as solve(A, I). Prefer `solve` when you only need A^-1 b.
 * @example
 * linalg.inv(np.array([[2, 0], [0, 4]], { dtype: "float64" })) // [[0.5, 0], [0, 0.25]]
 */
export function inv(a: ArrayLike): Tracer {
  const A = squareMatrix("inv", a);
  const n = A.shape[A.ndim - 1];
  return prims.solve(A, np.broadcastTo(np.eye(n, n, { dtype: A.dtype }), A.shape));
}

/**
 * Determinant of each matrix in a stack (from the LU factors); shape A.shape[:-2].
 * For large or ill-scaled matrices, `slogdet` avoids overflow.
 * @example
 * linalg.det(np.array([[1, 2], [3, 4]], { dtype: "float64" })) // -2
 */
export function det(a: ArrayLike): Tracer {
  return prims.det(squareMatrix("det", a));
}

/**
 * Sign and natural log of the absolute determinant, [sign, logabsdet], as NumPy's slogdet:
 * det = sign * exp(logabsdet) without overflow. The sign carries no derivative.
 * @example
 * const [sign, logabsdet] = linalg.slogdet(np.array([[1, 2], [3, 4]], { dtype: "float64" }))
 * // sign -1, logabsdet log(2)
 */
export function slogdet(a: ArrayLike): [Tracer, Tracer] {
  const A = squareMatrix("slogdet", a);
  return [prims.detSign(A), prims.logAbsDet(A)];
}

type Ord = number | "fro" | "nuc" | null;
interface NormOpts {
  ord?: Ord;
  axis?: number | number[] | null;
  keepdims?: boolean;
}
const ORD = { key: "ord", what: 'an order (a number, "fro", "nuc" or null)', is: (v: unknown) => v === null || typeof v === "number" || v === "fro" || v === "nuc" };

/**
 * Vector and matrix norms, as np.linalg.norm: `norm(x)` (the 2-norm of the flattened array,
 * Frobenius for a matrix), `norm(x, ord, axis)` or `{ ord, axis, keepdims }`. Vector orders:
 * any p, Infinity, -Infinity, 0 (count of nonzeros); matrix orders (two axes): "fro", 1, -1,
 * Infinity, -Infinity. Orders 2, -2 and "nuc" need singular values, which linalg has no SVD
 * for yet: they throw.
 * @example linalg.norm(np.array([3, 4])) // 5; linalg.norm(x, 1, -1) sums |x| along the last axis
 */
export function norm(x: ArrayLike, ordOrOpts?: Ord | NormOpts, axis?: number | number[] | null, rest?: { keepdims?: boolean }): Tracer {
  const opts = optionsOf<NormOpts>("linalg.norm", ordOrOpts, ["ord", "axis", "keepdims"], ORD, axis === undefined ? rest : { ...rest, axis });
  checkOptions("linalg.norm", rest, ["keepdims"]);
  const a = floatArray(x);
  const ord = opts.ord ?? null;
  const axes = opts.axis === undefined || opts.axis === null ? (a.ndim === 2 && ord !== null ? [0, 1] : null) : normalizeAxes("linalg.norm", opts.axis, a.ndim);
  const keepdims = opts.keepdims;
  const m = np.abs(a);
  if (axes === null || axes.length === 1) {
    const red = { axis: axes, keepdims };
    if (typeof ord === "string") throw new Error(`linalg.norm: ord "${ord}" is a matrix norm; give two axes`);
    if (ord === null || ord === 2) return np.sqrt(np.sum(np.mul(a, a), red));
    if (ord === Infinity) return np.max(m, red);
    if (ord === -Infinity) return np.min(m, red);
    if (ord === 0) return np.sum(np.astype(np.notEqual(a, 0), a.dtype), red);
    if (ord === 1) return np.sum(m, red);
    return np.pow(np.sum(np.pow(m, ord), red), 1 / ord);
  }
  if (axes.length !== 2) throw new Error(`linalg.norm: axis must name one or two axes, got ${JSON.stringify(opts.axis)}`);
  const [r, c] = axes;
  const keep = (y: Tracer) =>
    keepdims
      ? np.reshape(
          y,
          a.shape.map((n, d) => (axes.includes(d) ? 1 : n)),
        )
      : y;
  if (ord === null || ord === "fro") return np.sqrt(np.sum(np.mul(a, a), { axis: axes, keepdims }));
  // Column sums (ord 1) or row sums (ord inf), then the extreme over the other axis.
  const lines = (sumAxis: number, other: number, f: typeof np.max) => keep(f(np.sum(m, { axis: sumAxis, keepdims: true }), { axis: other }).reshape(a.shape.filter((_, d) => !axes.includes(d))));
  if (ord === 1 || ord === -1) return lines(r, c, ord === 1 ? np.max : np.min);
  if (ord === Infinity || ord === -Infinity) return lines(c, r, ord === Infinity ? np.max : np.min);
  throw new Error(`linalg.norm: matrix ord ${JSON.stringify(ord)} needs singular values (no SVD in linalg yet); use "fro", 1, -1, Infinity or -Infinity`);
}

export { lanczos, effectiveDimension, type LanczosOpts, type LanczosResult } from "./lanczos.ts";
