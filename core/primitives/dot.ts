/**
 * dot_general: contraction over paired axes with shared batch axes. Output axes are
 * [batch..., lhs free..., rhs free...], as in XLA and JAX.
 */
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Primitive } from "../primitive.ts";
import { fmtShape, sizeOf, stridesOf } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { stridedCopy } from "../backends/cpu/strided.ts";
import { sgemmBatched } from "../backends/cpu/wasm/gemm.ts";
import { wasmEnabled } from "../backends/cpu/wasm/webassembly.ts";
import { cpuBlas, hintNoBlas, type FloatArray } from "../backends/cpu/blas/library.ts";
import { blasWorthIt, gemmBatched } from "../backends/cpu/blas/gemm.ts";
import { isInt, type TypedArray } from "../dtype.ts";
import { add } from "./elementwise.ts";
import { moveaxis, transpose } from "./shape.ts";

export interface DotDims {
  contracting: [number[], number[]];
  batch: [number[], number[]];
}

const remaining = (rank: number, ...used: number[][]) => [...Array(rank).keys()].filter((i) => !used.some((u) => u.includes(i)));
const argsort = (xs: number[]) => xs.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
const range = (start: number, n: number) => [...Array(n).keys()].map((i) => i + start);

export const dotGeneralP: Primitive = definePrimitive({
  name: "dot_general",
  abstractEval([l, r], params) {
    const dims = params.dims as DotDims;
    const [lc, rc] = dims.contracting;
    const [lb, rb] = dims.batch;
    const where = `dot_general of ${fmtShape(l.shape)} and ${fmtShape(r.shape)}`;
    if (l.dtype !== r.dtype) throw new Error(`${where}: dtypes ${l.dtype} and ${r.dtype} differ`);
    if (l.dtype === "bool") throw new Error(`${where}: bool operands are not supported`);
    if (lc.length !== rc.length || lb.length !== rb.length) throw new Error(`${where}: contracting/batch axis lists differ in length`);
    const valid = (axes: number[], rank: number) => axes.every((a) => Number.isInteger(a) && a >= 0 && a < rank) && new Set(axes).size === axes.length;
    if (!valid([...lc, ...lb], l.shape.length) || !valid([...rc, ...rb], r.shape.length)) throw new Error(`${where}: axes ${JSON.stringify(dims)} are invalid`);
    lc.forEach((a, i) => {
      if (l.shape[a] !== r.shape[rc[i]]) throw new Error(`${where}: contracting sizes ${l.shape[a]} (lhs axis ${a}) and ${r.shape[rc[i]]} (rhs axis ${rc[i]}) differ`);
    });
    lb.forEach((a, i) => {
      if (l.shape[a] !== r.shape[rb[i]]) throw new Error(`${where}: batch sizes ${l.shape[a]} and ${r.shape[rb[i]]} differ`);
    });
    const shape = [...lb.map((a) => l.shape[a]), ...remaining(l.shape.length, lc, lb).map((a) => l.shape[a]), ...remaining(r.shape.length, rc, rb).map((a) => r.shape[a])];
    return [{ shape, dtype: l.dtype }];
  },
  impl: {
    cpu([l, r], [out], params, [la, ra]) {
      // Float32 and float64 run on the platform BLAS when there is one; float32 otherwise on
      // the WebAssembly SIMD kernel (threaded); the rest, and all with AUGERINO_WASM=0 and
      // no BLAS, on the JavaScript loop.
      if ((la.dtype === "float32" || la.dtype === "float64") && dotGeneralBlas(l as FloatArray, r as FloatArray, out as FloatArray, params.dims, la.shape, ra.shape)) return;
      if (la.dtype === "float32" && wasmEnabled() && dotGeneralWasm(l as Float32Array, r as Float32Array, out as Float32Array, params.dims, la.shape, ra.shape)) return;
      dotGeneralLoop(l, r, out, params.dims, la, ra);
    },
  },
  jvp([l, r], [tl, tr], params) {
    const y = bind1(dotGeneralP, [l, r], params);
    // Skip the product with a tangent the JVP trace knows is zero.
    if (isZeroTangent(tl)) return [[y], [bind1(dotGeneralP, [l, tr], params)]];
    if (isZeroTangent(tr)) return [[y], [bind1(dotGeneralP, [tl, r], params)]];
    return [[y], [add(bind1(dotGeneralP, [tl, r], params), bind1(dotGeneralP, [l, tr], params))]];
  },
  transpose([ct], [l, r], { dims }) {
    if (l instanceof UndefinedPrimal && r instanceof UndefinedPrimal) throw new Error("dot_general: transpose needs one constant operand");
    if (!ct) return [null, null];
    if (l instanceof UndefinedPrimal) return [transposeLhs(ct, l.aval.shape.length, r as Tracer, dims, false), null];
    const swapped: DotDims = { contracting: [dims.contracting[1], dims.contracting[0]], batch: [dims.batch[1], dims.batch[0]] };
    return [null, transposeLhs(ct, (r as UndefinedPrimal).aval.shape.length, l as Tracer, swapped, true)];
  },
  batch([l, r], [dl, dr], { dims }) {
    const shift = (axes: number[]) => axes.map((a) => a + 1);
    const [lc, rc] = dims.contracting;
    const [lb, rb] = dims.batch;
    if (dl !== null && dr !== null) {
      const nd: DotDims = { contracting: [shift(lc), shift(rc)], batch: [[0, ...shift(lb)], [0, ...shift(rb)]] };
      return [[dotGeneral(moveaxis(l, dl, 0), moveaxis(r, dr, 0), nd)], [0]];
    }
    if (dl !== null) {
      const nd: DotDims = { contracting: [shift(lc), rc], batch: [shift(lb), rb] };
      return [[dotGeneral(moveaxis(l, dl, 0), r, nd)], [lb.length]];
    }
    const nd: DotDims = { contracting: [lc, shift(rc)], batch: [lb, shift(rb)] };
    const lFree = l.ndim - lc.length - lb.length;
    return [[dotGeneral(l, moveaxis(r, dr!, 0), nd)], [lb.length + lFree]];
  },
  printParams: (p) => `contracting=${JSON.stringify(p.dims.contracting)} batch=${JSON.stringify(p.dims.batch)}`,
});

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
  stridedCopy(x, data, perm.map((p) => shape[p]), perm.map((p) => st[p]), 0);
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
  stridedCopy(x, out, perm.map((p) => shape[p]), perm.map((p) => st[p]), 0);
  return out;
}

function transposeLhs(ct: Tracer, xRank: number, y: Tracer, dims: DotDims, swapAns: boolean): Tracer {
  const [xc, yc] = dims.contracting;
  const [xb, yb] = dims.batch;
  const xKept = remaining(xRank, xc, xb);
  const yKept = remaining(y.ndim, yc, yb);
  const ansBatch = range(0, xb.length);
  const ansY = swapAns ? range(xb.length, yKept.length) : range(xb.length + xKept.length, yKept.length);
  const xContractSortedByY = argsort(yc).map((i) => xc[i]);
  const outAxes = argsort([...xb, ...xKept, ...xContractSortedByY]);
  return transpose(dotGeneral(ct, y, { contracting: [ansY, yKept], batch: [ansBatch, yb] }), outAxes);
}

export function dotGeneral(l: Tracer, r: Tracer, dims: DotDims): Tracer {
  return bind1(dotGeneralP, [l, r], { dims: { contracting: [[...dims.contracting[0]], [...dims.contracting[1]]], batch: [[...dims.batch[0]], [...dims.batch[1]]] } });
}
