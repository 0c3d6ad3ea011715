/**
 * Sorting along one axis: `sort` (values) and `argsort` (the stable sorting permutation,
 * int32). Both are stable and order floats as JAX's lax.sort does: -0 and +0 compare
 * equal, and NaNs go last. sort's derivative gathers the tangent by argsort's permutation
 * (a `take`, so it transposes into a scatter-add); argsort is piecewise constant.
 */
import { isFloat } from "../dtype.ts";
import { definePrimitive, type Primitive } from "../primitive.ts";
import type { RoutineParams } from "../routines.ts";
import { fmtShape, stridesOf } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { add, lt, mul, select } from "./elementwise.ts";
import { fillLike } from "./elementwise/define.ts";
import { iota, take } from "./gather.ts";
import { broadcastInDim, reshape } from "./shape.ts";

function checkAxis(name: string, x: ShapedArray, axis: number): void {
  if (!(Number.isInteger(axis) && axis >= 0 && axis < x.shape.length)) {
    throw new Error(`${name}: axis ${axis} is out of range for an array of shape ${fmtShape(x.shape)} (rank ${x.shape.length}); sort needs rank >= 1`);
  }
}

/** Sorting acts along one axis; a batch axis at d shifts the sorted axis past it. */
const axisBatch =
  (prim: () => Primitive<RoutineParams["sort"]>) =>
  ([x]: Tracer[], [d]: (number | null)[], { axis }: RoutineParams["sort"]): [Tracer[], (number | null)[]] => [[bind1(prim(), [x], { axis: axis >= d! ? axis + 1 : axis })], [d]];

export const sortP: Primitive<RoutineParams["sort"]> = definePrimitive<RoutineParams["sort"]>({
  name: "sort",
  abstractEval([x], { axis }) {
    checkAxis("sort", x, axis);
    return [x];
  },
  jvp([x], [t], { axis }) {
    const y = sort(x, axis);
    if (!isFloat(x.dtype)) return [[y], [null]];
    // The tangent follows its element to the sorted position: t[perm], a linear gather.
    return [[y], [takeAlongAxis(t, argsort(x, axis), axis)]];
  },
  batch: axisBatch(() => sortP),
  printParams: (p) => `axis=${p.axis}`,
});

export const argsortP: Primitive<RoutineParams["argsort"]> = definePrimitive<RoutineParams["argsort"]>({
  name: "argsort",
  abstractEval([x], { axis }) {
    checkAxis("argsort", x, axis);
    return [{ shape: x.shape, dtype: "int32" }];
  },
  jvp: "zero",
  batch: axisBatch(() => argsortP),
  printParams: (p) => `axis=${p.axis}`,
});

/**
 * t[..., perm[..., i, ...], ...] along `axis` (perm has t's shape): one gather from the flat t
 * at each element's flat index, as np.takeAlongAxis builds it.
 */
function takeAlongAxis(t: Tracer, perm: Tracer, axis: number): Tracer {
  const strides = stridesOf(t.shape);
  // np.takeAlongAxis's wrap of negative indices; a permutation has none, but the program stays the one np built.
  const wrapped = select(lt(perm, fillLike(perm, 0)), add(perm, fillLike(perm, t.shape[axis])), perm);
  let flat = mul(wrapped, fillLike(wrapped, strides[axis]));
  t.shape.forEach((n, d) => {
    if (d === axis || n === 1) return;
    const coord = reshape(
      iota(n, "int32"),
      t.shape.map((_, k) => (k === d ? n : 1)),
    );
    const offset = mul(coord, fillLike(coord, strides[d]));
    flat = add(flat, broadcastInDim(offset, flat.shape, [...flat.shape.keys()]));
  });
  return take(reshape(t, [t.size]), flat, 0);
}

/** Stable ascending sort along `axis` (non-negative), NaNs last. No broadcasting. */
export function sort(x: Tracer, axis: number): Tracer {
  return bind1(sortP, [x], { axis });
}

/** The stable permutation (int32) that sorts x along `axis` (non-negative). */
export function argsort(x: Tracer, axis: number): Tracer {
  return bind1(argsortP, [x], { axis });
}
