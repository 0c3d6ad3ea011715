/**
 * Windowed reductions over every axis of the operand, as XLA's ReduceWindow: a window
 * (one size per axis) slides with strides over the operand padded by [lo, hi] per axis.
 * reduce_window_sum is linear; reduce_window_max / min differentiate through
 * select_and_gather_add (the tangent at each window's arg-max), whose transpose
 * select_and_scatter_add sends each cotangent back to that position (and vice versa).
 * Ties pick the first position in row-major order of the window; NaN wins like argmax.
 */
import { scalar } from "../array.ts";
import { definePrimitive, UndefinedPrimal, type Primitive } from "../primitive.ts";
import type { RoutineParams } from "../routines.ts";
import { fmtShape } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { bdimToFront, broadcastInDim, moveaxis, pad, reshape } from "./shape.ts";

export type { WindowParams, Select } from "../routines.ts";
import type { WindowParams, Select } from "../routines.ts";

/** Which extreme select_and_gather_add / select_and_scatter_add pick in each window. */

export function windowOutShape(name: string, x: ShapedArray, p: WindowParams): number[] {
  const r = x.shape.length;
  const where = `${name} of ${x.dtype}${fmtShape(x.shape)}`;
  const ints = (v: unknown, ok: (n: number) => boolean) => Array.isArray(v) && v.length === r && v.every((n) => Number.isInteger(n) && ok(n));
  if (!ints(p.window, (n) => n >= 1)) throw new Error(`${where}: window ${JSON.stringify(p.window)} must give a positive integer for each of the ${r} axes`);
  if (!ints(p.strides, (n) => n >= 1)) throw new Error(`${where}: strides ${JSON.stringify(p.strides)} must give a positive integer for each of the ${r} axes`);
  if (!(Array.isArray(p.padding) && p.padding.length === r && p.padding.every((lh) => Array.isArray(lh) && lh.length === 2 && lh.every(Number.isInteger)))) {
    throw new Error(`${where}: padding ${JSON.stringify(p.padding)} must give an integer [lo, hi] pair for each of the ${r} axes`);
  }
  if (x.dtype === "bool") throw new Error(`${where}: bool operands are not supported; convert to a number dtype first`);
  return x.shape.map((n, d) => {
    const padded = n + p.padding[d][0] + p.padding[d][1];
    if (padded < p.window[d]) throw new Error(`${where}: window ${p.window[d]} is larger than the padded size ${padded} of axis ${d}`);
    return Math.floor((padded - p.window[d]) / p.strides[d]) + 1;
  });
}

function checkSelect(name: string, p: { select: Select }): void {
  if (p.select !== "max" && p.select !== "min") throw new Error(`${name}: select must be "max" or "min", got ${JSON.stringify(p.select)}`);
}

const windowParams = (p: WindowParams): WindowParams => ({ window: p.window, strides: p.strides, padding: p.padding });

/** Adds a size-1, stride-1, unpadded window axis in front for the batch. */
function batchedParams<P extends WindowParams>(p: P): P {
  return { ...p, window: [1, ...p.window], strides: [1, ...p.strides], padding: [[0, 0], ...p.padding] };
}

const printParams = (p: WindowParams & { select?: Select }) =>
  `window=${JSON.stringify(p.window)} strides=${JSON.stringify(p.strides)} padding=${JSON.stringify(p.padding)}${p.select ? ` select=${p.select}` : ""}`;

