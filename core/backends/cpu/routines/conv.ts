/**
 * conv_general_dilated on the CPU: oneDNN (float32), im2col and a GEMM on the platform
 * BLAS (float32 and float64) or the WebAssembly SIMD sgemm (float32), else a JavaScript loop.
 */
import type { TypedArray } from "../../../dtype.ts";
import type { ConvParams } from "../../../routines.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { SgemmPlan } from "../wasm/gemm.ts";
import { wasmEnabled } from "../wasm/webassembly.ts";
import { tiling } from "../wasm/matmul.ts";
import { convBlas } from "../blas/conv.ts";
import { convDnnl } from "../dnnl/conv.ts";
import { swapLeading } from "../../../primitives/conv.ts";
import type { FloatArray } from "../blas/library.ts";
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

export type ConvGeometry = NonNullable<ReturnType<typeof convGeometry>>;

// Float32 runs on oneDNN when it loads (../dnnl/); float32 and float64 then as im2col + the
// platform BLAS when there is one; float32 otherwise as im2col + the WebAssembly SIMD sgemm
// (threaded); the rest, and all with AUGERINO_WASM=0 and no BLAS, on the JavaScript loop.
const conv_general_dilated: CpuRoutine<"conv_general_dilated"> = ([x, w], [out], params, [la, ra], [oa]) => {
  if (la.dtype === "float32" && convDnnl(x as Float32Array, w as Float32Array, out as Float32Array, params, la.shape, ra.shape, oa.shape)) return;
  if (la.dtype === "float32" || la.dtype === "float64") {
    const geo = convGeometry(params, la, ra, oa);
    if (!geo || convBlas(x as FloatArray, w as FloatArray, out as FloatArray, geo)) return;
  }
  if (la.dtype === "float32" && wasmEnabled() && convWasm(x as Float32Array, w as Float32Array, out as Float32Array, params, la, ra, oa)) return;
  convGeneralDilatedLoop(x, w, out, params, la, ra, oa);
};

/**
 * The convolution of operands held with their two leading axes swapped (the kernel gradient's
 * input and cotangent in their own layouts): on oneDNN directly, else through swapped copies.
 */
const conv_swapped_operands: CpuRoutine<"conv_swapped_operands"> = ([x, w], [out], params, [la, ra], [oa]) => {
  const [l, r] = [la, ra].map((a) => ({ shape: swapLeading(a.shape), dtype: a.dtype }));
  if (la.dtype === "float32" && convDnnl(x as Float32Array, w as Float32Array, out as Float32Array, params, l.shape, r.shape, oa.shape, true)) return;
  conv_general_dilated([swapLeadingAxes(x, la.shape), swapLeadingAxes(w, ra.shape)], [out], params, [l, r], [oa]);
};

/** A copy of `a` (shape `shape`) with its two leading axes swapped. */
function swapLeadingAxes(a: TypedArray, shape: readonly number[]): TypedArray {
  const [A, B] = shape;
  const rest = shape.slice(2).reduce((m, n) => m * n, 1);
  const out = new (a.constructor as new (n: number) => TypedArray)(a.length);
  for (let i = 0; i < A; i++) for (let j = 0; j < B; j++) out.set(a.subarray((i * B + j) * rest, (i * B + j + 1) * rest), (j * A + i) * rest);
  return out;
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
        const wa = o * K,
          wb = wa + K;
        const oa = (n * O + o) * S,
          ob = oa + S;
        let s = 0;
        for (; s + 4 <= S; s += 4) {
          const p0 = s * K,
            p1 = p0 + K,
            p2 = p1 + K,
            p3 = p2 + K;
          let a0 = 0,
            a1 = 0,
            a2 = 0,
            a3 = 0,
            b0 = 0,
            b1 = 0,
            b2 = 0,
            b3 = 0;
          for (let k = 0; k < K; k++) {
            const u = w[wa + k],
              v = w[wb + k];
            const q0 = patches[p0 + k],
              q1 = patches[p1 + k],
              q2 = patches[p2 + k],
              q3 = patches[p3 + k];
            a0 += u * q0;
            a1 += u * q1;
            a2 += u * q2;
            a3 += u * q3;
            b0 += v * q0;
            b1 += v * q1;
            b2 += v * q2;
            b3 += v * q3;
          }
          out[oa + s] = a0;
          out[oa + s + 1] = a1;
          out[oa + s + 2] = a2;
          out[oa + s + 3] = a3;
          out[ob + s] = b0;
          out[ob + s + 1] = b1;
          out[ob + s + 2] = b2;
          out[ob + s + 3] = b3;
        }
        for (; s < S; s++) {
          const p0 = s * K;
          let a0 = 0,
            b0 = 0;
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
        images: nb,
        src: (xAt + g * Cg * H * W) * 4,
        imageBytes: image * 4,
        chanBytes: H * W * 4,
        rowBytes: W * 4,
        cg: Cg,
        kh: KH,
        kw: KW,
        ho: Ho,
        wo: Wo,
        rowTaps: tables,
        colTaps: tables + rows.length * 4,
        colAt: colAt * 4,
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

export const convRoutines: CpuRoutines<"conv_general_dilated" | "conv_swapped_operands"> = { conv_general_dilated, conv_swapped_operands };
