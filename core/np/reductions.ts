/** Reductions with NumPy's `{ axis, keepdims }` options, and softmax / logsumexp. */
import { asArray, type ArrayLike } from "../convert.ts";
import { isFloat } from "../dtype.ts";
import { normalizeAxes, normalizeAxis } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as red from "../primitives/reduce.ts";
import { reshape } from "../primitives/shape.ts";
import { AXES, AXIS_OR_NONE, optionsOf } from "../options.ts";
import { add, astype, div, exp, log, stopGradient, sub, where, isFinite, square, sqrt } from "./math.ts";

export interface AxisOpts {
  axis?: number | number[] | null;
  keepdims?: boolean;
}

/** What a reduction takes after the array: an axis (NumPy's positional form) or `{ axis, keepdims }`. */
export type AxisArg = number | number[] | null | AxisOpts;
type VarOpts = AxisOpts & { ddof?: number };
type ArgOpts = { axis?: number | null; keepdims?: boolean };

const REDUCE_KEYS = ["axis", "keepdims"] as const;
const VAR_KEYS = ["axis", "keepdims", "ddof"] as const;

/** `np.sum(x, 1)`, `np.sum(x, 1, { keepdims })` and `np.sum(x, { axis: 1 })` are one call. */
const axisOptions = <T extends object>(op: string, arg: unknown, rest: unknown, keys: readonly string[] = REDUCE_KEYS) => optionsOf<T>(op, arg, keys, AXES, rest);

function keep(op: string, x: Tracer, y: Tracer, axes: number[], keepdims?: boolean): Tracer {
  if (!keepdims) return y;
  return reshape(
    y,
    x.shape.map((n, i) => (axes.includes(i) ? 1 : n)),
  );
}

const reduction =
  (op: string, f: (x: Tracer, axes: number[]) => Tracer, prep: (x: Tracer) => Tracer = (x) => x, hasIdentity = true) =>
  (x: ArrayLike, axis?: AxisArg, rest?: { keepdims?: boolean }): Tracer => {
    const opts = axisOptions<AxisOpts>(op, axis, rest);
    const a = prep(asArray(x));
    const axes = normalizeAxes(op, opts.axis, a.ndim);
    // jnp.max raises here; lax.reduce_max would give -inf, a value no element has.
    const empty = axes.find((ax) => a.shape[ax] === 0);
    if (!hasIdentity && empty !== undefined) {
      throw new Error(`${op}: zero-size array to reduction operation ${op} which has no identity (axis ${empty} of [${a.shape.join(",")}] has size 0)`);
    }
    return keep(op, a, f(a, axes), axes, opts.keepdims);
  };

const sumPrep = (x: Tracer) => (x.dtype === "bool" ? astype(x, "int32") : x);

/** @example np.sum(np.ones([2, 3]), 1) // [3, 3]; the same as np.sum(x, { axis: 1 }) */
export const sum = reduction("sum", (x, axes) => red.reduceSum(x, axes), sumPrep);
export const prod = reduction("prod", (x, axes) => red.reduceProd(x, axes), sumPrep);
export const max = reduction("max", (x, axes) => red.reduceMax(x, axes), undefined, false);
export const min = reduction("min", (x, axes) => red.reduceMin(x, axes), undefined, false);

export function mean(x: ArrayLike, axis?: AxisArg, rest?: { keepdims?: boolean }): Tracer {
  const opts = axisOptions<AxisOpts>("mean", axis, rest);
  const a = asArray(x);
  const axes = normalizeAxes("mean", opts.axis, a.ndim);
  const n = axes.reduce((acc, i) => acc * a.shape[i], 1);
  const s = sum(isFloat(a.dtype) ? a : astype(a, "float32"), opts);
  return div(s, n);
}

