/**
 * Shape primitives: reshape, transpose, broadcastInDim, slice, pad, concatenate, rev.
 * All are linear, so each JVP applies the primitive to the tangent.
 */
import { definePrimitive, UndefinedPrimal, type Params, type Primitive } from "../primitive.ts";
import { fmtShape, isPermutation, shapeEq, sizeOf } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { Tracer, ShapedArray } from "../tracer.ts";
import { scalar } from "../array.ts";
import { select, sub } from "./elementwise.ts";
import { reduceSum } from "./reduce.ts";
import { posFromDims, posThroughReshape } from "../compiler/lower.ts";
import type { IRNode } from "../compiler/ir.ts";

const linearJvp =
  <P extends Params>(prim: () => Primitive<P>) =>
  (primals: Tracer[], tangents: Tracer[], params: P): [Tracer[], Tracer[]] => [[bind1(prim(), primals, params)], [bind1(prim(), tangents, params)]];

export type ReshapeParams = { newShape: number[] };
export type TransposeParams = { perm: number[] };
export type BroadcastInDimParams = { shape: number[]; broadcastDimensions: number[] };
export type SliceParams = { start: number[]; limit: number[]; strides: number[] };
export type PadParams = { config: [number, number, number][] };
export type ConcatenateParams = { axis: number };
export type RevParams = { axes: number[] };

// ---------------------------------------------------------------- reshape
export const reshapeP: Primitive<ReshapeParams> = definePrimitive<ReshapeParams>({
  name: "reshape",
  abstractEval([x], { newShape }) {
    if (sizeOf(newShape) !== sizeOf(x.shape)) throw new Error(`reshape: cannot reshape ${fmtShape(x.shape)} (size ${sizeOf(x.shape)}) into ${fmtShape(newShape)}`);
    return [{ shape: newShape, dtype: x.dtype }];
  },
  viewOf: 0,
  lower: ({ b, eqn, at }, pos) => at(0, posThroughReshape(b, eqn.inputs[0].aval.shape, eqn.outs[0].aval.shape, pos)),
  jvp: linearJvp(() => reshapeP),
  transpose: ([ct], [x]) => [ct && reshape(ct, (x as UndefinedPrimal).aval.shape)],
  batch([x], [d], { newShape }, size) {
    return [[reshape(moveaxis(x, d!, 0), [size, ...newShape])], [0]];
  },
});

export function reshape(x: Tracer, newShape: readonly number[]): Tracer {
  if (shapeEq(x.shape, newShape)) return x;
  return bind1(reshapeP, [x], { newShape: [...newShape] });
}

