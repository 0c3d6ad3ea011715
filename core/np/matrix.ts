/** Matrix-shaped helpers: triu, tril, diagonal, trace, diag, meshgrid, kron, cross. */
import { asArray, type ArrayLike } from "../convert.ts";
import { checkChoice, isPlainObject, optionsOf, type Positional } from "../options.ts";
import { fmtShape, normalizeAxis } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as sh from "../primitives/shape.ts";
import { broadcastTo, mul, promoteBroadcast, sub, where } from "./math.ts";
import { arange, eye, zerosLike } from "./creation.ts";
import { concatenate, pad, reshape } from "./manipulation.ts";
import { take } from "./indexing.ts";
import { sum } from "./reductions.ts";

const K: Positional = { key: "k", what: "a diagonal offset k (an integer)", is: (v) => Number.isInteger(v) };
const OFFSET: Positional = { key: "offset", what: "a diagonal offset (an integer)", is: (v) => Number.isInteger(v) };

/** x with the elements below (triu) or above (tril) diagonal k of its last two axes zeroed. */
function triangle(op: string, keepAbove: boolean) {
  return (x: ArrayLike, kOrOpts?: number | { k?: number }): Tracer => {
    const k = optionsOf<{ k?: number }>(op, kOrOpts, ["k"], K).k ?? 0;
    const a = asArray(x);
    if (a.ndim < 2) throw new Error(`${op}: needs an array of rank >= 2, got ${fmtShape(a.shape)}`);
    const [n, m] = a.shape.slice(-2);
    const offset = sub(reshape(arange(m), [1, m]), reshape(arange(n), [n, 1]));
    const keep = keepAbove ? offset.greaterEqual(k) : offset.lessEqual(k);
    return where(keep, a, zerosLike(a));
  };
}
/** @example np.triu(x, 1) // zeros on and below the main diagonal */
export const triu = triangle("triu", true);
/** @example np.tril(x) // zeros above the main diagonal */
export const tril = triangle("tril", false);

interface DiagonalOpts {
  offset?: number;
  axis1?: number;
  axis2?: number;
}

/**
 * The diagonal `offset` of the matrices spanned by axis1 and axis2 (0 and 1 by default), as
 * a new last axis, as np.diagonal.
 * @example np.diagonal(np.array([[1, 2], [3, 4]])) // [1, 4]
 */
export function diagonal(x: ArrayLike, offsetOrOpts?: number | DiagonalOpts): Tracer {
  const opts = optionsOf<DiagonalOpts>("diagonal", offsetOrOpts, ["offset", "axis1", "axis2"], OFFSET);
  const a = asArray(x);
  if (a.ndim < 2) throw new Error(`diagonal: needs an array of rank >= 2, got ${fmtShape(a.shape)}`);
  const i1 = normalizeAxis("diagonal", opts.axis1 ?? 0, a.ndim);
  const i2 = normalizeAxis("diagonal", opts.axis2 ?? 1, a.ndim);
  if (i1 === i2) throw new Error(`diagonal: axis1 and axis2 are both axis ${i1}`);
  const k = opts.offset ?? 0;
  const rest = [...a.shape.keys()].filter((d) => d !== i1 && d !== i2);
  const [n, m] = [a.shape[i1], a.shape[i2]];
  const len = Math.max(0, k >= 0 ? Math.min(n, m - k) : Math.min(n + k, m));
  const flat = sh.reshape(sh.transpose(a, [...rest, i1, i2]), [...rest.map((d) => a.shape[d]), n * m]);
  const idx = [...Array(len).keys()].map((i) => (i + Math.max(-k, 0)) * m + i + Math.max(k, 0));
  return take(flat, idx, { axis: -1, mode: "clip" });
}

/** The sum of a diagonal (np.trace): `trace(x, offset)` or `{ offset, axis1, axis2 }`. */
export function trace(x: ArrayLike, offsetOrOpts?: number | DiagonalOpts): Tracer {
  return sum(diagonal(x, offsetOrOpts), -1);
}

/**
 * From a 1-D array, the square matrix with it on diagonal k; from a 2-D array, its diagonal k.
 * @example np.diag(np.array([1, 2])) // [[1, 0], [0, 2]]
 */
export function diag(v: ArrayLike, kOrOpts?: number | { k?: number }): Tracer {
  const k = optionsOf<{ k?: number }>("diag", kOrOpts, ["k"], K).k ?? 0;
  const a = asArray(v);
  if (a.ndim === 2) return diagonal(a, k);
  if (a.ndim !== 1) throw new Error(`diag: expected a 1-D or 2-D array, got ${fmtShape(a.shape)}`);
  const size = a.shape[0] + Math.abs(k);
  // Element (i, i + k) is v[i] above the diagonal (indexed by row), v[i + k] below it (by column).
  const padded = pad(a, [[0, Math.abs(k)]]);
  const line = reshape(padded, k >= 0 ? [size, 1] : [1, size]);
  return where(eye(size, size, { k, dtype: "bool" }), broadcastTo(line, [size, size]), zerosLike(broadcastTo(line, [size, size])));
}

