/** Reductions over a set of axes: sum, max, min, prod, and argmax / argmin along one axis. */
import { isFloat, type DType } from "../dtype.ts";
import { definePrimitive, type Primitive } from "../primitive.ts";
import type { RoutineParams } from "../routines.ts";
import type { ReduceOp } from "../compiler/ir.ts";
import { fmtShape } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { broadcastInDim } from "./shape.ts";
import { convertElementType, div, eq, mul, select } from "./elementwise.ts";
import { fillLike } from "./elementwise/define.ts";

function reducedAval(name: string, x: ShapedArray, axes: number[], dtype: DType = x.dtype): ShapedArray {
  if (!axes.every((a, i) => Number.isInteger(a) && a >= 0 && a < x.shape.length && (i === 0 || a > axes[i - 1]))) {
    throw new Error(`${name}: axes ${JSON.stringify(axes)} must be sorted, unique and within the rank of ${fmtShape(x.shape)}`);
  }
  return { shape: x.shape.filter((_, i) => !axes.includes(i)), dtype };
}

/** The axes a reduction folds (sorted, unique). */
export type ReduceParams = { axes: number[] };

const axesBatch =
  (prim: () => Primitive<ReduceParams>) =>
  ([x]: Tracer[], [d]: (number | null)[], params: ReduceParams): [Tracer[], (number | null)[]] => {
    const axes = params.axes.map((a) => (a >= d! ? a + 1 : a));
    const outDim = d! - params.axes.filter((a) => a < d!).length;
    return [[bind1(prim(), [x], { ...params, axes })], [outDim]];
  };

/** The kernel fold of a reduction over `params.axes`. */
const folds = (op: ReduceOp) => ({ op, axes: (p: ReduceParams) => p.axes });

/** Broadcasts a reduced value back over the reduced axes of `shape`. */
export function expandReduced(y: Tracer, shape: readonly number[], axes: readonly number[]): Tracer {
  const kept = [...shape.keys()].filter((i) => !axes.includes(i));
  return broadcastInDim(y, shape, kept);
}

export const reduceSumP: Primitive<ReduceParams> = definePrimitive<ReduceParams>({
  name: "reduce_sum",
  reduction: folds("sum"),
  abstractEval: ([x], { axes }) => {
    if (x.dtype === "bool") throw new Error("reduce_sum: bool arrays must be cast to a number dtype first");
    return [reducedAval("reduce_sum", x, axes)];
  },
  jvp: ([x], [t], { axes }) => [[reduceSum(x, axes)], [reduceSum(t, axes)]],
  transpose: ([ct], [x], { axes }) => [ct && expandReduced(ct, x.aval.shape, axes)],
  batch: axesBatch(() => reduceSumP),
});

const maxMinJvp =
  (self: () => Primitive<ReduceParams>) =>
  ([x]: Tracer[], [t]: Tracer[], params: ReduceParams): [Tracer[], Tracer[]] => {
    const y = bind1(self(), [x], params);
    // Ties share the tangent equally, as in JAX.
    const mask = convertElementType(eq(x, expandReduced(y, x.shape, params.axes)), t.dtype);
    const count = reduceSum(mask, params.axes);
    return [[y], [trueDivide(reduceSum(mul(t, mask), params.axes), count)]];
  };

export const reduceMaxP: Primitive<ReduceParams> = definePrimitive<ReduceParams>({
  name: "reduce_max",
  reduction: folds("max"),
  abstractEval: ([x], { axes }) => [reducedAval("reduce_max", x, axes)],
  jvp: maxMinJvp(() => reduceMaxP),
  batch: axesBatch(() => reduceMaxP),
});

export const reduceMinP: Primitive<ReduceParams> = definePrimitive<ReduceParams>({
  name: "reduce_min",
  reduction: folds("min"),
  abstractEval: ([x], { axes }) => [reducedAval("reduce_min", x, axes)],
  jvp: maxMinJvp(() => reduceMinP),
  batch: axesBatch(() => reduceMinP),
});

export const reduceProdP: Primitive<ReduceParams> = definePrimitive<ReduceParams>({
  name: "reduce_prod",
  reduction: folds("prod"),
  abstractEval: ([x], { axes }) => [reducedAval("reduce_prod", x, axes)],
  jvp([x], [t], { axes }) {
    // d prod / d x_i = product of the others, computed without dividing by zero.
    const isZero = eq(x, fillLike(x, 0));
    const nonzero = select(isZero, fillLike(x, 1), x);
    const pnz = expandReduced(reduceProd(nonzero, axes), x.shape, axes);
    const zeros = expandReduced(reduceSum(convertElementType(isZero, "int32"), axes), x.shape, axes);
    const oneZero = orZero(eq(zeros, fillLike(zeros, 1)), pnz);
    const noZero = orZero(eq(zeros, fillLike(zeros, 0)), trueDivide(pnz, nonzero));
    // Integer products divide in float32 (NumPy's true division), so the tangent is float32.
    const others = select(isZero, convertElementType(oneZero, noZero.dtype), noZero);
    return [[reduceProd(x, axes)], [reduceSum(mul(convertElementType(t, others.dtype), others), axes)]];
  },
  batch: axesBatch(() => reduceProdP),
});

/** a where `keep`, else 0. */
const orZero = (keep: Tracer, a: Tracer) => select(keep, a, fillLike(a, 0));

/** a / b, in float32 for integers as NumPy's true division. */
function trueDivide(a: Tracer, b: Tracer): Tracer {
  const f = isFloat(a.dtype) ? a.dtype : "float32";
  return div(convertElementType(a, f), convertElementType(b, f));
}

const argPrim = (name: "argmax" | "argmin"): Primitive<RoutineParams[typeof name]> => {
  const p: Primitive<RoutineParams[typeof name]> = definePrimitive<RoutineParams[typeof name]>({
    name,
    abstractEval([x], { axis }) {
      if (!(axis >= 0 && axis < x.shape.length)) throw new Error(`${name}: axis ${axis} out of range for ${fmtShape(x.shape)}`);
      if (x.shape[axis] === 0) throw new Error(`${name}: cannot take ${name} of an empty axis`);
      return [reducedAval(name, x, [axis], "int32")];
    },
    jvp: "zero",
    batch: ([x], [d], { axis }) => [[bind1(p, [x], { axis: axis >= d! ? axis + 1 : axis })], [axis < d! ? d! - 1 : d]],
  });
  return p;
};

export const argmaxP = argPrim("argmax");
export const argminP = argPrim("argmin");

export const reduceSum = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceSumP, [x], { axes }));
export const reduceMax = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceMaxP, [x], { axes }));
export const reduceMin = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceMinP, [x], { axes }));
export const reduceProd = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceProdP, [x], { axes }));
export const argmax = (x: Tracer, axis: number) => bind1(argmaxP, [x], { axis });
export const argmin = (x: Tracer, axis: number) => bind1(argminP, [x], { axis });
