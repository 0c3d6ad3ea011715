/**
 * Batched products on the platform BLAS (library.ts): one cblas call per batch element,
 * on the operands in place (heap arrays included) when their strides are a row-major or
 * transposed layout, else on a contiguous copy.
 *
 *   gemmBatched(blas, 1, m, n, k, { data: a, batchStride: 0, rowStride: k, colStride: 1 }, bView, out);
 */
import type { Blas, FloatArray, Gemm } from "./library.ts";

/** Element (b, i, j) of a batch of matrices is data[b*batchStride + i*rowStride + j*colStride]. */
export interface StridedMatrix<T extends FloatArray = FloatArray> {
  data: T;
  batchStride: number;
  rowStride: number;
  colStride: number;
}

/** Below this many multiply-adds per product a batch of products stays on the WebAssembly kernel, whose one call beats many FFI calls. */
let minWork = 4096;

/** Sets the smallest product (m*n*k) routed to the BLAS when batched (tests set 0 to send every product there). */
export function setBlasMinWork(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`setBlasMinWork: expected a non-negative integer, got ${n}`);
  minWork = n;
}

/** Whether a batch of `batch` products of this size should go to the BLAS. */
export function blasWorthIt(batch: number, m: number, n: number, k: number): boolean {
  return batch <= 1 || m * n * k >= minWork;
}

/** How a cblas call reads a rows x cols operand: transposed or not, and its leading dimension; null when neither stride is 1. */
function layout(rows: number, cols: number, rowStride: number, colStride: number): { trans: boolean; ld: number } | null {
  // A stride along an axis of length 1 is never used; any value the library accepts will do.
  const rs = rows === 1 ? Math.max(1, cols) : rowStride;
  const cs = cols === 1 ? Math.max(1, rows) : colStride;
  if ((cs === 1 || cols === 1) && rs >= Math.max(1, cols)) return { trans: false, ld: rs };
  if ((rs === 1 || rows === 1) && cs >= Math.max(1, rows)) return { trans: true, ld: cs };
  return null;
}

/** The same matrices as a contiguous row-major batch. */
function contiguous<T extends FloatArray>(x: StridedMatrix<T>, batch: number, rows: number, cols: number): StridedMatrix<T> {
  const data = new (x.data.constructor as new (n: number) => T)(batch * rows * cols);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < rows; i++) {
      const base = b * x.batchStride + i * x.rowStride;
      for (let j = 0; j < cols; j++) data[o++] = x.data[base + j * x.colStride];
    }
  }
  return { data, batchStride: rows * cols, rowStride: cols, colStride: 1 };
}

/**
 * out[b, i, j] (at outOffset + b*outBatchStride + i*ldc + j) = sum_k a[b, i, k] * bm[b, k, j]
 * (+ the previous value when beta is 1), by the BLAS of out's dtype.
 */
export function gemmBatched<T extends FloatArray>(
  blas: Blas,
  batch: number,
  m: number,
  n: number,
  k: number,
  a: StridedMatrix<T>,
  bm: StridedMatrix<T>,
  out: T,
  outOffset = 0,
  outBatchStride = m * n,
  ldc = n,
  beta = 0,
): void {
  if (batch === 0 || m === 0 || n === 0) return;
  if (k === 0) {
    if (beta === 0) for (let b = 0; b < batch; b++) for (let i = 0; i < m; i++) out.fill(0, outOffset + b * outBatchStride + i * ldc, outOffset + b * outBatchStride + i * ldc + n);
    return;
  }
  const gemm = (out instanceof Float64Array ? blas.dgemm : blas.sgemm) as Gemm<T>;
  let la = layout(m, k, a.rowStride, a.colStride);
  if (!la) {
    a = contiguous(a, batch, m, k);
    la = { trans: false, ld: k };
  }
  let lb = layout(k, n, bm.rowStride, bm.colStride);
  if (!lb) {
    bm = contiguous(bm, batch, k, n);
    lb = { trans: false, ld: n };
  }
  const sub = (x: T, at: number) => (at === 0 ? x : (x.subarray(at) as T));
  for (let b = 0; b < batch; b++) {
    gemm(la.trans, lb.trans, m, n, k, sub(a.data, b * a.batchStride), la.ld, sub(bm.data, b * bm.batchStride), lb.ld, sub(out, outOffset + b * outBatchStride), ldc, beta);
  }
}
