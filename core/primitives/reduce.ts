/** Reductions over a set of axes: sum, max, min, prod, and argmax / argmin along one axis. */
import type { DType } from "../dtype.ts";
import { definePrimitive, type Params, type Primitive } from "../primitive.ts";
import { fmtShape } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { broadcastInDim } from "./shape.ts";
import * as np from "../np.ts";

function reducedAval(name: string, x: ShapedArray, axes: number[], dtype: DType = x.dtype): ShapedArray {
  if (!axes.every((a, i) => Number.isInteger(a) && a >= 0 && a < x.shape.length && (i === 0 || a > axes[i - 1]))) {
    throw new Error(`${name}: axes ${JSON.stringify(axes)} must be sorted, unique and within the rank of ${fmtShape(x.shape)}`);
  }
  return { shape: x.shape.filter((_, i) => !axes.includes(i)), dtype };
}

const axesBatch =
  (prim: () => Primitive) =>
  ([x]: Tracer[], [d]: (number | null)[], params: Params): [Tracer[], (number | null)[]] => {
    const axes = (params.axes as number[]).map((a) => (a >= d! ? a + 1 : a));
    const outDim = d! - (params.axes as number[]).filter((a) => a < d!).length;
    return [[bind1(prim(), [x], { ...params, axes })], [outDim]];
  };

/** Broadcasts a reduced value back over the reduced axes of `shape`. */
export function expandReduced(y: Tracer, shape: readonly number[], axes: readonly number[]): Tracer {
  const kept = [...shape.keys()].filter((i) => !axes.includes(i));
  return broadcastInDim(y, shape, kept);
}

export const reduceSumP: Primitive = definePrimitive({
  name: "reduce_sum",
  reduceOp: "sum",
  abstractEval: ([x], { axes }) => {
    if (x.dtype === "bool") throw new Error("reduce_sum: bool arrays must be cast to a number dtype first");
    return [reducedAval("reduce_sum", x, axes)];
  },
  jvp: ([x], [t], { axes }) => [[reduceSum(x, axes)], [reduceSum(t, axes)]],
  transpose: ([ct], [x], { axes }) => [ct && expandReduced(ct, x.aval.shape, axes)],
  batch: axesBatch(() => reduceSumP),
});

const maxMinJvp =
  (self: () => Primitive) =>
  ([x]: Tracer[], [t]: Tracer[], params: Params): [Tracer[], Tracer[]] => {
    const y = bind1(self(), [x], params);
    // Ties share the tangent equally, as in JAX.
    const mask = np.astype(np.equal(x, expandReduced(y, x.shape, params.axes)), t.dtype);
    const count = reduceSum(mask, params.axes);
    return [[y], [np.div(reduceSum(np.mul(t, mask), params.axes), count)]];
  };

export const reduceMaxP: Primitive = definePrimitive({
  name: "reduce_max",
  reduceOp: "max",
  abstractEval: ([x], { axes }) => [reducedAval("reduce_max", x, axes)],
  jvp: maxMinJvp(() => reduceMaxP),
  batch: axesBatch(() => reduceMaxP),
});

export const reduceMinP: Primitive = definePrimitive({
  name: "reduce_min",
  reduceOp: "min",
  abstractEval: ([x], { axes }) => [reducedAval("reduce_min", x, axes)],
  jvp: maxMinJvp(() => reduceMinP),
  batch: axesBatch(() => reduceMinP),
});

export const reduceProdP: Primitive = definePrimitive({
  name: "reduce_prod",
  reduceOp: "prod",
  abstractEval: ([x], { axes }) => [reducedAval("reduce_prod", x, axes)],
  jvp([x], [t], { axes }) {
    // d prod / d x_i = product of the others, computed without dividing by zero.
    const isZero = np.equal(x, 0);
    const nonzero = np.where(isZero, 1, x);
    const pnz = expandReduced(reduceProd(nonzero, axes), x.shape, axes);
    const zeros = expandReduced(reduceSum(np.astype(isZero, "int32"), axes), x.shape, axes);
    const others = np.where(isZero, np.where(np.equal(zeros, 1), pnz, 0), np.where(np.equal(zeros, 0), np.div(pnz, nonzero), 0));
    return [[reduceProd(x, axes)], [reduceSum(np.mul(t, others), axes)]];
  },
  batch: axesBatch(() => reduceProdP),
});

const argPrim = (name: string): Primitive => {
  const p: Primitive = definePrimitive({
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
