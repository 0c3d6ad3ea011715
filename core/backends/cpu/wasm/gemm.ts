/**
 * Batched float32 matmul on the wasm kernel: lays the operands out in the shared memory,
 * packs them into panels (matmul.ts), runs the job on the pool (pool.ts) and copies C out.
 *
 *   const out = new Float32Array(2 * 3);
 *   sgemmBatched(1, 2, 3, 4, rowMajor(a, 2, 4), rowMajor(b, 4, 3), out);  // out = a @ b
 *
 * `SgemmPlan` is the same in steps, for callers that write packed B themselves (conv's
 * im2col). AUGERINO_WASM=0 in the environment turns the path off (`wasmEnabled()`);
 * callers then use their JavaScript loop.
 */
import { CONTROL_BYTES, jobKind, word } from "./control.ts";
import { tiling } from "./matmul.ts";
import { reserveBytes, runJob, wasmRuntime } from "./pool.ts";

/** Element (b, i, j) of a batch of matrices is data[b*batchStride + i*rowStride + j*colStride]. */
export interface MatrixView {
  data: Float32Array;
  batchStride: number;
  rowStride: number;
  colStride: number;
}

export function rowMajor(data: Float32Array, rows: number, cols: number): MatrixView {
  return { data, batchStride: rows * cols, rowStride: cols, colStride: 1 };
}

/**
 * Convolution patches for `SgemmPlan.packPatches`, as im2col.ts reads them: byte addresses
 * in the shared memory (first image, tap tables, packed offsets of the first image's
 * columns) and strides in bytes.
 */
export interface PatchArgs {
  images: number;
  src: number;
  imageBytes: number;
  chanBytes: number;
  rowBytes: number;
  cg: number;
  kh: number;
  kw: number;
  ho: number;
  wo: number;
  rowTaps: number;
  colTaps: number;
  colAt: number;
}

/**
 * Runs the generated im2col on `p.images` images (one block each, in parallel when large):
 * patch row kk (of k) of column j starts at dst + kk * dstRowBytes + colAt[j]; `colRuns`
 * (im2col.ts) copies unit-stride rows whole, for row-major patches only.
 */
export function runIm2col(p: PatchArgs, k: number, dst: number, dstRowBytes: number, colRuns = 0): void {
  const columns = p.ho * p.wo;
  runJob(p.images * k * columns >= PARALLEL_MIN_PATCHES, () => ({
    kind: jobKind.im2col,
    blocks: p.images,
    words: [
      [word.src, p.src],
      [word.imageBytes, p.imageBytes],
      [word.chanBytes, p.chanBytes],
      [word.rowBytes, p.rowBytes],
      [word.cg, p.cg],
      [word.kh, p.kh],
      [word.kw, p.kw],
      [word.ho, p.ho],
      [word.wo, p.wo],
      [word.rowTaps, p.rowTaps],
      [word.colTaps, p.colTaps],
      [word.colAt, p.colAt],
      [word.colAtStride, columns * 4],
      [word.dst, dst],
      [word.dstRowBytes, dstRowBytes],
      [word.colRuns, colRuns],
    ],
  }));
}

/** Where C goes in `out`: element (b, i, j) at offset + b*batchStride + i*rowStride + j. */
export interface OutputLayout {
  offset: number;
  batchStride: number;
  rowStride: number;
}

const ALIGN = 64;

/** Below this many multiply-adds a product runs on the calling thread alone: waking a worker costs tens of microseconds. */
const PARALLEL_MIN_WORK = 64 ** 3;
/** Below this many patch elements im2col runs on the calling thread alone. */
const PARALLEL_MIN_PATCHES = 1 << 16;
const alignUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * out[b, i, j] = sum_k a[b, i, k] * bm[b, k, j], accumulated in float32; out is row-major
 * [batch, m, n] unless `layout` says otherwise. An operand with batchStride 0 is shared by
 * the whole batch and packed once. Returns false (out untouched) when the operands do not
 * fit in wasm32 memory.
 */
export function sgemmBatched(batch: number, m: number, n: number, k: number, a: MatrixView, bm: MatrixView, out: Float32Array, layout?: OutputLayout): boolean {
  const plan = SgemmPlan.create(batch, m, n, k, a.batchStride === 0, bm.batchStride === 0);
  if (!plan || !plan.packA(a) || !plan.packB(bm)) return false;
  plan.run();
  plan.read(out, layout ?? { offset: 0, batchStride: m * n, rowStride: n });
  return true;
}

