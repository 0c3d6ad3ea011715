/**
 * conv_general_dilated: 2D convolution (cross-correlation, as in XLA and JAX) of an NCHW
 * input with an OIHW kernel, with window strides, explicit (possibly negative) padding,
 * input (lhs) and kernel (rhs) dilation, and feature groups. The rules follow JAX's
 * lax/convolution.py: both transposes are themselves convolutions, so grad of grad and
 * vmap of grad stay inside this one primitive.
 */
import { isFloat, type TypedArray } from "../dtype.ts";
import { SgemmPlan } from "../backends/cpu/wasm/gemm.ts";
import { wasmEnabled } from "../backends/cpu/wasm/webassembly.ts";
import { tiling } from "../backends/cpu/wasm/matmul.ts";
import { convBlas } from "../backends/cpu/blas/conv.ts";
import type { FloatArray } from "../backends/cpu/blas/library.ts";
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Primitive } from "../primitive.ts";
import { fmtShape } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { add } from "./elementwise.ts";
import { moveaxis, reshape, rev, transpose } from "./shape.ts";
import { zerosLike } from "../np/creation.ts";
import { defineCpu } from "../backends/cpu/routines/registry.ts";

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

/**
 * For each (kernel tap k, output position o) along one spatial axis: the input coordinate
 * it reads, or -1 where it lands in padding or in a hole of the lhs dilation.
 */
function tapTable(n: number, k: number, outN: number, stride: number, lo: number, lhsDil: number, rhsDil: number): Int32Array {
  const t = new Int32Array(k * outN);
  for (let kk = 0; kk < k; kk++) {
    for (let o = 0; o < outN; o++) {
      const pos = o * stride + kk * rhsDil - lo;
      const i = pos / lhsDil;
      t[kk * outN + o] = pos >= 0 && pos % lhsDil === 0 && i < n ? i : -1;
    }
  }
  return t;
}

