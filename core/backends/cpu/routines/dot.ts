/**
 * dot_general on the CPU: the platform BLAS for float32 and float64 when there is one, the
 * WebAssembly SIMD sgemm (threaded) for float32 otherwise, and a JavaScript loop for the rest.
 */
import { isInt, type TypedArray } from "../../../dtype.ts";
import type { DotDims } from "../../../routines.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { stridedCopy } from "../strided.ts";
import { sgemmBatched } from "../wasm/gemm.ts";
import { wasmEnabled } from "../wasm/webassembly.ts";
import { cpuBlas, hintNoBlas, type FloatArray } from "../blas/library.ts";
import { blasWorthIt, gemmBatched } from "../blas/gemm.ts";
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

const remaining = (rank: number, ...used: number[][]) => [...Array(rank).keys()].filter((i) => !used.some((u) => u.includes(i)));

const dot_general: CpuRoutine<"dot_general"> = ([l, r], [out], params, [la, ra]) => {
  // Float32 and float64 run on the platform BLAS when there is one; float32 otherwise on
  // the WebAssembly SIMD kernel (threaded); the rest, and all with AUGERINO_WASM=0 and
  // no BLAS, on the JavaScript loop.
  if ((la.dtype === "float32" || la.dtype === "float64") && dotGeneralBlas(l as FloatArray, r as FloatArray, out as FloatArray, params.dims, la.shape, ra.shape)) return;
  if (la.dtype === "float32" && wasmEnabled() && dotGeneralWasm(l as Float32Array, r as Float32Array, out as Float32Array, params.dims, la.shape, ra.shape)) return;
  dotGeneralLoop(l, r, out, params.dims, la, ra);
};

/** Operand axes as [batch, rows, columns]: lhs [batch, free, contracting], rhs [batch, contracting, free]. */
function operandGroups(dims: DotDims, lRank: number, rRank: number): { l: [number[], number[], number[]]; r: [number[], number[], number[]] } {
  const [lc, rc] = dims.contracting;
  const [lb, rb] = dims.batch;
  return { l: [lb, remaining(lRank, lc, lb), lc], r: [rb, rc, remaining(rRank, rc, rb)] };
}

/**
 * The reference CPU kernel for every dtype: packs into [B, M, K] and [B, K, N], then an i-k-j
 * loop with a float64 row accumulator (int32 wraps as in XLA).
 */
export function dotGeneralLoop(l: TypedArray, r: TypedArray, out: TypedArray, dims: DotDims, la: ShapedArray, ra: ShapedArray): void {
  const g = operandGroups(dims, la.shape.length, ra.shape.length);
  const size = (shape: readonly number[], axes: number[]) => sizeOf(axes.map((a) => shape[a]));
  const [B, M, K, N] = [size(la.shape, g.l[0]), size(la.shape, g.l[1]), size(la.shape, g.l[2]), size(ra.shape, g.r[2])];
  const A = pack(l, la.shape, g.l.flat());
  const Bm = pack(r, ra.shape, g.r.flat());
  const acc = new Float64Array(N);
  const intMul = isInt(la.dtype);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      const aRow = (b * M + i) * K;
      for (let k = 0; k < K; k++) {
        const a = A[aRow + k];
        if (a === 0) continue;
        const bRow = (b * K + k) * N;
        if (intMul) for (let j = 0; j < N; j++) acc[j] = (acc[j] + Math.imul(a, Bm[bRow + j])) | 0;
        else for (let j = 0; j < N; j++) acc[j] += a * Bm[bRow + j];
      }
      const o = (b * M + i) * N;
      for (let j = 0; j < N; j++) out[o + j] = acc[j];
    }
  }
}

/** dot_general of float32 operands on the wasm sgemm; false if they do not fit in its memory. */
export function dotGeneralWasm(l: Float32Array, r: Float32Array, out: Float32Array, dims: DotDims, lShape: readonly number[], rShape: readonly number[]): boolean {
  const g = operandGroups(dims, lShape.length, rShape.length);
  const size = (shape: readonly number[], axes: number[]) => sizeOf(axes.map((a) => shape[a]));
  return sgemmBatched(size(lShape, g.l[0]), size(lShape, g.l[1]), size(rShape, g.r[2]), size(lShape, g.l[2]), matrixView(l, lShape, g.l), matrixView(r, rShape, g.r), out);
}

/** dot_general of float32 or float64 operands on the platform BLAS; false when there is none or the products are too small for it. */
export function dotGeneralBlas(l: FloatArray, r: FloatArray, out: FloatArray, dims: DotDims, lShape: readonly number[], rShape: readonly number[]): boolean {
  const blas = cpuBlas();
  if (!blas) {
    hintNoBlas();
    return false;
  }
  const g = operandGroups(dims, lShape.length, rShape.length);
  const size = (shape: readonly number[], axes: number[]) => sizeOf(axes.map((a) => shape[a]));
  const [batch, m, n, k] = [size(lShape, g.l[0]), size(lShape, g.l[1]), size(rShape, g.r[2]), size(lShape, g.l[2])];
  if (!blasWorthIt(batch, m, n, k)) return false;
  gemmBatched(blas, batch, m, n, k, matrixView(l, lShape, g.l), matrixView(r, rShape, g.r), out);
  return true;
}

/** Strides of the [batch, rows, columns] view of x; a copy when an axis group does not merge into one stride. */
function matrixView<T extends FloatArray>(x: T, shape: readonly number[], groups: [number[], number[], number[]]): { data: T; batchStride: number; rowStride: number; colStride: number } {
  const st = stridesOf(shape);
  const [b, i, j] = groups.map((axes) => mergedStride(shape, st, axes));
  if (b !== null && i !== null && j !== null) return { data: x, batchStride: b, rowStride: i, colStride: j };
  const perm = groups.flat();
  const data = new (x.constructor as new (n: number) => T)(x.length);
  stridedCopy(
    x,
    data,
    perm.map((p) => shape[p]),
    perm.map((p) => st[p]),
    0,
  );
  const cols = sizeOf(groups[2].map((a) => shape[a]));
  return { data, batchStride: sizeOf(groups[1].map((a) => shape[a])) * cols, rowStride: cols, colStride: 1 };
}

/** The one stride that walks the given axes in order as a single flat axis, or null if there is none. */
function mergedStride(shape: readonly number[], strides: number[], axes: number[]): number | null {
  const live = axes.filter((a) => shape[a] !== 1);
  if (live.length === 0) return 0;
  for (let n = 0; n + 1 < live.length; n++) if (strides[live[n]] !== strides[live[n + 1]] * shape[live[n + 1]]) return null;
  return strides[live[live.length - 1]];
}

function pack(x: TypedArray, shape: readonly number[], perm: number[]): Float64Array {
  const st = stridesOf(shape);
  const out = new Float64Array(x.length);
  stridedCopy(
    x,
    out,
    perm.map((p) => shape[p]),
    perm.map((p) => st[p]),
    0,
  );
  return out;
}

export const dotRoutines: CpuRoutines<"dot_general"> = { dot_general };