/**
 * One batched product in the shared memory: [control][packed A][packed B][C][staging].
 * Packed B of matrix b holds column j, row kk at float index
 * `bOffset(b) + (j >> log2 NR) * k * NR + kk * NR + (j & (NR - 1))`, zero past column n.
 */
export class SgemmPlan {
  readonly mp: number;
  readonly np: number;
  private readonly ap: number;
  private readonly bp: number;
  private readonly cp: number;
  private readonly end: number;

  private constructor(
    readonly batch: number,
    readonly m: number,
    readonly n: number,
    readonly k: number,
    private readonly sharedA: boolean,
    private readonly sharedB: boolean,
  ) {
    this.mp = alignUp(m, tiling.mr);
    this.np = alignUp(n, tiling.nr);
    let end = CONTROL_BYTES;
    const region = (floats: number) => {
      const at = end;
      end = alignUp(end + floats * 4, ALIGN);
      return at;
    };
    this.ap = region((sharedA ? 1 : batch) * this.mp * k);
    this.bp = region((sharedB ? 1 : batch) * this.np * k);
    this.cp = region(batch * this.mp * this.np);
    this.end = end;
  }

  /** A plan whose packed operands and C fit in wasm32 memory, or null. */
  static create(batch: number, m: number, n: number, k: number, sharedA = false, sharedB = false): SgemmPlan | null {
    const plan = new SgemmPlan(batch, m, n, k, sharedA, sharedB);
    return reserveBytes(plan.end) ? plan : null;
  }

  /**
   * The same product with n columns instead: packed A carries over (its region comes first
   * and depends on neither n nor B), so a caller can stream B through in chunks.
   */
  withColumns(n: number): SgemmPlan | null {
    return SgemmPlan.create(this.batch, this.m, n, this.k, this.sharedA, this.sharedB);
  }

  /** A view of the whole shared memory (made anew: growing the memory replaces its buffer). */
  heap(): Float32Array {
    return new Float32Array(wasmRuntime().memory.buffer);
  }

  /** Byte address of `bytes` of scratch past the plan's regions (it may overlap the packing staging area). */
  scratch(bytes: number): number | null {
    return reserveBytes(this.end + bytes) ? this.end : null;
  }

  /** Float index of packed B for batch element b (see the class comment for the layout). */
  bOffset(b: number): number {
    return (this.bp + (this.sharedB ? 0 : b) * this.np * this.k * 4) / 4;
  }

  packA(a: MatrixView): boolean {
    const { kernel } = wasmRuntime();
    return this.pack(a, this.sharedA ? 1 : this.batch, (heap, raw, b) =>
      packPanels(heap, kernel.pack_a, kernel.pack_a_contig, raw + b * a.batchStride * 4, a.rowStride, a.colStride, this.m, this.k, tiling.mr, this.ap + b * this.mp * this.k * 4),
    );
  }

  packB(bm: MatrixView): boolean {
    const { kernel } = wasmRuntime();
    // B panels run along columns, so the panel width strides by colStride and depth by rowStride.
    return this.pack(bm, this.sharedB ? 1 : this.batch, (heap, raw, b) =>
      packPanels(heap, kernel.pack_b, kernel.pack_b_contig, raw + b * bm.batchStride * 4, bm.colStride, bm.rowStride, this.n, this.k, tiling.nr, this.bp + b * this.np * this.k * 4),
    );
  }

  /** Copies x.data to the staging area past C, then packs each of `copies` matrices from it. */
  private pack(x: MatrixView, copies: number, packOne: (heap: Float32Array, raw: number, b: number) => void): boolean {
    if (!reserveBytes(this.end + x.data.length * 4)) return false;
    const heap = this.heap();
    heap.set(x.data, this.end / 4);
    for (let b = 0; b < copies; b++) packOne(heap, this.end, b);
    return true;
  }

  /**
   * Writes packed B (batch element 0) from convolution patches with the generated im2col,
   * one image per block, in parallel: image i fills columns i*ho*wo .. (i+1)*ho*wo.
   */
  packPatches(p: PatchArgs): void {
    runIm2col(p, this.k, this.bOffset(0) * 4, tiling.nr * 4);
  }

