/**
 * Gather and scatter along one axis: `take` (x[..., idx, ...]) and its transpose
 * `scatter_add`. Out-of-range indices are clamped to the axis, as XLA's gather clamps.
 */
import { isInt, typedArrayFor, type DType } from "../dtype.ts";
import { fromTyped } from "../array.ts";
import { definePrimitive, UndefinedPrimal, type Primitive } from "../primitive.ts";
import type { RoutineParams } from "../routines.ts";
import { fmtShape, sizeOf } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { bdimToFront, broadcastInDim, moveaxis, reshape } from "./shape.ts";
import { posFromDims } from "../compiler/lower.ts";
import { add, max, min, mul } from "./elementwise.ts";
import { fillLike } from "./elementwise/define.ts";

function checkIndices(name: string, idx: ShapedArray): void {
  if (!isInt(idx.dtype)) throw new Error(`${name}: indices must be int32 or uint32, got ${idx.dtype}`);
}

function takeShape(x: readonly number[], idx: readonly number[], axis: number): number[] {
  return [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)];
}

export type TakeParams = { axis: number };

export const takeP: Primitive<TakeParams> = definePrimitive<TakeParams>({
  name: "take",
  abstractEval([x, idx], { axis }) {
    checkIndices("take", idx);
    if (!(axis >= 0 && axis < x.shape.length)) throw new Error(`take: axis ${axis} out of range for ${fmtShape(x.shape)}`);
    if (x.shape[axis] === 0) throw new Error(`take: cannot index into an empty axis of ${fmtShape(x.shape)}`);
    return [{ shape: takeShape(x.shape, idx.shape, axis), dtype: x.dtype }];
  },
  lower({ b, eqn, at }, pos) {
    const [xa, ia] = eqn.inputs.map((v) => v.aval);
    const { axis } = eqn.params;
    const out = pos.dims();
    const m = ia.shape.length;
    const d = ia.dtype;
    const raw = at(1, posFromDims(b, ia.shape, out.slice(axis, axis + m)));
    let k = b.node("min", d, [raw, b.const(xa.shape[axis] - 1, d)]);
    if (d === "int32") k = b.node("max", d, [k, b.const(0, d)]);
    const row = b.node("convert_element_type", "index", [k]);
    return at(0, posFromDims(b, xa.shape, [...out.slice(0, axis), row, ...out.slice(axis + m)]));
  },
  jvp: ([x, idx], [tx], { axis }) => [[take(x, idx, axis)], [take(tx, idx, axis)]],
  transpose([ct], [x, idx], { axis }) {
    if (idx instanceof UndefinedPrimal) throw new Error("take: indices cannot be linear");
    if (!ct) return [null, null];
    const { shape, dtype } = x.aval;
    return [scatterAdd(fromTyped(typedArrayFor(dtype, sizeOf(shape)), shape, dtype), idx as Tracer, ct, axis), null];
  },
  batch([x, idx], [dx, di], { axis }, size) {
    if (di === null) return [[take(moveaxis(x, dx!, 0), idx, axis + 1)], [0]];
    const xb = bdimToFront(x, dx, size);
    const [merged, offsetIdx] = mergeBatchIntoAxis(xb, moveaxis(idx, di, 0), axis, size);
    return [[take(merged, offsetIdx, axis)], [axis]];
  },
});

/**
 * For a batched operand [B, ...] and batched indices [B, ...], folds the batch into the
 * gathered axis (size B*n) and offsets each batch's indices by b*n.
 */
function mergeBatchIntoAxis(xb: Tracer, ib: Tracer, axis: number, size: number): [Tracer, Tracer] {
  const moved = moveaxis(xb, 0, axis);
  const n = xb.shape[axis + 1];
  const merged = reshape(moved, [...moved.shape.slice(0, axis), size * n, ...moved.shape.slice(axis + 2)]);
  const clamped = min(max(ib, fillLike(ib, 0)), fillLike(ib, n - 1));
  const batchIndex = iota(size, ib.dtype);
  const offsets = reshape(mul(batchIndex, fillLike(batchIndex, n)), [size, ...ib.shape.slice(1).map(() => 1)]);
  return [merged, add(clamped, broadcastInDim(offsets, ib.shape, [...ib.shape.keys()]))];
}

export const scatterAddP: Primitive<RoutineParams["scatter_add"]> = definePrimitive<RoutineParams["scatter_add"]>({
  name: "scatter_add",
  abstractEval([op, idx, upd], { axis }) {
    checkIndices("scatter_add", idx);
    if (!(axis >= 0 && axis < op.shape.length)) throw new Error(`scatter_add: axis ${axis} out of range for ${fmtShape(op.shape)}`);
    const want = takeShape(op.shape, idx.shape, axis);
    if (upd.dtype !== op.dtype || want.join() !== upd.shape.join()) {
      throw new Error(`scatter_add: updates ${upd.dtype}${fmtShape(upd.shape)} must be ${op.dtype}${fmtShape(want)} for operand ${fmtShape(op.shape)} and indices ${fmtShape(idx.shape)}`);
    }
    return [op];
  },
  jvp: ([op, idx, upd], [top, , tupd], { axis }) => [[scatterAdd(op, idx, upd, axis)], [scatterAdd(top, idx, tupd, axis)]],
  transpose([ct], [op, idx, upd], { axis }) {
    if (idx instanceof UndefinedPrimal) throw new Error("scatter_add: indices cannot be linear");
    if (!ct) return [null, null, null];
    return [op instanceof UndefinedPrimal ? ct : null, null, upd instanceof UndefinedPrimal ? take(ct, idx as Tracer, axis) : null];
  },
  batch([op, idx, upd], [dop, di, du], { axis }, size) {
    const opb = bdimToFront(op, dop, size);
    if (di === null) return [[scatterAdd(opb, idx, bdimToFront(upd, du, size), axis + 1)], [0]];
    const [merged, offsetIdx] = mergeBatchIntoAxis(opb, moveaxis(idx, di, 0), axis, size);
    const updb = moveaxis(bdimToFront(upd, du, size), 0, axis);
    const res = scatterAdd(merged, offsetIdx, updb, axis);
    const n = opb.shape[axis + 1];
    const unmerged = reshape(res, [...res.shape.slice(0, axis), size, n, ...res.shape.slice(axis + 1)]);
    return [[moveaxis(unmerged, axis, 0)], [0]];
  },
});

/** [0, 1, ..., n - 1], a constant as np.arange makes it. */
export function iota(n: number, dtype: DType): Tracer {
  const data = typedArrayFor(dtype, n);
  for (let i = 0; i < n; i++) data[i] = i;
  return fromTyped(data, [n], dtype);
}

export function take(x: Tracer, idx: Tracer, axis: number): Tracer {
  return bind1(takeP, [x, idx], { axis });
}

export function scatterAdd(op: Tracer, idx: Tracer, upd: Tracer, axis: number): Tracer {
  return bind1(scatterAddP, [op, idx, upd], { axis });
}
