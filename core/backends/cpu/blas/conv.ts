/**
 * Convolutions on the platform BLAS: per feature group, out (Og x images*Ho*Wo) = kernel
 * (Og x Cg*KH*KW) times a row-major patch matrix (row (c, ky, kx), column (image, y, x)).
 * The patches come from the generated im2col on all cores (float32) or a JavaScript loop
 * (float64, or AUGERINO_WASM=0), in chunks of at most PATCH_FLOATS (about the L2 caches),
 * each chunk's input copied next to them: the longer side of the product is cut, so a
 * forward pass (short depth, many pixels) takes images in chunks and a kernel gradient
 * (depth = batch x pixels, a few columns) takes channels in chunks and accumulates. Wide
 * images get one product each, written straight into the output; narrow ones share one
 * product, scattered after. A window larger than the output (a kernel gradient) runs as
 * the dual product (`convDual`), and few output channels from many input channels as a
 * product then a sum over taps (`convGather`).
 */
import type { ConvGeometry } from "../routines/conv.ts";
import { CONTROL_BYTES } from "../wasm/control.ts";
import { runIm2col } from "../wasm/gemm.ts";
import { cpuThreads, reserveBytes, wasmRuntime } from "../wasm/pool.ts";
import { wasmEnabled } from "../wasm/webassembly.ts";
import { gemmBatched } from "./gemm.ts";
import { cpuBlas, hintNoBlas, type Blas, type FloatArray } from "./library.ts";

/**
 * Patch elements per product (2 MiB of float32): a chunk's patches stay in the cores' L2
 * caches from the im2col to the product (16 MiB chunks, streamed through memory, took
 * about twice as long on the bench's step convolutions), and still hold two images of a 32-channel 28 x 28 layer, one per core.
 */
const PATCH_FLOATS = 1 << 19;
/** Output pixels per image from which each image gets its own product, written in place (no scatter). */
const DIRECT_MIN_PIXELS = 256;
let patchBudget = PATCH_FLOATS;