// ---------------------------------------------------------------- transpose
export const transposeP: Primitive<TransposeParams> = definePrimitive<TransposeParams>({
  name: "transpose",
  abstractEval([x], { perm }) {
    if (!isPermutation(perm, x.shape.length)) throw new Error(`transpose: axes ${JSON.stringify(perm)} are not a permutation of the ${x.shape.length} axes of ${fmtShape(x.shape)}`);
    return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  lower({ b, eqn, at }, pos) {
    const { perm } = eqn.params;
    const out = pos.dims();
    const dims = new Array<IRNode>(perm.length);
    perm.forEach((p, i) => (dims[p] = out[i]));
    return at(0, posFromDims(b, eqn.inputs[0].aval.shape, dims));
  },
  jvp: linearJvp(() => transposeP),
  transpose: ([ct], _args, { perm }) => [ct && transpose(ct, invertPerm(perm))],
  batch([x], [d], { perm }) {
    return [[transpose(moveaxis(x, d!, 0), [0, ...perm.map((p) => p + 1)])], [0]];
  },
});

export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export function transpose(x: Tracer, perm: readonly number[]): Tracer {
  if (perm.every((p, i) => p === i) && perm.length === x.ndim) return x;
  return bind1(transposeP, [x], { perm: [...perm] });
}

/** Moves axis `from` to position `to`. */
export function moveaxis(x: Tracer, from: number, to: number): Tracer {
  if (from === to) return x;
  const perm = [...Array(x.ndim).keys()].filter((a) => a !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}

// ---------------------------------------------------------------- broadcastInDim
export const broadcastInDimP: Primitive<BroadcastInDimParams> = definePrimitive<BroadcastInDimParams>({
  name: "broadcast_in_dim",
  abstractEval([x], { shape, broadcastDimensions: bd }) {
    const ok = bd.length === x.shape.length && bd.every((d, i) => d >= 0 && d < shape.length && (x.shape[i] === 1 || x.shape[i] === shape[d]) && (i === 0 || d > bd[i - 1]));
    if (!ok) throw new Error(`broadcast_in_dim: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)} along dims ${JSON.stringify(bd)}`);
    return [{ shape, dtype: x.dtype }];
  },
  lower({ b, eqn, at }, pos) {
    const xs = eqn.inputs[0].aval.shape;
    const bd = eqn.params.broadcastDimensions;
    const out = pos.dims();
    return at(
      0,
      posFromDims(
        b,
        xs,
        xs.map((n, i) => (n === 1 ? b.const(0, "index") : out[bd[i]])),
      ),
    );
  },
  jvp: linearJvp(() => broadcastInDimP),
  transpose([ct], [x], { shape, broadcastDimensions: bd }) {
    if (!ct) return [null];
    const xs = (x as UndefinedPrimal).aval.shape;
    const summed = [...Array(shape.length).keys()].filter((d) => !bd.includes(d) || xs[bd.indexOf(d)] !== shape[d]);
    return [reshape(reduceSumAxes(ct, summed), xs)];
  },
  batch([x], [d], { shape, broadcastDimensions: bd }, size) {
    return [[broadcastInDim(moveaxis(x, d!, 0), [size, ...shape], [0, ...bd.map((b) => b + 1)])], [0]];
  },
});

export function broadcastInDim(x: Tracer, shape: readonly number[], broadcastDimensions: readonly number[]): Tracer {
  if (shapeEq(x.shape, shape) && broadcastDimensions.every((d, i) => d === i)) return x;
  return bind1(broadcastInDimP, [x], { shape: [...shape], broadcastDimensions: [...broadcastDimensions] });
}

function reduceSumAxes(x: Tracer, axes: number[]): Tracer {
  return axes.length === 0 ? x : reduceSum(x, axes);
}

// ---------------------------------------------------------------- slice
export const sliceP: Primitive<SliceParams> = definePrimitive<SliceParams>({
  name: "slice",
  abstractEval([x], { start, limit, strides }) {
    const r = x.shape.length;
    if (start.length !== r || limit.length !== r || strides.length !== r) throw new Error(`slice: start/limit/strides must have one entry per axis of ${fmtShape(x.shape)}`);
    const shape = x.shape.map((n, i) => {
      if (!(0 <= start[i] && start[i] <= limit[i] && limit[i] <= n && strides[i] >= 1)) {
        throw new Error(`slice: [${start[i]}:${limit[i]}:${strides[i]}] is out of range for axis ${i} of ${fmtShape(x.shape)}`);
      }
      return Math.ceil((limit[i] - start[i]) / strides[i]);
    });
    return [{ shape, dtype: x.dtype }];
  },
  lower({ b, eqn, at }, pos) {
    const { start, strides } = eqn.params;
    return at(
      0,
      posFromDims(
        b,
        eqn.inputs[0].aval.shape,
        pos.dims().map((o, i) => b.iadd(b.const(start[i], "index"), b.imul(o, strides[i]))),
      ),
    );
  },
  jvp: linearJvp(() => sliceP),
  transpose([ct], [x], { start, strides }) {
    if (!ct) return [null];
    const xs = (x as UndefinedPrimal).aval.shape;
    const config = xs.map((n, i) => {
      const out = ct.shape[i];
      const hi = out === 0 ? n - start[i] : n - (start[i] + (out - 1) * strides[i] + 1);
      return [start[i], out === 0 ? hi : hi, out === 0 ? 0 : strides[i] - 1] as [number, number, number];
    });
    return [pad(ct, zeroScalar(ct.aval), config)];
  },
  batch([x], [d], { start, limit, strides }) {
    const n = x.shape[d!];
    const ins = (a: number[], v: number) => [...a.slice(0, d!), v, ...a.slice(d!)];
    return [[slice(x, ins(start, 0), ins(limit, n), ins(strides, 1))], [d]];
  },
});

export function slice(x: Tracer, start: readonly number[], limit: readonly number[], strides?: readonly number[]): Tracer {
  const st = strides ?? start.map(() => 1);
  if (start.every((s) => s === 0) && limit.every((l, i) => l === x.shape[i]) && st.every((s) => s === 1)) return x;
  return bind1(sliceP, [x], { start: [...start], limit: [...limit], strides: [...st] });
}

// ---------------------------------------------------------------- pad
export const padP: Primitive<PadParams> = definePrimitive<PadParams>({
  name: "pad",
  abstractEval([x, v], { config }) {
    if (v.shape.length !== 0 || v.dtype !== x.dtype) throw new Error(`pad: padding value must be a scalar of dtype ${x.dtype}, got ${v.dtype}${fmtShape(v.shape)}`);
    if (config.length !== x.shape.length) throw new Error(`pad: need one [lo, hi, interior] per axis of ${fmtShape(x.shape)}, got ${config.length}`);
    const shape = x.shape.map((n, i) => {
      const [lo, hi, interior] = config[i];
      const size = lo + hi + n + Math.max(0, n - 1) * interior;
      if (interior < 0 || size < 0) throw new Error(`pad: config ${JSON.stringify(config[i])} is invalid for axis ${i} of ${fmtShape(x.shape)}`);
      return size;
    });
    return [{ shape, dtype: x.dtype }];
  },
  lower({ b, eqn, at }, pos) {
    const xs = eqn.inputs[0].aval.shape;
    const outShape = eqn.outs[0].aval.shape;
    const { config } = eqn.params;
    const padValue = at(1, posFromDims(b, [], []));
    if (sizeOf(xs) === 0) return padValue;
    // Output coordinate o reads x at (o - lo) / (interior + 1) where that is a whole number inside the axis.
    const inside: IRNode[] = [];
    const dims = pos.dims().map((o, d) => {
      const [lo, , interior] = config[d];
      const k = interior + 1;
      if (lo > 0) inside.push(b.icmp("ge", o, lo));
      const t = lo >= 0 ? b.isub(o, lo) : b.iadd(o, b.const(-lo, "index"));
      if (k > 1) inside.push(b.icmp("eq", b.imod(t, k), 0));
      const q = b.idiv(t, k);
      if (Math.floor((outShape[d] - 1 - lo) / k) >= xs[d]) inside.push(b.icmp("lt", q, xs[d]));
      return q;
    });
    const ok = b.all(inside);
    // Every load stays in bounds: coordinates outside x read element 0, and the select drops it.
    return b.select(
      ok,
      at(
        0,
        posFromDims(
          b,
          xs,
          dims.map((q) => b.select(ok, q, b.const(0, "index"))),
        ),
      ),
      padValue,
    );
  },
  jvp: linearJvp(() => padP),
  transpose([ct], [x, v], { config }) {
    if (!ct) return [null, null];
    const unpadded = pad(
      ct,
      zeroScalar(ct.aval),
      config.map(([lo, hi]) => [-lo, -hi, 0]),
    );
    const tOperand = slice(
      unpadded,
      unpadded.shape.map(() => 0),
      unpadded.shape,
      config.map((c) => c[2] + 1),
    );
    const total = (t: Tracer) => reduceSumAxes(t, [...Array(t.ndim).keys()]);
    const tv = v instanceof UndefinedPrimal ? sub(total(ct), total(tOperand)) : null;
    return [x instanceof UndefinedPrimal ? tOperand : null, tv];
  },
  batch([x, v], [dx, dv], { config }, size) {
    const cfg = [[0, 0, 0], ...config];
    const xb = bdimToFront(x, dx, size);
    if (dv === null) return [[pad(xb, v, cfg)], [0]];
    // A padding value per example: pad with zeros, then select each example's value where the mask is padding.
    const padded = pad(xb, zeroScalar(xb.aval), cfg);
    const mask = pad(broadcastInDim(scalar(true, "bool"), xb.shape, []), scalar(false, "bool"), cfg);
    return [[select(mask, padded, broadcastInDim(moveaxis(v, dv, 0), padded.shape, [0]))], [0]];
  },
});

function zeroScalar(a: ShapedArray): Tracer {
  return scalar(0, a.dtype);
}

export function pad(x: Tracer, value: Tracer, config: readonly (readonly [number, number, number] | readonly number[])[]): Tracer {
  if (config.every(([lo, hi, int]) => lo === 0 && hi === 0 && int === 0)) return x;
  return bind1(padP, [x, value], { config: config.map((c): [number, number, number] => [c[0], c[1], c[2] ?? 0]) });
}

// ---------------------------------------------------------------- concatenate
export const concatenateP: Primitive<ConcatenateParams> = definePrimitive<ConcatenateParams>({
  name: "concatenate",
  abstractEval(xs, { axis }) {
    if (xs.length === 0) throw new Error("concatenate: need at least one array");
    const r = xs[0].shape.length;
    if (axis < 0 || axis >= r) throw new Error(`concatenate: axis ${axis} is out of bounds for rank ${r}`);
    for (const x of xs) {
      if (x.dtype !== xs[0].dtype) throw new Error(`concatenate: dtypes differ (${xs.map((a) => a.dtype).join(", ")})`);
      if (x.shape.length !== r || x.shape.some((n, i) => i !== axis && n !== xs[0].shape[i])) {
        throw new Error(`concatenate: shapes ${xs.map((a) => fmtShape(a.shape)).join(", ")} differ outside axis ${axis}`);
      }
    }
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
    return [{ shape, dtype: xs[0].dtype }];
  },
  lower({ b, eqn, at }, pos) {
    const { axis } = eqn.params;
    const out = pos.dims();
    const o = out[axis];
    let off = 0;
    const parts = eqn.inputs.map((v, k) => ({ k, off: (off += v.aval.shape[axis]) - v.aval.shape[axis], n: v.aval.shape[axis] })).filter((p) => p.n > 0);
    // Along the axis, input k covers [off, off + n); each reads its own part (element 0 elsewhere, then dropped).
    const partAt = ({ k, off, n }: { k: number; off: number; n: number }) => {
      const inPart = b.all([b.icmp("ge", o, off), b.icmp("lt", o, off + n)]);
      const dims = [...out];
      dims[axis] = b.select(inPart, b.isub(o, off), b.const(0, "index"));
      return at(k, posFromDims(b, eqn.inputs[k].aval.shape, dims));
    };
    if (parts.length === 0) return b.const(0, eqn.outs[0].aval.dtype);
    return parts.slice(0, -1).reduceRight((rest, p) => b.select(b.icmp("lt", o, p.off + p.n), partAt(p), rest), partAt(parts[parts.length - 1]));
  },
  chunked(xs, { axis }, maxInputs) {
    const groups: Tracer[] = [];
    for (let i = 0; i < xs.length; i += maxInputs) groups.push(concatenate(xs.slice(i, i + maxInputs), axis));
    return [concatenate(groups, axis)];
  },
  jvp: (primals, tangents, params) => [[bind1(concatenateP, primals, params)], [bind1(concatenateP, tangents, params)]],
  transpose([ct], args, { axis }) {
    let off = 0;
    return args.map((a) => {
      const n = a.aval.shape[axis];
      const start = a.aval.shape.map(() => 0);
      start[axis] = off;
      const limit = ct ? [...ct.shape] : [];
      limit[axis] = off + n;
      off += n;
      return ct && a instanceof UndefinedPrimal ? slice(ct, start, limit) : null;
    });
  },
  batch(xs, dims, { axis }, size) {
    return [
      [
        concatenate(
          xs.map((x, i) => bdimToFront(x, dims[i], size)),
          axis + 1,
        ),
      ],
      [0],
    ];
  },
});

export function concatenate(xs: Tracer[], axis: number): Tracer {
  if (xs.length === 1) return xs[0];
  return bind1(concatenateP, xs, { axis });
}

// ---------------------------------------------------------------- rev
export const revP: Primitive<RevParams> = definePrimitive<RevParams>({
  name: "rev",
  abstractEval([x], { axes }) {
    if (!axes.every((a) => a >= 0 && a < x.shape.length)) throw new Error(`rev: axes ${JSON.stringify(axes)} out of range for ${fmtShape(x.shape)}`);
    return [x];
  },
  lower({ b, eqn, at }, pos) {
    const xs = eqn.inputs[0].aval.shape;
    const { axes } = eqn.params;
    return at(
      0,
      posFromDims(
        b,
        xs,
        pos.dims().map((o, i) => (axes.includes(i) ? b.isub(b.const(xs[i] - 1, "index"), o) : o)),
      ),
    );
  },
  jvp: linearJvp(() => revP),
  transpose: ([ct], _args, { axes }) => [ct && rev(ct, axes)],
  batch: ([x], [d], { axes }) => [
    [
      rev(
        x,
        axes.map((a) => (a >= d! ? a + 1 : a)),
      ),
    ],
    [d],
  ],
});

export function rev(x: Tracer, axes: readonly number[]): Tracer {
  if (axes.length === 0) return x;
  return bind1(revP, [x], { axes: [...axes] });
}

// ---------------------------------------------------------------- batching helpers

/** Puts the batch axis first, materialising it (by broadcasting) for unbatched values. */
export function bdimToFront(x: Tracer, d: number | null, size: number): Tracer {
  if (d === null)
    return broadcastInDim(
      x,
      [size, ...x.shape],
      x.shape.map((_, i) => i + 1),
    );
  return moveaxis(x, d, 0);
}