// ---------------------------------------------------------------- reduce_window_sum
export const reduceWindowSumP: Primitive<RoutineParams["reduce_window_sum"]> = definePrimitive<RoutineParams["reduce_window_sum"]>({
  name: "reduce_window_sum",
  abstractEval: ([x], p) => [{ shape: windowOutShape("reduce_window_sum", x, windowParams(p)), dtype: x.dtype }],
  jvp: ([x], [t], p) => [[reduceWindowSum(x, windowParams(p))], [reduceWindowSum(t, windowParams(p))]],
  // JAX's _reduce_window_sum_transpose_rule: spread the cotangent with holes of stride-1,
  // pad its edges by the window, and sum it with the same (all-ones, symmetric) window.
  transpose([ct], [x], p) {
    if (!ct) return [null];
    const xs = (x as UndefinedPrimal).aval.shape;
    if (tiles(p)) return [spreadTiles(ct, xs, p.window)];
    const config = xs.map((n, d) => {
      const w = p.window[d],
        s = p.strides[d];
      const outDil = ct.shape[d] === 0 ? 0 : 1 + s * (ct.shape[d] - 1);
      const before = w - p.padding[d][0] - 1;
      return [before, n + w - 1 - outDil - before, s - 1];
    });
    const spread = pad(ct, scalar(0, ct.dtype), config);
    return [reduceWindowSum(spread, { window: [...p.window], strides: xs.map(() => 1), padding: xs.map(() => [0, 0] as [number, number]) })];
  },
  batch: ([x], [d], p) => [[reduceWindowSum(moveaxis(x, d!, 0), windowParams(batchedParams(p)))], [0]],
  printParams,
});

/** Windows that tile the operand without overlap or padding (average pooling's usual case). */
const tiles = (p: WindowParams) => p.window.every((w, d) => p.strides[d] === w && p.padding[d][0] === 0 && p.padding[d][1] === 0);

/**
 * The transpose of a tiling window sum: each element receives its window's cotangent, a
 * broadcast ([.., o, ..] to [.., o, w, ..], merged to o * w) and zeros for a remainder the
 * windows leave uncovered: one fused map, where the general rule's stride-1 window sum over
 * the spread cotangent reads every element w times.
 */
function spreadTiles(ct: Tracer, xs: readonly number[], window: readonly number[]): Tracer {
  const pairs = ct.shape.flatMap((o, d) => [o, window[d]]);
  const spread = reshape(
    broadcastInDim(
      ct,
      pairs,
      ct.shape.map((_, d) => 2 * d),
    ),
    ct.shape.map((o, d) => o * window[d]),
  );
  const rest = xs.map((n, d) => [0, n - ct.shape[d] * window[d], 0] as [number, number, number]);
  return rest.every(([, hi]) => hi === 0) ? spread : pad(spread, scalar(0, ct.dtype), rest);
}

// ---------------------------------------------------------------- reduce_window_max / min
function extremum(select: Select): Primitive<WindowParams> {
  const name = `reduce_window_${select}`;
  const prim: Primitive<WindowParams> = definePrimitive<WindowParams>({
    name,
    abstractEval: ([x], p) => [{ shape: windowOutShape(name, x, windowParams(p)), dtype: x.dtype }],
    jvp: ([x], [t], p) => [[bind1(prim, [x], p)], [selectAndGatherAdd(t, x, windowParams(p), select)]],
    batch: ([x], [d], p) => [[bind1(prim, [moveaxis(x, d!, 0)], batchedParams(p))], [0]],
    printParams,
  });
  return prim;
}
export const reduceWindowMaxP = extremum("max");
export const reduceWindowMinP = extremum("min");

// ---------------------------------------------------------------- select_and_gather_add
/**
 * select_and_gather_add(t, x): for each window of x, the element of t at x's selected
 * position (0 for a window entirely in padding). Linear in t; x only chooses positions.
 */