/** Sets the patch elements per product (tests make it small to run many chunks); no argument restores the default. */
export function setConvPatchBudget(n = PATCH_FLOATS): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setConvPatchBudget: expected a positive integer, got ${n}`);
  patchBudget = n;
}

/** Images per chunk and channels per chunk for a patch budget of `budget` elements. */
export function convChunks(geo: ConvGeometry, budget = patchBudget): { images: number; channels: number } {
  const { N, Cg, KH, KW, K, S } = geo;
  const clamp = (v: number, hi: number) => Math.max(1, Math.min(hi, Math.floor(v)));
  if (K <= N * S) return { images: clamp(budget / (K * S), N), channels: Cg };
  const images = clamp(budget / (S * KH * KW), N);
  return { images, channels: clamp(budget / (images * S * KH * KW), Cg) };
}

/** Reusable arrays: the product's output when scattered, and the JavaScript im2col's patches. */
const scratch: { out: FloatArray | null; patches: FloatArray | null } = { out: null, patches: null };
/** scratch[slot] as an array of at least n elements of x's type. */
function scratchLike<T extends FloatArray>(slot: keyof typeof scratch, x: T, n: number): T {
  const s = scratch[slot];
  if (s && s.constructor === x.constructor && s.length >= n) return s as T;
  return (scratch[slot] = new (x.constructor as new (n: number) => T)(n)) as T;
}

/** Convolution of x (NCHW) with w (OIHW) into out on the BLAS; false when there is none. */
export function convBlas<T extends FloatArray>(x: T, w: T, out: T, geo: ConvGeometry): boolean {
  const blas = cpuBlas();
  if (!blas) {
    hintNoBlas();
    return false;
  }
  const { N, C, H, W, O, Cg, KH, KW, G, Og, K, S } = geo;
  const taps = KH * KW;
  const chunk = convChunks(geo);
  const wasm = x instanceof Float32Array && wasmEnabled();
  // Only where the output is about as large as the input: the product runs over every input pixel.
  if (G === 1 && O * 8 <= C && 2 * S >= H * W) {
    convGather(blas, x, w, out, geo);
    return true;
  }
  if (wasm && G === 1 && taps > S) {
    convDual(blas, x as Float32Array, w as Float32Array, out as Float32Array, geo);
    return true;
  }
  const image = C * H * W;
  const patches = wasm
    ? new WasmPatches({ rows: geo.rows, cols: geo.cols, kh: KH, kw: KW, ho: geo.Ho, wo: geo.Wo }, chunk.images * image, chunk.images * S, chunk.channels * taps * chunk.images * S)
    : null;
  for (let n0 = 0; n0 < N; n0 += chunk.images) {
    const nb = Math.min(chunk.images, N - n0);
    const columns = nb * S;
    patches?.load(x as Float32Array, n0 * image, nb * image);
    // Wide images: one product per image, straight into the output; narrow ones share a product into scratch, scattered after.
    const direct = nb === 1 || S >= DIRECT_MIN_PIXELS;
    const c = direct ? out : scratchLike("out", x, Og * columns);
    for (let g = 0; g < G; g++) {
      for (let c0 = 0; c0 < Cg; c0 += chunk.channels) {
        const cc = Math.min(chunk.channels, Cg - c0);
        const p = patches ? (patches.fill((g * Cg + c0) * H * W, nb, image, cc, H * W, W) as T) : im2colJs(x, geo, n0, nb, g * Cg + c0, cc);
        // Kernel rows of this group, from this chunk's first channel, with row stride K.
        const a = { data: w.subarray(g * Og * K + c0 * taps) as T, batchStride: 0, rowStride: K, colStride: 1 };
        const beta = c0 === 0 ? 0 : 1;
        if (direct) {
          for (let i = 0; i < nb; i++) {
            const b = { data: p.subarray(i * S) as T, batchStride: 0, rowStride: columns, colStride: 1 };
            gemmBatched(blas, 1, Og, S, cc * taps, a, b, out, ((n0 + i) * O + g * Og) * S, 0, S, beta);
          }
        } else {
          const b = { data: p, batchStride: 0, rowStride: columns, colStride: 1 };
          gemmBatched(blas, 1, Og, columns, cc * taps, a, b, c, 0, 0, columns, beta);
        }
      }
      if (!direct) for (let i = 0; i < nb; i++) for (let o = 0; o < Og; o++) out.set(c.subarray(o * columns + i * S, o * columns + (i + 1) * S), ((n0 + i) * O + g * Og + o) * S);
    }
  }
  return true;
}

/**
 * Few output channels from many input channels (the input gradient of a first layer):
 * Z (taps*O x H*W) = the kernel as (tap, output channel) rows times each image (C x H*W),
 * read in place, then each output sums Z over the taps at their input positions. The sum
 * touches O*taps*Ho*Wo values per image where im2col would copy C times as many.
 */
function convGather<T extends FloatArray>(blas: Blas, x: T, w: T, out: T, geo: ConvGeometry): void {
  const { N, C, H, W, O, KH, KW, Ho, Wo, S, rows, cols } = geo;
  const taps = KH * KW;
  const wt = new (x.constructor as new (n: number) => T)(taps * O * C);
  for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) for (let t = 0; t < taps; t++) wt[(t * O + o) * C + c] = w[(o * C + c) * taps + t];
  const z = scratchLike("patches", x, taps * O * H * W);
  for (let n = 0; n < N; n++) {
    gemmBatched(blas, 1, taps * O, H * W, C, { data: wt, batchStride: 0, rowStride: C, colStride: 1 }, { data: x.subarray(n * C * H * W) as T, batchStride: 0, rowStride: H * W, colStride: 1 }, z);
    for (let o = 0; o < O; o++) {
      const base = (n * O + o) * S;
      out.fill(0, base, base + S);
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          const zt = ((ky * KW + kx) * O + o) * H * W;
          for (let yo = 0; yo < Ho; yo++) {
            const r = rows[ky * Ho + yo];
            if (r < 0) continue;
            const zr = zt + r * W;
            const ob = base + yo * Wo;
            for (let xo = 0; xo < Wo; xo++) {
              const q = cols[kx * Wo + xo];
              if (q >= 0) out[ob + xo] += z[zr + q];
            }
          }
        }
      }
    }
  }
}

/** t[k * outN + o] -> [o * kN + k]: a tap table with the roles of taps and outputs swapped. */
function transposeTable(t: Int32Array, kN: number, outN: number): Int32Array {
  const r = new Int32Array(t.length);
  for (let k = 0; k < kN; k++) for (let o = 0; o < outN; o++) r[o * kN + k] = t[k * outN + o];
  return r;
}

/**
 * A convolution whose window is larger than its output (a kernel gradient: there the window
 * is the forward's output and the output the forward's taps): C (N*S x O) = Q times w^T
 * (C*taps x O), where Q, rows (image, output pixel), columns (channel, tap), is the im2col
 * of the dual convolution (images and channels swapped, taps and output pixels swapped).
 * Its rows run along the long window, so the im2col copies long runs; chunks of channels
 * accumulate. (Q w^T ran about 1.3x faster in OpenBLAS than the same product as w Q^T.)
 */
function convDual(blas: Blas, x: Float32Array, w: Float32Array, out: Float32Array, geo: ConvGeometry): void {
  const { N, C, H, W, O, KH, KW, Ho, Wo, K, S, rows, cols } = geo;
  const taps = KH * KW;
  const qRows = N * S;
  const per = Math.max(1, Math.min(C, Math.floor(patchBudget / (qRows * taps))));
  const patches = new WasmPatches({ rows: transposeTable(rows, KH, Ho), cols: transposeTable(cols, KW, Wo), kh: Ho, kw: Wo, ho: KH, wo: KW }, N * per * H * W, per * taps, qRows * per * taps);
  const c = scratchLike("out", x, qRows * O);
  for (let c0 = 0; c0 < C; c0 += per) {
    const cc = Math.min(per, C - c0);
    // The chunk's channels of every image, packed [N][cc][H][W].
    patches.load(x, c0 * H * W, cc * H * W, N, C * H * W);
    const q = { data: patches.fill(0, cc, H * W, N, cc * H * W, W), batchStride: 0, rowStride: cc * taps, colStride: 1 };
    const wt = { data: w.subarray(c0 * taps), batchStride: 0, rowStride: 1, colStride: K };
    gemmBatched(blas, 1, qRows, O, cc * taps, q, wt, c, 0, 0, O, c0 === 0 ? 0 : 1);
  }
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let s = 0; s < S; s++) out[(n * O + o) * S + s] = c[(n * S + s) * O + o];
}

/** Patch rows of `cc` channels from `c0` for images n0..n0+nb, row-major (rows (c, ky, kx), columns (image, y, x)). */
function im2colJs<T extends FloatArray>(x: T, geo: ConvGeometry, n0: number, nb: number, c0: number, cc: number): T {
  const { C, H, W, KH, KW, Ho, Wo, S, rows, cols } = geo;
  const ld = nb * S;
  const p = scratchLike("patches", x, cc * KH * KW * ld);
  for (let c = 0; c < cc; c++) {
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const row = ((c * KH + ky) * KW + kx) * ld;
        for (let i = 0; i < nb; i++) {
          const chan = ((n0 + i) * C + c0 + c) * H * W;
          for (let y = 0; y < Ho; y++) {
            const r = rows[ky * Ho + y];
            const d = row + i * S + y * Wo;
            if (r < 0) {
              p.fill(0, d, d + Wo);
              continue;
            }
            const base = chan + r * W;
            for (let xo = 0; xo < Wo; xo++) {
              const q = cols[kx * Wo + xo];
              p[d + xo] = q < 0 ? 0 : x[base + q];
            }
          }
        }
      }
    }
  }
  return p;
}

/**
 * Per kx, (xlo, xhi, q0) when output columns [xlo, xhi) read input columns q0, q0+1, ...
 * and the others read padding (stride 1, no input dilation along W); null otherwise.
 */
export function unitRuns(cols: Int32Array, KW: number, Wo: number): Int32Array | null {
  const runs = new Int32Array(3 * KW);
  for (let kx = 0; kx < KW; kx++) {
    const t = cols.subarray(kx * Wo, (kx + 1) * Wo);
    let lo = t.findIndex((q) => q >= 0);
    if (lo < 0) lo = 0;
    let hi = lo;
    while (hi < Wo && t[hi] >= 0) hi++;
    for (let xo = 0; xo < Wo; xo++) if ((xo >= lo && xo < hi) !== t[xo] >= 0 || (t[xo] >= 0 && t[xo] !== t[lo] + xo - lo)) return null;
    runs.set([lo, hi, hi > lo ? t[lo] : 0], 3 * kx);
  }
  return runs;
}

/** The tap tables and sizes one im2col reads: `rows[k * out + o]` is the input row of tap k at output row o. */
interface Taps {
  rows: Int32Array;
  cols: Int32Array;
  kh: number;
  kw: number;
  ho: number;
  wo: number;
}

/**
 * Images copied into the wasm kernels' shared memory with the tap tables, for the
 * generated im2col: [control][row taps][column taps][column runs][column offsets][images][patches].
 */
class WasmPatches {
  private readonly tables: number;
  private readonly runs: number;
  private readonly colAt: number;
  /** Column offsets of one image cut into `parts` blocks of channels (below). */
  private readonly splitAt: number;
  private readonly parts = cpuThreads();
  private readonly images: number;
  private readonly patches: number;

  /** `maxInput` bounds the floats `load` copies, `maxColumns` and `maxFloats` the patch matrices `fill` writes. */
  constructor(
    private readonly taps: Taps,
    maxInput: number,
    maxColumns: number,
    maxFloats: number,
  ) {
    const { rows, cols, kw, wo } = taps;
    const runs = unitRuns(cols, kw, wo);
    this.tables = CONTROL_BYTES;
    this.runs = runs ? this.tables + (rows.length + cols.length) * 4 : 0;
    this.colAt = this.tables + (rows.length + cols.length + (runs?.length ?? 0)) * 4;
    this.splitAt = this.colAt + maxColumns * 4;
    this.images = this.splitAt + this.parts * taps.ho * taps.wo * 4;
    this.patches = Math.ceil((this.images + maxInput * 4) / 64) * 64;
    if (!reserveBytes(this.patches + maxFloats * 4)) throw new Error(`conv: ${maxFloats} patch elements do not fit in wasm32 memory`);
    const buffer = wasmRuntime().memory.buffer;
    const ints = new Int32Array(buffer);
    ints.set(rows, this.tables / 4);
    ints.set(cols, this.tables / 4 + rows.length);
    if (runs) ints.set(runs, this.runs / 4);
    for (let j = 0; j < maxColumns; j++) ints[this.colAt / 4 + j] = j * 4;
  }

  /**
   * Copies `segments` runs of `count` elements of x, the i-th from start + i * segmentStride,
   * one after another into the shared memory: one chunk's input at a time, so the im2col
   * reads it from cache (a whole batch is tens of MiB).
   */
  load(x: Float32Array, start: number, count: number, segments = 1, segmentStride = 0): void {
    const heap = new Float32Array(wasmRuntime().memory.buffer, this.images, segments * count);
    for (let i = 0; i < segments; i++) heap.set(x.subarray(start + i * segmentStride, start + i * segmentStride + count), i * count);
  }

  /**
   * Writes the patches of `images` images of `channels` channels, the first at element
   * `first` of the loaded input, with those strides (in elements) and rows of `width`; returns
   * the row-major matrix (rows (channel, tap), columns (image, output pixel)), a view into the shared memory.
   */
  fill(first: number, images: number, imageStride: number, channels: number, chanStride: number, width: number): Float32Array {
    const { rows, kh, kw, ho, wo } = this.taps;
    const columns = images * ho * wo;
    // The im2col's threads take an image each: one image is cut into blocks of channels (the
    // most, up to the threads, that divide them), block i an "image" whose rows start i
    // blocks further down (its column offsets say so).
    let parts = images === 1 ? Math.min(this.parts, channels) : 1;
    while (channels % parts !== 0) parts--;
    const cg = channels / parts;
    if (parts > 1) {
      const ints = new Int32Array(wasmRuntime().memory.buffer, this.splitAt, parts * columns);
      for (let i = 0; i < parts; i++) for (let j = 0; j < columns; j++) ints[i * columns + j] = (i * cg * kh * kw * columns + j) * 4;
    }
    runIm2col(
      {
        images: images * parts,
        src: this.images + first * 4,
        imageBytes: (parts > 1 ? cg * chanStride : imageStride) * 4,
        chanBytes: chanStride * 4,
        rowBytes: width * 4,
        cg,
        kh,
        kw,
        ho,
        wo,
        rowTaps: this.tables,
        colTaps: this.tables + rows.length * 4,
        colAt: parts > 1 ? this.splitAt : this.colAt,
      },
      cg * kh * kw,
      this.patches,
      columns * 4,
      this.runs,
    );
    return new Float32Array(wasmRuntime().memory.buffer, this.patches, channels * kh * kw * columns);
  }
}
