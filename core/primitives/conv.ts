/**
 * conv_general_dilated: 2D convolution (cross-correlation, as in XLA and JAX) of an NCHW
 * input with an OIHW kernel, with window strides, explicit (possibly negative) padding,
 * input (lhs) and kernel (rhs) dilation, and feature groups. The rules follow JAX's
 * lax/convolution.py: both transposes are themselves convolutions, so grad of grad and
 * vmap of grad stay inside this one primitive.
 */
import { isFloat } from "../dtype.ts";
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Primitive } from "../primitive.ts";
import { fmtShape } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { add } from "./elementwise.ts";
import { broadcastInDim, moveaxis, reshape, rev, transpose } from "./shape.ts";
import { scalar } from "../array.ts";

export type { ConvParams } from "../routines.ts";
import type { ConvParams } from "../routines.ts";

/** Size of an axis of n samples with dilation d (d-1 holes between neighbours). */
export const dilateDim = (n: number, d: number) => (n === 0 ? 0 : 1 + d * (n - 1));

const isPosInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

function checkParams(p: ConvParams, where: string): void {
  const pair = (v: unknown, ok: (x: unknown) => boolean) => Array.isArray(v) && v.length === 2 && v.every(ok);
  if (!pair(p.strides, isPosInt)) throw new Error(`${where}: strides ${JSON.stringify(p.strides)} must be two positive integers`);
  if (!pair(p.lhsDilation, isPosInt)) throw new Error(`${where}: lhsDilation ${JSON.stringify(p.lhsDilation)} must be two positive integers`);
  if (!pair(p.rhsDilation, isPosInt)) throw new Error(`${where}: rhsDilation ${JSON.stringify(p.rhsDilation)} must be two positive integers`);
  if (!pair(p.padding, (lh) => pair(lh, Number.isInteger))) throw new Error(`${where}: padding ${JSON.stringify(p.padding)} must be two [lo, hi] integer pairs`);
  if (!isPosInt(p.groups)) throw new Error(`${where}: groups ${p.groups} must be a positive integer`);
}

/** Output shape [N, O, Ho, Wo]; every shape mistake is reported here, at trace time. */
export function convOutShape(l: ShapedArray, r: ShapedArray, p: ConvParams): number[] {
  const where = `conv_general_dilated of lhs ${l.dtype}${fmtShape(l.shape)} (NCHW) and rhs ${r.dtype}${fmtShape(r.shape)} (OIHW)`;
  if (l.shape.length !== 4 || r.shape.length !== 4) throw new Error(`${where}: both operands must have rank 4 (lhs NCHW, rhs OIHW)`);
  if (l.dtype !== r.dtype) throw new Error(`${where}: dtypes differ (lax.conv promotes them for you)`);
  if (!isFloat(l.dtype)) throw new Error(`${where}: needs a floating dtype, got ${l.dtype}`);
  checkParams(p, where);
  const [, C] = l.shape;
  const [O, I, KH, KW] = r.shape;
  const G = p.groups;
  if (C % G !== 0) throw new Error(`${where}: groups=${G} does not divide the ${C} input channels`);
  if (O % G !== 0) throw new Error(`${where}: groups=${G} does not divide the ${O} output channels (rhs axis 0)`);
  if (I * G !== C) {
    throw new Error(`${where}: channel mismatch: the kernel takes ${I} input channels per group x ${G} group(s) = ${I * G}, but lhs has ${C} channels (axis 1)`);
  }
  if (KH < 1 || KW < 1) throw new Error(`${where}: kernel spatial sizes must be positive`);
  const spatial = [0, 1].map((d) => {
    const padded = dilateDim(l.shape[2 + d], p.lhsDilation[d]) + p.padding[d][0] + p.padding[d][1];
    const win = dilateDim(r.shape[2 + d], p.rhsDilation[d]);
    if (padded < win) {
      throw new Error(`${where}: the (dilated) window ${win} is larger than the (dilated, padded) input ${padded} along spatial axis ${d}; pad the input or use a smaller kernel`);
    }
    return Math.floor((padded - win) / p.strides[d]) + 1;
  });
  return [l.shape[0], O, ...spatial];
}