/**
 * Coordinate arrays for a grid, as np.meshgrid: `indexing: "xy"` (default) puts the first
 * array along columns, "ij" along rows; `sparse` leaves them broadcastable instead of full.
 * @example const [X, Y] = np.meshgrid(np.arange(3), np.arange(2)) // both [2, 3]
 */
export function meshgrid(...args: (ArrayLike | { indexing?: "xy" | "ij"; sparse?: boolean })[]): Tracer[] {
  const last = args[args.length - 1];
  const opts = isPlainObject(last) ? optionsOf<{ indexing?: "xy" | "ij"; sparse?: boolean }>("meshgrid", args.pop(), ["indexing", "sparse"]) : {};
  checkChoice("meshgrid", "indexing", opts.indexing, ["xy", "ij"]);
  const xs = (args as ArrayLike[]).map((x) => asArray(x)).map((a) => reshape(a, [a.size]));
  const lens = xs.map((a) => a.shape[0]);
  // "xy" swaps the first two output axes.
  const at = (i: number) => (opts.indexing !== "ij" && xs.length >= 2 && i < 2 ? 1 - i : i);
  const shape = lens.map((_, d) => lens[xs.findIndex((_, i) => at(i) === d)]);
  return xs.map((a, i) => {
    const r = reshape(
      a,
      shape.map((n, d) => (d === at(i) ? n : 1)),
    );
    return opts.sparse ? r : broadcastTo(r, shape);
  });
}

/**
 * The Kronecker product: block (i, j) is a[i, j] * b (any ranks; the shorter is padded with
 * leading 1s), as np.kron.
 * @example np.kron(np.eye(2), np.ones([2, 2])) // [4, 4], two blocks of ones
 */
export function kron(x: ArrayLike, y: ArrayLike): Tracer {
  let a = asArray(x);
  let b = asArray(y);
  const r = Math.max(a.ndim, b.ndim);
  a = reshape(a, [...Array(r - a.ndim).fill(1), ...a.shape]);
  b = reshape(b, [...Array(r - b.ndim).fill(1), ...b.shape]);
  const prodShape = a.shape.map((n, d) => n * b.shape[d]);
  const out = mul(
    reshape(
      a,
      a.shape.flatMap((n) => [n, 1]),
    ),
    reshape(
      b,
      b.shape.flatMap((n) => [1, n]),
    ),
  );
  return reshape(out, prodShape);
}

/**
 * The cross product of 3-vectors along the last axis (broadcasting the others); for
 * 2-vectors, the z component (a scalar per pair), as np.cross.
 * @example np.cross(np.array([1, 0, 0]), np.array([0, 1, 0])) // [0, 0, 1]
 */
export function cross(x: ArrayLike, y: ArrayLike, axisOrOpts?: number | { axis?: number }): Tracer {
  const at = optionsOf<{ axis?: number }>("cross", axisOrOpts, ["axis"], { key: "axis", what: "an axis (a number)", is: Number.isInteger }).axis ?? -1;
  const [a0, b0] = [asArray(x), asArray(y)];
  const n = a0.shape[normalizeAxis("cross", at, a0.ndim)];
  const nb = b0.shape[normalizeAxis("cross", at, b0.ndim)];
  if (n !== nb || (n !== 2 && n !== 3)) throw new Error(`cross: both vectors must have 3 (or both 2) components along axis ${at}, got ${fmtShape(a0.shape)} and ${fmtShape(b0.shape)}`);
  const last = (t: Tracer) => sh.moveaxis(t, normalizeAxis("cross", at, t.ndim), t.ndim - 1);
  const [a, b] = promoteBroadcast("cross", [last(a0), last(b0)]);
  const c = (t: Tracer, i: number) => take(t, i, { axis: -1, mode: "clip" });
  const z = sub(mul(c(a, 0), c(b, 1)), mul(c(a, 1), c(b, 0)));
  if (n === 2) return z;
  const comps = [sub(mul(c(a, 1), c(b, 2)), mul(c(a, 2), c(b, 1))), sub(mul(c(a, 2), c(b, 0)), mul(c(a, 0), c(b, 2))), z];
  const out = concatenate(
    comps.map((t) => reshape(t, [...t.shape, 1])),
    -1,
  );
  return sh.moveaxis(out, out.ndim - 1, normalizeAxis("cross", at, out.ndim));
}