export const selectAndGatherAddP: Primitive<RoutineParams["select_and_gather_add"]> = definePrimitive<RoutineParams["select_and_gather_add"]>({
  name: "select_and_gather_add",
  abstractEval([t, x], p) {
    checkSelect("select_and_gather_add", p);
    if (t.dtype !== x.dtype || t.shape.join() !== x.shape.join()) {
      throw new Error(`select_and_gather_add: tangent ${t.dtype}${fmtShape(t.shape)} must match operand ${x.dtype}${fmtShape(x.shape)}`);
    }
    return [{ shape: windowOutShape("select_and_gather_add", x, windowParams(p)), dtype: x.dtype }];
  },
  // The selection is piecewise constant in x, so x's tangent contributes nothing.
  jvp: ([t, x], [dt], p) => [[selectAndGatherAdd(t, x, windowParams(p), p.select)], [selectAndGatherAdd(dt, x, windowParams(p), p.select)]],
  transpose([ct], [t, x], p) {
    if (x instanceof UndefinedPrimal) throw new Error("select_and_gather_add: not linear in the operand (argument 1)");
    if (!ct || !(t instanceof UndefinedPrimal)) return [null, null];
    return [selectAndScatterAdd(ct, x as Tracer, windowParams(p), p.select), null];
  },
  batch: ([t, x], [dt, dx], p, size) => [[bind1(selectAndGatherAddP, [bdimToFront(t, dt, size), bdimToFront(x, dx, size)], batchedParams(p))], [0]],
  printParams,
});

// ---------------------------------------------------------------- select_and_scatter_add
/**
 * select_and_scatter_add(s, x): an array shaped like x, zero except that each window's
 * source value s is added at x's selected position in that window. Linear in s.
 */
export const selectAndScatterAddP: Primitive<RoutineParams["select_and_scatter_add"]> = definePrimitive<RoutineParams["select_and_scatter_add"]>({
  name: "select_and_scatter_add",
  abstractEval([s, x], p) {
    checkSelect("select_and_scatter_add", p);
    const want = windowOutShape("select_and_scatter_add", x, windowParams(p));
    if (s.dtype !== x.dtype || s.shape.join() !== want.join()) {
      throw new Error(`select_and_scatter_add: source ${s.dtype}${fmtShape(s.shape)} must be ${x.dtype}${fmtShape(want)}, the windowed shape of operand ${fmtShape(x.shape)}`);
    }
    return [x];
  },
  jvp: ([s, x], [ds], p) => [[selectAndScatterAdd(s, x, windowParams(p), p.select)], [selectAndScatterAdd(ds, x, windowParams(p), p.select)]],
  transpose([ct], [s, x], p) {
    if (x instanceof UndefinedPrimal) throw new Error("select_and_scatter_add: not linear in the operand (argument 1)");
    if (!ct || !(s instanceof UndefinedPrimal)) return [null, null];
    return [selectAndGatherAdd(ct, x as Tracer, windowParams(p), p.select), null];
  },
  batch: ([s, x], [ds, dx], p, size) => [[bind1(selectAndScatterAddP, [bdimToFront(s, ds, size), bdimToFront(x, dx, size)], batchedParams(p))], [0]],
  printParams,
});

// ---------------------------------------------------------------- binders (explicit params, no defaults)
const copyParams = (p: WindowParams) => ({ window: [...p.window], strides: [...p.strides], padding: p.padding.map(([lo, hi]): [number, number] => [lo, hi]) });

export function reduceWindowSum(x: Tracer, p: WindowParams): Tracer {
  return bind1(reduceWindowSumP, [x], copyParams(p));
}
export function reduceWindowMax(x: Tracer, p: WindowParams): Tracer {
  return bind1(reduceWindowMaxP, [x], copyParams(p));
}
export function reduceWindowMin(x: Tracer, p: WindowParams): Tracer {
  return bind1(reduceWindowMinP, [x], copyParams(p));
}
export function selectAndGatherAdd(t: Tracer, x: Tracer, p: WindowParams, select: Select = "max"): Tracer {
  return bind1(selectAndGatherAddP, [t, x], { ...copyParams(p), select });
}
export function selectAndScatterAdd(s: Tracer, x: Tracer, p: WindowParams, select: Select = "max"): Tracer {
  return bind1(selectAndScatterAddP, [s, x], { ...copyParams(p), select });
}
