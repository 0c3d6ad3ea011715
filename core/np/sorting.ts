/** Sorting: sort, argsort (stable; NaNs sort last, as in NumPy and JAX). */
import { asArray, type ArrayLike } from "../convert.ts";
import { normalizeAxis } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as s from "../primitives/sort.ts";
import { rev, reshape } from "../primitives/shape.ts";
import { sub } from "./math.ts";
import { AXIS_OR_NONE, optionsOf } from "../options.ts";

const SORT_KEYS = ["axis", "descending"] as const;
type SortArg = number | null | SortOpts;

export interface SortOpts {
  /** The axis to sort along (default -1); null sorts the flattened array. */
  axis?: number | null;
  /** Largest first. Ties keep their original order (a stable descending sort). */
  descending?: boolean;
}

/** The array and axis of `sort(x, axis)` / `sort(x, { axis, descending })`, and the options. */
function prepare(op: string, x: ArrayLike, axisOrOpts: SortArg | undefined): [Tracer, number, SortOpts] {
  const opts = optionsOf<SortOpts>(op, axisOrOpts, SORT_KEYS, AXIS_OR_NONE);
  const axis = opts.axis;
  let a = asArray(x);
  if (axis === null) a = reshape(a, [a.size]);
  if (a.ndim === 0) throw new Error(`${op}: cannot sort a scalar (shape []); pass an array of rank >= 1 or axis: null`);
  return [a, normalizeAxis(op, axis ?? -1, a.ndim), opts];
}

/**
 * A sorted copy along `axis`. Differentiable: the gradient flows back to each element's
 * original position.
 * @example np.sort(np.array([3, 1, 2])) // [1, 2, 3]; np.sort(x, 0) sorts each column
 */
export function sort(x: ArrayLike, axisOrOpts?: SortArg): Tracer {
  const [a, axis, opts] = prepare("sort", x, axisOrOpts);
  const y = s.sort(a, axis);
  // A stable descending sort of values is the reversed ascending sort: equal values are indistinguishable.
  return opts.descending ? rev(y, [axis]) : y;
}

/**
 * The indices (int32) that sort x along `axis`; stable, so equal elements keep their order.
 * @example np.argsort(np.array([3, 1, 2])) // [1, 2, 0]
 */
export function argsort(x: ArrayLike, axisOrOpts?: SortArg): Tracer {
  const [a, axis, opts] = prepare("argsort", x, axisOrOpts);
  if (!opts.descending) return s.argsort(a, axis);
  // As JAX does: sort the reversed array stably, map indices back, and reverse, so ties
  // stay in their original order in the descending result (and NaNs come first).
  const n = a.shape[axis];
  const idx = s.argsort(rev(a, [axis]), axis);
  return rev(sub(n - 1, idx), [axis]);
}