export const convGeneralDilatedP: Primitive<ConvParams> = definePrimitive<ConvParams>({
  name: "conv_general_dilated",
  abstractEval([l, r], params) {
    return [{ shape: convOutShape(l, r, params), dtype: l.dtype }];
  },
  // Bilinear: d(x*w) = dx*w + x*dw. Tangents that are concrete zeros (the JVP trace
  // instantiates missing tangents as zeros) are skipped, which saves a whole convolution
  // per layer when differentiating with respect to only one operand.
  jvp([l, r], [tl, tr], params) {
    const y = bind1(convGeneralDilatedP, [l, r], params);
    const parts: Tracer[] = [];
    if (!isZeroTangent(tl)) parts.push(bind1(convGeneralDilatedP, [tl, r], params));
    if (!isZeroTangent(tr)) parts.push(bind1(convGeneralDilatedP, [l, tr], params));
    return [[y], [parts.length === 0 ? broadcastInDim(scalar(0, y.dtype), y.shape, []) : parts.length === 1 ? parts[0] : add(parts[0], parts[1])]];
  },
  transpose([ct], [l, r], p) {
    if (l instanceof UndefinedPrimal && r instanceof UndefinedPrimal) throw new Error("conv_general_dilated: transpose needs one constant operand (it is bilinear, not linear in both)");
    if (!ct) return [null, null];
    if (l instanceof UndefinedPrimal) return [convTransposeLhs(ct, l.aval.shape, r as Tracer, p), null];
    return [null, convTransposeRhs(ct, l as Tracer, (r as UndefinedPrimal).aval.shape, p)];
  },
  batch([l, r], [dl, dr], p, B) {
    const G = p.groups;
    if (dl !== null && dr !== null) {
      // Fold the batch into the channels, batch-major, and run B*G groups: group b*G+g sees
      // exactly the channels of lhs[b] group g and the kernels of rhs[b] group g.
      const lb = moveaxis(l, dl, 0);
      const [, N, C, H, W] = lb.shape;
      const rb = moveaxis(r, dr, 0);
      const [, O, Cg, KH, KW] = rb.shape;
      const y = convGeneralDilated(reshape(transpose(lb, [1, 0, 2, 3, 4]), [N, B * C, H, W]), reshape(rb, [B * O, Cg, KH, KW]), { ...p, groups: G * B });
      return [[reshape(y, [N, B, O, y.shape[2], y.shape[3]])], [1]];
    }
    if (dl !== null) {
      const lb = moveaxis(l, dl, 0);
      const [, N, C, H, W] = lb.shape;
      const y = convGeneralDilated(reshape(lb, [B * N, C, H, W]), r, p);
      return [[reshape(y, [B, N, ...y.shape.slice(1)])], [0]];
    }
    // Only the kernel is batched: put the batch inside each group's block of output
    // channels ([G, B, Og]) so every group still reads its own input channels.
    const rb = moveaxis(r, dr!, 0);
    const [, O, Cg, KH, KW] = rb.shape;
    const Og = O / G;
    const r2 = reshape(transpose(reshape(rb, [B, G, Og, Cg, KH, KW]), [1, 0, 2, 3, 4, 5]), [G * B * Og, Cg, KH, KW]);
    const y = convGeneralDilated(l, r2, p);
    const [N, , Ho, Wo] = y.shape;
    const y2 = reshape(transpose(reshape(y, [N, G, B, Og, Ho, Wo]), [0, 2, 1, 3, 4, 5]), [N, B, O, Ho, Wo]);
    return [[y2], [1]];
  },
  printParams: (p) =>
    `strides=${JSON.stringify(p.strides)} padding=${JSON.stringify(p.padding)} lhs_dilation=${JSON.stringify(p.lhsDilation)} rhs_dilation=${JSON.stringify(p.rhsDilation)} groups=${p.groups}`,
});

/** The shape with its two leading axes swapped. */
export const swapLeading = (shape: readonly number[]) => [shape[1], shape[0], ...shape.slice(2)];

/**
 * conv_general_dilated of its operands with their two leading axes swapped: the kernel
 * gradient's convolution of the forward input [N, C, H, W] and the output's cotangent
 * [N, O, Ho, Wo] read as [C, N, H, W] and [O, N, Ho, Wo]. Only the CPU's plan makes it
 * (core/compiler/fold-conv-transposes.ts), after every transformation, so oneDNN reads both
 * operands where they are instead of transposed copies; so it has no transformation rules.
 */
