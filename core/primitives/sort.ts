/**
 * Sorting along one axis: `sort` (values) and `argsort` (the stable sorting permutation,
 * int32). Both are stable and order floats as JAX's lax.sort does: -0 and +0 compare
 * equal, and NaNs go last. sort's derivative gathers the tangent by argsort's permutation
 * (a `take`, so it transposes into a scatter-add); argsort is piecewise constant.
 */
import { isFloat, type TypedArray } from "../dtype.ts";
import { definePrimitive, type Params, type Primitive } from "../primitive.ts";
import { fmtShape, stridesOf } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import * as np from "../np.ts";
import { defineCpu } from "../backends/cpu/routines/registry.ts";

/** a before b in sort order: numeric less-than, with NaN after every number. */
function before(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/**
 * Visits every line along `axis` of an array of `shape`; for each, hands `emit` the line's
 * stable sorting permutation and the flat offsets of its elements.
 */
function forEachSortedLine(
  x: TypedArray,
  xa: ShapedArray,
  axis: number,
  emit: (perm: Uint32Array, vals: Float64Array, base: number, stride: number) => void,
): void {
  const n = xa.shape[axis];
  const stride = stridesOf(xa.shape)[axis];
  const outer = n === 0 ? 0 : x.length / (n * stride);
  const vals = new Float64Array(n);
  const perm = new Uint32Array(n);
  const packed = new Float64Array(isFloat(xa.dtype) ? 0 : n);
  // Ties fall back to the original position, so the order is stable whatever sort V8 uses.
  const cmp = (i: number, j: number) => (before(vals[i], vals[j]) ? -1 : before(vals[j], vals[i]) ? 1 : i - j);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < stride; j++) {
      const base = o * n * stride + j;
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k < n; k++) {
        const v = (vals[k] = x[base + k * stride]);
        perm[k] = k;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (packed.length > 0 && (hi - lo + 1) * n <= 2 ** 53) {
        // Integers: sort (value - lo) * n + index as plain doubles (exact below 2^53), which
        // is stable by construction and several times faster than a comparator sort.
        for (let k = 0; k < n; k++) packed[k] = (vals[k] - lo) * n + k;
        packed.sort();
        for (let k = 0; k < n; k++) perm[k] = packed[k] % n;
      } else {
        perm.sort(cmp);
      }
      emit(perm, vals, base, stride);
    }
  }
}

function checkAxis(name: string, x: ShapedArray, axis: number): void {
  if (!(Number.isInteger(axis) && axis >= 0 && axis < x.shape.length)) {
    throw new Error(`${name}: axis ${axis} is out of range for an array of shape ${fmtShape(x.shape)} (rank ${x.shape.length}); sort needs rank >= 1`);
  }
}

/** Sorting acts along one axis; a batch axis at d shifts the sorted axis past it. */
const axisBatch = (prim: () => Primitive) => ([x]: Tracer[], [d]: (number | null)[], { axis }: Params): [Tracer[], (number | null)[]] =>
  [[bind1(prim(), [x], { axis: axis >= d! ? axis + 1 : axis })], [d]];

export const sortP: Primitive = definePrimitive({
  name: "sort",
  abstractEval([x], { axis }) {
    checkAxis("sort", x, axis);
    return [x];
  },
  jvp([x], [t], { axis }) {
    const y = sort(x, axis);
    if (!isFloat(x.dtype)) return [[y], [null]];
    // The tangent follows its element to the sorted position: t[perm], a linear gather.
    return [[y], [np.takeAlongAxis(t, argsort(x, axis), { axis, mode: "clip" })]];
  },
  batch: axisBatch(() => sortP),
  printParams: (p) => `axis=${p.axis}`,
});
defineCpu("sort", ([x], [out], { axis }, [xa]) => {
      forEachSortedLine(x, xa, axis, (perm, vals, base, stride) => {
        for (let k = 0; k < perm.length; k++) out[base + k * stride] = vals[perm[k]];
      });
    });

export const argsortP: Primitive = definePrimitive({
  name: "argsort",
  abstractEval([x], { axis }) {
    checkAxis("argsort", x, axis);
    return [{ shape: x.shape, dtype: "int32" }];
  },
  jvp: "zero",
  batch: axisBatch(() => argsortP),
  printParams: (p) => `axis=${p.axis}`,
});
defineCpu("argsort", ([x], [out], { axis }, [xa]) => {
      forEachSortedLine(x, xa, axis, (perm, _vals, base, stride) => {
        for (let k = 0; k < perm.length; k++) out[base + k * stride] = perm[k];
      });
    });

/** Stable ascending sort along `axis` (non-negative), NaNs last. No broadcasting. */
export function sort(x: Tracer, axis: number): Tracer {
  return bind1(sortP, [x], { axis });
}

/** The stable permutation (int32) that sorts x along `axis` (non-negative). */
export function argsort(x: Tracer, axis: number): Tracer {
  return bind1(argsortP, [x], { axis });
}