  run(): void {
    if (this.batch === 0 || this.m === 0 || this.n === 0) return;
    const { mp, np, k } = this;
    if (k === 0) {
      this.heap().fill(0, this.cp / 4, this.cp / 4 + this.batch * mp * np);
      return;
    }
    runJob(this.batch * mp * np * k >= PARALLEL_MIN_WORK, (team) => {
      const { rowBlocks, colBlocks } = sgemmBlocks(mp, np, this.batch, team);
      return {
        kind: jobKind.sgemm,
        blocks: rowBlocks * colBlocks * this.batch,
        words: [
          [word.a, this.ap],
          [word.b, this.bp],
          [word.c, this.cp],
          [word.aStride, this.sharedA ? 0 : mp * k * 4],
          [word.bStride, this.sharedB ? 0 : np * k * 4],
          [word.cStride, mp * np * 4],
          [word.n, np],
          [word.k, k],
          [word.rows, mp],
          [word.blockRows, Math.ceil(mp / tiling.mr / rowBlocks) * tiling.mr],
          [word.blockCols, Math.ceil(np / tiling.nr / colBlocks) * tiling.nr],
          [word.colBlocks, colBlocks],
          [word.blocksPerBatch, rowBlocks * colBlocks],
        ],
      };
    });
  }

  /** Copies columns [colStart, colStart + cols) of C (all of it by default) into out. */
  read(out: Float32Array, layout: OutputLayout, colStart = 0, cols = this.n): void {
    const { m, mp, np } = this;
    const heap = this.heap();
    for (let b = 0; b < this.batch; b++) {
      const src = this.cp / 4 + b * mp * np + colStart;
      const dst = layout.offset + b * layout.batchStride;
      if (cols === np && layout.rowStride === np) out.set(heap.subarray(src, src + m * np), dst);
      else for (let i = 0; i < m; i++) out.set(heap.subarray(src + i * np, src + i * np + cols), dst + i * layout.rowStride);
    }
  }
}

/** Columns a block should have at least, so that each block of A in cache serves a few panels of B. */
const MIN_BLOCK_COLS = 64;

/**
 * How a job splits each product: a few blocks per thread, so that one that starts late or
 * runs slow evens out. Rows first, in blocks of at least MC (each B sliver then serves MC
 * rows from L1), then columns; thinner only when a thread would otherwise go without.
 */
function sgemmBlocks(mp: number, np: number, batch: number, team: number): { rowBlocks: number; colBlocks: number } {
  const perProduct = Math.ceil((4 * team) / batch);
  const rowSteps = mp / tiling.mr;
  const colSteps = np / tiling.nr;
  let rowBlocks = Math.min(rowSteps, Math.ceil(mp / tiling.mc), perProduct);
  let colBlocks = Math.min(colSteps, Math.ceil(np / MIN_BLOCK_COLS), Math.ceil(perProduct / rowBlocks));
  while (rowBlocks * colBlocks * batch < team && (rowBlocks < rowSteps || colBlocks < colSteps)) {
    // Split whichever side of the blocks is longer.
    if (colBlocks < colSteps && (np / colBlocks >= mp / rowBlocks || rowBlocks === rowSteps)) colBlocks++;
    else rowBlocks++;
  }
  return { rowBlocks, colBlocks };
}

type Packer = (src: number, strideW: number, strideK: number, depth: number, panels: number, dst: number) => void;

/**
 * Packs `width` elements (stride strideW) by `depth` (stride strideK) into panels of w,
 * dst[p][k][0..w). Whole panels run in wasm; the last, partial one is zero-padded here.
 */
function packPanels(heap: Float32Array, scalar: Packer, contig: Packer, src: number, strideW: number, strideK: number, width: number, depth: number, w: number, dst: number): void {
  const whole = Math.floor(width / w);
  if (whole > 0) (strideW === 1 && w % 4 === 0 ? contig : scalar)(src, strideW, strideK, depth, whole, dst);
  const rest = width - whole * w;
  if (rest === 0) return;
  const s = src / 4 + whole * w * strideW;
  const d = dst / 4 + whole * w * depth;
  heap.fill(0, d, d + w * depth);
  for (let k = 0; k < depth; k++) {
    for (let i = 0; i < rest; i++) heap[d + k * w + i] = heap[s + i * strideW + k * strideK];
  }
}