/** Variance with `ddof` (0 by default, as NumPy). */
export function variance(x: ArrayLike, axis?: AxisArg | VarOpts, rest?: { keepdims?: boolean; ddof?: number }): Tracer {
  const opts = axisOptions<VarOpts>("var", axis, rest, VAR_KEYS);
  const a = asArray(x);
  const axes = normalizeAxes("var", opts.axis, a.ndim);
  const n = axes.reduce((acc, i) => acc * a.shape[i], 1);
  const m = mean(a, { axis: axes, keepdims: true });
  const s = sum(square(sub(a, m)), { axis: axes, keepdims: opts.keepdims });
  return div(s, n - (opts.ddof ?? 0));
}
export { variance as var };

export function std(x: ArrayLike, axis?: AxisArg | VarOpts, rest?: { keepdims?: boolean; ddof?: number }): Tracer {
  return sqrt(variance(x, axisOptions<VarOpts>("std", axis, rest, VAR_KEYS)));
}

const argReduction =
  (op: string, f: (x: Tracer, axis: number) => Tracer) =>
  (x: ArrayLike, axisOrOpts?: number | null | ArgOpts, rest?: { keepdims?: boolean }): Tracer => {
    const opts = optionsOf<ArgOpts>(op, axisOrOpts, REDUCE_KEYS, AXIS_OR_NONE, rest);
    const a = asArray(x);
    if (opts.axis === undefined || opts.axis === null) {
      const flat = reshape(a, [a.size]);
      const r = f(flat, 0);
      return opts.keepdims
        ? reshape(
            r,
            a.shape.map(() => 1),
          )
        : r;
    }
    const axis = normalizeAxis(op, opts.axis, a.ndim);
    return keep(op, a, f(a, axis), [axis], opts.keepdims);
  };
export const argmax = argReduction("argmax", (x, axis) => red.argmax(x, axis));
export const argmin = argReduction("argmin", (x, axis) => red.argmin(x, axis));

/** log(sum(exp(x))) computed stably; the shift carries no gradient, as in JAX. */
export function logsumexp(x: ArrayLike, axis?: AxisArg, rest?: { keepdims?: boolean }): Tracer {
  const opts = axisOptions<AxisOpts>("logsumexp", axis, rest);
  const a = asArray(x);
  const axes = normalizeAxes("logsumexp", opts.axis, a.ndim);
  const m = stopGradient(max(a, { axis: axes, keepdims: true }));
  const shift = where(isFinite(m), m, 0);
  const res = add(log(sum(exp(sub(a, shift)), { axis: axes, keepdims: true })), shift);
  return opts.keepdims
    ? res
    : reshape(
        res,
        a.shape.filter((_, i) => !axes.includes(i)),
      );
}

/** softmax/logSoftmax normalise over `axis`: -1 by default, a list, or null for every axis (as jax.nn). */
function softmaxAxes(op: string, x: ArrayLike, axisOrOpts: unknown): [Tracer, number[]] {
  const opts = optionsOf<{ axis?: number | number[] | null }>(op, axisOrOpts, ["axis"], AXES);
  const a = asArray(x);
  return [a, normalizeAxes(op, opts.axis === undefined ? -1 : opts.axis, a.ndim)];
}

/** @example np.logSoftmax(logits, -1) // the same as np.logSoftmax(logits, { axis: -1 }) */
export function logSoftmax(x: ArrayLike, axisOrOpts?: number | number[] | null | { axis?: number | number[] | null }): Tracer {
  const [a, axis] = softmaxAxes("logSoftmax", x, axisOrOpts);
  return sub(a, logsumexp(a, { axis, keepdims: true }));
}

/** @example np.softmax(x, 0) // normalised down each column */
export function softmax(x: ArrayLike, axisOrOpts?: number | number[] | null | { axis?: number | number[] | null }): Tracer {
  const [a, axis] = softmaxAxes("softmax", x, axisOrOpts);
  const m = stopGradient(max(a, { axis, keepdims: true }));
  const e = exp(sub(a, where(isFinite(m), m, 0)));
  return div(e, sum(e, { axis, keepdims: true }));
}