export const convGeneralDilatedP: Primitive = definePrimitive({
  name: "conv_general_dilated",
  abstractEval([l, r], params) {
    return [{ shape: convOutShape(l, r, params as ConvParams), dtype: l.dtype }];
  },
  // Bilinear: d(x*w) = dx*w + x*dw. Tangents that are concrete zeros (the JVP trace
  // instantiates missing tangents as zeros) are skipped, which saves a whole convolution
  // per layer when differentiating with respect to only one operand.
  jvp([l, r], [tl, tr], params) {
    const y = bind1(convGeneralDilatedP, [l, r], params);
    const parts: Tracer[] = [];
    if (!isZeroTangent(tl)) parts.push(bind1(convGeneralDilatedP, [tl, r], params));
    if (!isZeroTangent(tr)) parts.push(bind1(convGeneralDilatedP, [l, tr], params));
    return [[y], [parts.length === 0 ? zerosLike(y) : parts.length === 1 ? parts[0] : add(parts[0], parts[1])]];
  },
  transpose([ct], [l, r], params) {
    if (l instanceof UndefinedPrimal && r instanceof UndefinedPrimal) throw new Error("conv_general_dilated: transpose needs one constant operand (it is bilinear, not linear in both)");
    if (!ct) return [null, null];
    const p = params as ConvParams;
    if (l instanceof UndefinedPrimal) return [convTransposeLhs(ct, l.aval.shape, r as Tracer, p), null];
    return [null, convTransposeRhs(ct, l as Tracer, (r as UndefinedPrimal).aval.shape, p)];
  },
  batch([l, r], [dl, dr], params, B) {
    const p = params as ConvParams;
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
// Float32 and float64 run as im2col + the platform BLAS when there is one; float32
// otherwise as im2col + the WebAssembly SIMD sgemm (threaded); the rest, and all with
// AUGERINO_WASM=0 and no BLAS, on the JavaScript loop.
defineCpu("conv_general_dilated", ([x, w], [out], params, [la, ra], [oa]) => {
      if (la.dtype === "float32" || la.dtype === "float64") {
        const geo = convGeometry(params as ConvParams, la, ra, oa);
        if (!geo || convBlas(x as FloatArray, w as FloatArray, out as FloatArray, geo)) return;
      }
      if (la.dtype === "float32" && wasmEnabled() && convWasm(x as Float32Array, w as Float32Array, out as Float32Array, params as ConvParams, la, ra, oa)) return;
      convGeneralDilatedLoop(x, w, out, params as ConvParams, la, ra, oa);
    });

export type ConvGeometry = NonNullable<ReturnType<typeof convGeometry>>;

/**
 * The sizes the CPU convolution kernels use, and each spatial axis's tap table (operand
 * coordinate of every output position and tap); null when the output is empty.
 */
export function convGeometry(p: ConvParams, la: ShapedArray, ra: ShapedArray, oa: ShapedArray) {
  const [N, C, H, W] = la.shape;
  const [O, Cg, KH, KW] = ra.shape;
  const [, , Ho, Wo] = oa.shape;
  const G = p.groups;
  const S = Ho * Wo;
  if (S === 0 || N === 0 || O === 0) return null;
  const rows = tapTable(H, KH, Ho, p.strides[0], p.padding[0][0], p.lhsDilation[0], p.rhsDilation[0]);
  const cols = tapTable(W, KW, Wo, p.strides[1], p.padding[1][0], p.lhsDilation[1], p.rhsDilation[1]);
  return { N, C, H, W, O, Cg, KH, KW, Ho, Wo, G, Og: O / G, K: Cg * KH * KW, S, rows, cols };
}

/**
 * The reference CPU kernel for every dtype: im2col per (image, group) into a float64
 * [Ho*Wo, Cg*KH*KW] scratch, then dot products against the kernel rows (OIHW rows are
 * already contiguous), blocked 2 channels x 4 pixels so each loaded value feeds several
 * multiply-adds. Accumulates in float64.
 */
export function convGeneralDilatedLoop(x: TypedArray, w: TypedArray, out: TypedArray, p: ConvParams, la: ShapedArray, ra: ShapedArray, oa: ShapedArray): void {
  const geo = convGeometry(p, la, ra, oa);
  if (!geo) return;
  const { N, C, H, W, O, Cg, KH, KW, Ho, Wo, G, Og, K, S, rows, cols } = geo;
  const patches = new Float64Array(S * K);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      for (let c = 0; c < Cg; c++) {
        const chan = (n * C + g * Cg + c) * H * W;
        for (let ky = 0; ky < KH; ky++) {
          for (let y = 0; y < Ho; y++) {
            const i = rows[ky * Ho + y];
            const rowBase = i < 0 ? -1 : chan + i * W;
            for (let kx = 0; kx < KW; kx++) {
              const kk = (c * KH + ky) * KW + kx;
              const tb = kx * Wo;
              let dst = y * Wo * K + kk;
              for (let xo = 0; xo < Wo; xo++, dst += K) {
                const j = cols[tb + xo];
                patches[dst] = rowBase < 0 || j < 0 ? 0 : x[rowBase + j];
              }
            }
          }
        }
      }
      // Two output channels x four pixels per step: 6 loads feed 8 multiply-adds.
      let og = 0;
      for (; og + 2 <= Og; og += 2) {
        const o = g * Og + og;
        const wa = o * K, wb = wa + K;
        const oa = (n * O + o) * S, ob = oa + S;
        let s = 0;
        for (; s + 4 <= S; s += 4) {
          const p0 = s * K, p1 = p0 + K, p2 = p1 + K, p3 = p2 + K;
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
          for (let k = 0; k < K; k++) {
            const u = w[wa + k], v = w[wb + k];
            const q0 = patches[p0 + k], q1 = patches[p1 + k], q2 = patches[p2 + k], q3 = patches[p3 + k];
            a0 += u * q0; a1 += u * q1; a2 += u * q2; a3 += u * q3;
            b0 += v * q0; b1 += v * q1; b2 += v * q2; b3 += v * q3;
          }
          out[oa + s] = a0; out[oa + s + 1] = a1; out[oa + s + 2] = a2; out[oa + s + 3] = a3;
          out[ob + s] = b0; out[ob + s + 1] = b1; out[ob + s + 2] = b2; out[ob + s + 3] = b3;
        }
        for (; s < S; s++) {
          const p0 = s * K;
          let a0 = 0, b0 = 0;
          for (let k = 0; k < K; k++) {
            a0 += w[wa + k] * patches[p0 + k];
            b0 += w[wb + k] * patches[p0 + k];
          }
          out[oa + s] = a0;
          out[ob + s] = b0;
        }
      }
      for (; og < Og; og++) {
        const o = g * Og + og;
        const wa = o * K;
        const oa = (n * O + o) * S;
        for (let s = 0; s < S; s++) {
          const p0 = s * K;
          let a0 = 0;
          for (let k = 0; k < K; k++) a0 += w[wa + k] * patches[p0 + k];
          out[oa + s] = a0;
        }
      }
    }
  }
}

/** Floats of packed patches per sgemm call (16 MiB): images are taken in chunks that fit. */
const PATCH_FLOATS = 1 << 22;

/**
 * Float32 convolution as matmuls, per group: out[n, group's channels] (Og x Ho*Wo) = kernel
 * (Og x K) times the patches of image n (K x Ho*Wo, row k = (c, ky, kx)). A chunk of images
 * shares one product, their patches side by side as columns (so a small Ho*Wo, as in the
 * kernel gradient, still makes a wide matrix), written by im2col straight into packed B.
 * False if the wasm memory cannot hold a chunk.
 */
export function convWasm(x: Float32Array, w: Float32Array, out: Float32Array, p: ConvParams, la: ShapedArray, ra: ShapedArray, oa: ShapedArray): boolean {
  const geo = convGeometry(p, la, ra, oa);
  if (!geo) return true;
  const { N, C, H, W, O, Cg, KH, KW, Ho, Wo, G, Og, K, S, rows, cols } = geo;
  const chunks = Math.ceil(N / Math.max(1, Math.floor(PATCH_FLOATS / (K * S))));
  const chunk = Math.ceil(N / chunks);
  const NR = tiling.nr;
  for (let g = 0; g < G; g++) {
    let plan = SgemmPlan.create(1, Og, chunk * S, K, true, true);
    if (!plan || !plan.packA({ data: w.subarray(g * Og * K, (g + 1) * Og * K), batchStride: 0, rowStride: K, colStride: 1 })) return false;
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const nb = Math.min(chunk, N - n0);
      if (nb !== plan.n / S && !(plan = plan.withColumns(nb * S))) return false;
      // Past the plan's regions: the tap tables, the packed byte offset of each column
      // j = i*S + s, and the chunk's images.
      const image = C * H * W;
      const tables = plan.scratch((rows.length + cols.length + nb * S + nb * image) * 4);
      if (tables === null) return false;
      const heap = plan.heap();
      const ints = new Int32Array(heap.buffer);
      const t0 = tables / 4;
      const colAt = t0 + rows.length + cols.length;
      const xAt = colAt + nb * S;
      ints.set(rows, t0);
      ints.set(cols, t0 + rows.length);
      for (let j = 0; j < nb * S; j++) ints[colAt + j] = (Math.floor(j / NR) * K * NR + (j % NR)) * 4;
      heap.set(x.subarray(n0 * image, (n0 + nb) * image), xAt);
      plan.packPatches({
        images: nb, src: (xAt + g * Cg * H * W) * 4, imageBytes: image * 4, chanBytes: H * W * 4, rowBytes: W * 4,
        cg: Cg, kh: KH, kw: KW, ho: Ho, wo: Wo, rowTaps: tables, colTaps: tables + rows.length * 4, colAt: colAt * 4,
      });
      const b0 = plan.bOffset(0);
      // Columns past the last image pad the final panel; zeros keep stale values out of the arithmetic.
      for (let j = nb * S; j < plan.np; j++) for (let kk = 0; kk < K; kk++) heap[b0 + kk * NR + Math.floor(j / NR) * K * NR + (j % NR)] = 0;
      plan.run();
      // C is [Og, nb*S]: image i's block of columns goes to out[n0 + i, g*Og .. (g+1)*Og].
      for (let i = 0; i < nb; i++) plan.read(out, { offset: ((n0 + i) * O + g * Og) * S, batchStride: 0, rowStride: S }, i * S, S);
    }
  }
  return true;
}

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
    padding: [[p.padding[0][0], p.padding[0][1]], [p.padding[1][0], p.padding[1][1]]],
    lhsDilation: [p.lhsDilation[0], p.lhsDilation[1]],
    rhsDilation: [p.rhsDilation[0], p.rhsDilation[1]],
    groups: p.groups,
  };
  return bind1(convGeneralDilatedP, [lhs, rhs], copy);
}