export const convSwappedP: Primitive<ConvParams> = definePrimitive<ConvParams>({
  name: "conv_swapped_operands",
  abstractEval([l, r], params) {
    return [{ shape: convOutShape({ shape: swapLeading(l.shape), dtype: l.dtype }, { shape: swapLeading(r.shape), dtype: r.dtype }, params), dtype: l.dtype }];
  },
  printParams: (p) => convGeneralDilatedP.printParams!(p),
});

/** True only for a concrete array whose elements are all zero (cheap next to a convolution). */
/**
 * Cotangent of the input: a convolution of the cotangent with the spatially flipped kernel,
 * its in/out channels swapped within each group, strided by the lhs dilation and
 * lhs-dilated by the forward strides (JAX's _conv_general_dilated_transpose_lhs).
 */
function convTransposeLhs(ct: Tracer, lhsShape: readonly number[], rhs: Tracer, p: ConvParams): Tracer {
  const G = p.groups;
  const [O, Cg, KH, KW] = rhs.shape;
  const Og = O / G;
  const k = rev(reshape(transpose(reshape(rhs, [G, Og, Cg, KH, KW]), [0, 2, 1, 3, 4]), [G * Cg, Og, KH, KW]), [2, 3]);
  const padding = [0, 1].map((d) => {
    const inDil = dilateDim(lhsShape[2 + d], p.lhsDilation[d]);
    const kDil = dilateDim(rhs.shape[2 + d], p.rhsDilation[d]);
    const outDil = dilateDim(ct.shape[2 + d], p.strides[d]);
    const before = kDil - p.padding[d][0] - 1;
    return [before, inDil + kDil - 1 - outDil - before];
  }) as ConvParams["padding"];
  return convGeneralDilated(ct, k, { strides: p.lhsDilation, padding, lhsDilation: p.strides, rhsDilation: p.rhsDilation, groups: G });
}

/**
 * Cotangent of the kernel: a convolution of the input (channels as batch) with the cotangent
 * (as the kernel), dilated by the forward strides. For groups, the input is laid out as
 * [Cg, G*N, H, W] and the cotangent as [G*Og, N, Ho, Wo] so a G-group convolution pairs each
 * group's inputs with its own outputs; the result [Cg, O, KH, KW] is transposed to OIHW.
 * The hi padding (JAX's _conv_general_vjp_rhs_padding, possibly negative) makes the result
 * exactly KH x KW even when the strides leave a remainder.
 */
function convTransposeRhs(ct: Tracer, lhs: Tracer, rhsShape: readonly number[], p: ConvParams): Tracer {
  const G = p.groups;
  const [N, C, H, W] = lhs.shape;
  const Cg = C / G;
  const l2 = reshape(transpose(reshape(lhs, [N, G, Cg, H, W]), [2, 1, 0, 3, 4]), [Cg, G * N, H, W]);
  const k = transpose(ct, [1, 0, 2, 3]);
  const padding = [0, 1].map((d) => {
    const inDil = dilateDim(lhs.shape[2 + d], p.lhsDilation[d]);
    const kDil = dilateDim(rhsShape[2 + d], p.rhsDilation[d]);
    const outDil = dilateDim(ct.shape[2 + d], p.strides[d]);
    const lo = p.padding[d][0];
    return [lo, outDil - inDil + kDil - lo - 1];
  }) as ConvParams["padding"];
  const y = convGeneralDilated(l2, k, { strides: p.rhsDilation, padding, lhsDilation: p.lhsDilation, rhsDilation: p.strides, groups: G });
  return transpose(y, [1, 0, 2, 3]);
}

/** Binds the primitive with fully explicit params (no defaults, no dtype promotion); see lax-conv.ts for the user API. */
export function convGeneralDilated(lhs: Tracer, rhs: Tracer, p: ConvParams): Tracer {
  const copy: ConvParams = {
    strides: [p.strides[0], p.strides[1]],
    padding: [
      [p.padding[0][0], p.padding[0][1]],
      [p.padding[1][0], p.padding[1][1]],
    ],
    lhsDilation: [p.lhsDilation[0], p.lhsDilation[1]],
    rhsDilation: [p.rhsDilation[0], p.rhsDilation[1]],
    groups: p.groups,
  };
  return bind1(convGeneralDilatedP, [lhs, rhs], copy);
}
