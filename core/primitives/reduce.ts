/** Reductions over a set of axes: sum, max, min, prod, and argmax / argmin along one axis. */
import type { DType, TypedArray } from "../dtype.ts";
import { definePrimitive, type Params, type Primitive } from "../primitive.ts";
import { fmtShape, stridesOf } from "../shape.ts";
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

/**
 * Folds x into acc (one slot per output element), visiting x in row-major order. Adjacent
 * axes that are both reduced or both kept merge into one, so the innermost loop runs over
 * a contiguous row: either folded into one slot or combined slot by slot into a row of acc.
 */
function foldInto(x: TypedArray, shape: readonly number[], axes: readonly number[], acc: Float64Array, combine: (acc: number, v: number) => number): void {
  if (x.length === 0) return;
  const dims: { n: number; reduced: boolean }[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const reduced = axes.includes(d);
    const last = dims[dims.length - 1];
    if (last && last.reduced === reduced) last.n *= n;
    else dims.push({ n, reduced });
  });
  if (dims.length === 0) {
    acc[0] = combine(acc[0], x[0]);
    return;
  }
  // Output strides of the merged axes (0 along reduced ones).
  const oStride = new Array<number>(dims.length).fill(0);
  for (let d = dims.length - 1, s = 1; d >= 0; d--) {
    if (dims[d].reduced) continue;
    oStride[d] = s;
    s *= dims[d].n;
  }
  const inner = dims[dims.length - 1];
  const outer = dims.length - 1;
  const idx = new Array<number>(outer).fill(0);
  for (let i = 0, o = 0; i < x.length; i += inner.n) {
    if (inner.reduced) {
      let a = acc[o];
      for (let j = i, end = i + inner.n; j < end; j++) a = combine(a, x[j]);
      acc[o] = a;
    } else {
      for (let j = 0; j < inner.n; j++) acc[o + j] = combine(acc[o + j], x[i + j]);
    }
    for (let d = outer - 1; d >= 0; d--) {
      o += oStride[d];
      if (++idx[d] < dims[d].n) break;
      o -= oStride[d] * dims[d].n;
      idx[d] = 0;
    }
  }
}

function reduceImpl(init: number, combine: (acc: number, v: number) => number) {
  return ([x]: TypedArray[], [out]: TypedArray[], { axes }: Params, [xa]: ShapedArray[]) => {
    // Accumulate in float64 so float32 sums of many terms stay accurate.
    const acc = new Float64Array(out.length).fill(init);
    foldInto(x, xa.shape, axes, acc, combine);
    for (let i = 0; i < out.length; i++) out[i] = acc[i];
  };
}

const axesBatch = (prim: () => Primitive) => ([x]: Tracer[], [d]: (number | null)[], params: Params): [Tracer[], (number | null)[]] => {
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
  abstractEval: ([x], { axes }) => {
    if (x.dtype === "bool") throw new Error("reduce_sum: bool arrays must be cast to a number dtype first");
    return [reducedAval("reduce_sum", x, axes)];
  },
  impl: { cpu: reduceImpl(0, (a, v) => a + v) },
  jvp: ([x], [t], { axes }) => [[reduceSum(x, axes)], [reduceSum(t, axes)]],
  transpose: ([ct], [x], { axes }) => [ct && expandReduced(ct, x.aval.shape, axes)],
  batch: axesBatch(() => reduceSumP),
});

const maxMinJvp = (self: () => Primitive) => ([x]: Tracer[], [t]: Tracer[], params: Params): [Tracer[], Tracer[]] => {
  const y = bind1(self(), [x], params);
  // Ties share the tangent equally, as in JAX.
  const mask = np.astype(np.equal(x, expandReduced(y, x.shape, params.axes)), t.dtype);
  const count = reduceSum(mask, params.axes);
  return [[y], [np.div(reduceSum(np.mul(t, mask), params.axes), count)]];
};

export const reduceMaxP: Primitive = definePrimitive({
  name: "reduce_max",
  abstractEval: ([x], { axes }) => [reducedAval("reduce_max", x, axes)],
  impl: { cpu: reduceImpl(-Infinity, (a, v) => (v > a || v !== v ? v : a)) },
  jvp: maxMinJvp(() => reduceMaxP),
  batch: axesBatch(() => reduceMaxP),
});

export const reduceMinP: Primitive = definePrimitive({
  name: "reduce_min",
  abstractEval: ([x], { axes }) => [reducedAval("reduce_min", x, axes)],
  impl: { cpu: reduceImpl(Infinity, (a, v) => (v < a || v !== v ? v : a)) },
  jvp: maxMinJvp(() => reduceMinP),
  batch: axesBatch(() => reduceMinP),
});

export const reduceProdP: Primitive = definePrimitive({
  name: "reduce_prod",
  abstractEval: ([x], { axes }) => [reducedAval("reduce_prod", x, axes)],
  impl: { cpu: reduceImpl(1, (a, v) => a * v) },
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

function argImpl(better: (v: number, best: number) => boolean) {
  return ([x]: TypedArray[], [out]: TypedArray[], { axis }: Params, [xa]: ShapedArray[]) => {
    const n = xa.shape[axis];
    const inner = stridesOf(xa.shape)[axis];
    const outer = out.length / inner;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        let best = x[base];
        let bi = 0;
        for (let k = 1; k < n && best === best; k++) {
          const v = x[base + k * inner];
          if (better(v, best)) {
            best = v;
            bi = k;
          }
        }
        out[o * inner + j] = bi;
      }
    }
  };
}

const argPrim = (name: string, better: (v: number, best: number) => boolean): Primitive => {
  const p: Primitive = definePrimitive({
    name,
    abstractEval([x], { axis }) {
      if (!(axis >= 0 && axis < x.shape.length)) throw new Error(`${name}: axis ${axis} out of range for ${fmtShape(x.shape)}`);
      if (x.shape[axis] === 0) throw new Error(`${name}: cannot take ${name} of an empty axis`);
      return [reducedAval(name, x, [axis], "int32")];
    },
    impl: { cpu: argImpl(better) },
    jvp: "zero",
    batch: ([x], [d], { axis }) => [[bind1(p, [x], { axis: axis >= d! ? axis + 1 : axis })], [axis < d! ? d! - 1 : d]],
  });
  return p;
};

// NaN wins (NumPy returns the first NaN's index).
export const argmaxP = argPrim("argmax", (v, best) => v > best || v !== v);
export const argminP = argPrim("argmin", (v, best) => v < best || v !== v);

export const reduceSum = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceSumP, [x], { axes }));
export const reduceMax = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceMaxP, [x], { axes }));
export const reduceMin = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceMinP, [x], { axes }));
export const reduceProd = (x: Tracer, axes: number[]) => (axes.length === 0 ? x : bind1(reduceProdP, [x], { axes }));
export const argmax = (x: Tracer, axis: number) => bind1(argmaxP, [x], { axis });
export const argmin = (x: Tracer, axis: number) => bind1(argminP, [x], { axis });
