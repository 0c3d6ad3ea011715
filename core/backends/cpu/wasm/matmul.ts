/**
 * The generated float32 matmul kernel (WebAssembly, 128-bit SIMD).
 *
 * Operands arrive packed (see `pack_a` / `pack_b`): A in row panels of MR rows stored
 * k-major (Ap[panel][k][0..MR)), B in column panels of NR columns (Bp[panel][k][0..NR)),
 * both zero-padded to whole panels, so the micro-kernel never meets an edge and reads
 * each operand as one forward stream. C is row-major with N padded to NR.
 *
 * Loop nest (as in GotoBLAS): K in blocks of KC, rows in blocks of MC; for each NR-wide
 * B sliver (KC x NR, stays in L1) sweep the MC rows of A (MC x KC, stays in L2), each
 * MR x NR tile accumulated in v128 locals. Float32 accumulation, as XLA's CPU backend.
 *
 *   const { bytes } = sgemmModule();   // new WebAssembly.Module(bytes) validates
 */
import { emitClaimLoop, jobKind, loadWord, word } from "./control.ts";
import { ModuleBuilder, type FunctionBuilder } from "./emit.ts";
import { webAssembly } from "./webassembly.ts";
import { envVar } from "../../../env.ts";
import { emitIm2col, type Im2colExports } from "./im2col.ts";

export interface GemmTiling {
  /** Rows of A per micro-tile. */
  mr: number;
  /** Columns of B per micro-tile (a multiple of 4: one v128 holds 4 columns). */
  nr: number;
  /** Depth of one K block; its B sliver, KC x NR floats, should fit in L1. */
  kc: number;
  /** Rows per block (a multiple of MR); the MC x KC block of A should fit in L2. */
  mc: number;
}

// 4 x 8 keeps 8 accumulators, 2 B vectors, a splat and a product in registers (V8 on x64
// allocates 15 xmm registers). Measured on a 2-core Xeon, one thread, 1024^3: about 41
// GFLOP/s; 4 x 12, 3 x 16, 5 x 8 and KC 128..1024 / MC 64..256 were within noise or slower.
export const tiling: GemmTiling = { mr: 4, nr: 8, kc: 512, mc: 64 };

const PAGES_MAX = 65536;

let relaxed: boolean | undefined;
/**
 * Whether this engine runs relaxed SIMD (Chromium 114+, Node 22+; Node 20 only with
 * --experimental-wasm-relaxed-simd). The micro-kernel then multiplies and adds in one
 * `f32x4.relaxed_madd`, fused where the CPU has FMA. AUGERINO_WASM_FMA=0 keeps mul + add.
 */
export function hasRelaxedSimd(): boolean {
  if (relaxed === undefined) {
    const m = new ModuleBuilder({ minPages: 1, maxPages: 1 });
    const f = m.fn("madd", [], []);
    const v = f.local("v128");
    f.get(v).get(v).get(v).op("f32x4.relaxed_madd").set(v);
    relaxed = envVar("AUGERINO_WASM_FMA") !== "0" && webAssembly.validate(m.bytes());
  }
  return relaxed;
}

/** Emits `sgemm`, `run`, the four packers and `im2col` (im2col.ts) for one tiling; `fma` uses relaxed SIMD's multiply-add. */
export function sgemmModule(t: GemmTiling = tiling, fma = hasRelaxedSimd()): { bytes: Uint8Array<ArrayBuffer> } {
  if (t.nr % 4 !== 0 || t.mc % t.mr !== 0) throw new Error(`sgemmModule: bad tiling ${JSON.stringify(t)}`);
  const m = new ModuleBuilder({ minPages: 1, maxPages: PAGES_MAX });
  const micro = emitMicroKernel(m, t, fma);
  const sgemm = emitSgemm(m, t, micro);
  const sgemmBlocks = emitSgemmBlocks(m, sgemm);
  const im2colBlocks = emitIm2col(m);
  const run = m.fn("run", [], ["i32"]);
  loadWord(run, word.kind).i32(jobKind.im2col).op("i32.eq").if().call(im2colBlocks).op("return").end().call(sgemmBlocks);
  emitPack(m, "pack_a", t.mr, false);
  emitPack(m, "pack_a_contig", t.mr, true);
  emitPack(m, "pack_b", t.nr, false);
  emitPack(m, "pack_b_contig", t.nr, true);
  return { bytes: m.bytes() };
}

/** Exports of an instance of `sgemmModule` (all integers are byte addresses or counts). */
export interface SgemmExports extends Im2colExports {
  /**
   * C[rowStart:rowEnd, colStart:colEnd] = A B on packed operands, C row-major with n columns;
   * n and the column bounds multiples of NR, the row bounds of MR.
   */
  sgemm(ap: number, bp: number, cp: number, n: number, k: number, rowStart: number, rowEnd: number, colStart: number, colEnd: number): void;
  /** Claims and runs blocks of the job in the control block (control.ts) until none is left; returns how many it ran. */
  run(): number;
  /** dst[p][k][w] = src[(p W + w) strideW + k strideK] (element strides) for whole panels. */
  pack_a(src: number, strideW: number, strideK: number, depth: number, panels: number, dst: number): void;
  pack_a_contig(src: number, strideW: number, strideK: number, depth: number, panels: number, dst: number): void;
  pack_b(src: number, strideW: number, strideK: number, depth: number, panels: number, dst: number): void;
  pack_b_contig(src: number, strideW: number, strideK: number, depth: number, panels: number, dst: number): void;
}

const range = (n: number) => [...Array(n).keys()];

function emitMicroKernel(m: ModuleBuilder, t: GemmTiling, fma: boolean): FunctionBuilder {
  const f = m.fn("micro", ["i32", "i32", "i32", "i32", "i32", "i32"], [], false);
  const [a, b, c, ldc, kc, accumulate] = range(6);
  const nv = t.nr / 4;
  const acc = range(t.mr).map(() => range(nv).map(() => f.local("v128")));
  const bv = range(nv).map(() => f.local("v128"));
  const splat = f.local("v128");
  const row = f.local("i32");
  const end = f.local("i32");

  const eachRowOfC = (visit: (r: number) => void) => {
    f.get(c).set(row);
    for (const r of range(t.mr)) {
      visit(r);
      if (r < t.mr - 1) f.addTo(row, { local: ldc });
    }
  };
  // Later K blocks add to the partial sums already in C.
  f.get(accumulate).if();
  eachRowOfC((r) =>
    acc[r].forEach((x, v) =>
      f
        .get(row)
        .mem("v128.load", 16 * v)
        .set(x),
    ),
  );
  f.else();
  acc.flat().forEach((x) => f.f32x4(0).set(x));
  f.end();

  // One k-step per trip: unrolling by 2, 4 or 8 measured 15-35% slower under V8 11.3.
  f.get(a)
    .get(kc)
    .i32(t.mr * 4)
    .op("i32.mul")
    .op("i32.add")
    .set(end);
  f.whileBelow(a, end, () => {
    bv.forEach((x, v) =>
      f
        .get(b)
        .mem("v128.load", 16 * v)
        .set(x),
    );
    for (const r of range(t.mr)) {
      f.get(a)
        .mem("v128.load32_splat", 4 * r)
        .set(splat);
      acc[r].forEach((x, v) => (fma ? f.get(splat).get(bv[v]).get(x).op("f32x4.relaxed_madd") : f.get(x).get(splat).get(bv[v]).op("f32x4.mul").op("f32x4.add")).set(x));
    }
    f.addTo(a, t.mr * 4);
    f.addTo(b, t.nr * 4);
  });

  eachRowOfC((r) =>
    acc[r].forEach((x, v) =>
      f
        .get(row)
        .get(x)
        .mem("v128.store", 16 * v),
    ),
  );
  return f;
}

function emitSgemm(m: ModuleBuilder, t: GemmTiling, micro: FunctionBuilder): FunctionBuilder {
  const f = m.fn("sgemm", Array(9).fill("i32"));
  const [ap, bp, cp, n, k, rowStart, rowEnd, colStart, colEnd] = range(9);
  const [pc, kcur, ic, ie, jr, ir, bsl, ldc] = range(8).map(() => f.local("i32"));
  const min = (x: () => void, y: () => void) => {
    x();
    y();
    x();
    y();
    f.op("i32.lt_s").op("select");
  };

  f.get(n).i32(4).op("i32.mul").set(ldc);
  f.i32(0).set(pc);
  f.whileBelow(pc, k, () => {
    min(
      () => f.get(k).get(pc).op("i32.sub"),
      () => f.i32(t.kc),
    );
    f.set(kcur);
    f.get(rowStart).set(ic);
    f.whileBelow(ic, rowEnd, () => {
      min(
        () => f.get(ic).i32(t.mc).op("i32.add"),
        () => f.get(rowEnd),
      );
      f.set(ie);
      f.get(colStart).set(jr);
      f.whileBelow(jr, colEnd, () => {
        // B panel jr starts jr*k floats in; this K block is pc*NR floats further.
        f.get(bp).get(jr).get(k).op("i32.mul").get(pc).i32(t.nr).op("i32.mul").op("i32.add").i32(4).op("i32.mul").op("i32.add").set(bsl);
        f.get(ic).set(ir);
        f.whileBelow(ir, ie, () => {
          f.get(ap).get(ir).get(k).op("i32.mul").get(pc).i32(t.mr).op("i32.mul").op("i32.add").i32(4).op("i32.mul").op("i32.add");
          f.get(bsl);
          f.get(cp).get(ir).get(n).op("i32.mul").get(jr).op("i32.add").i32(4).op("i32.mul").op("i32.add");
          f.get(ldc).get(kcur).get(pc).i32(0).op("i32.ne");
          f.call(micro);
          f.addTo(ir, t.mr);
        });
        f.addTo(jr, t.nr);
      });
      f.addTo(ic, t.mc);
    });
    f.addTo(pc, t.kc);
  });
  return f;
}

/** One block = rows [r0, r1) x columns [c0, c1) of one product of the batch. */
function emitSgemmBlocks(m: ModuleBuilder, sgemm: FunctionBuilder): FunctionBuilder {
  const f = m.fn("sgemm_blocks", [], ["i32"], false);
  const [blk, batch, rest, r0, c0, done] = range(6).map(() => f.local("i32"));
  const w = (i: number) => loadWord(f, i);
  /** Pushes min(local + size word, limit word). */
  const end = (start: number, size: number, limit: number) => {
    f.get(start);
    w(size).op("i32.add");
    w(limit);
    f.get(start);
    w(size).op("i32.add");
    w(limit).op("i32.lt_u").op("select");
  };
  emitClaimLoop(f, blk, () => {
    // blk = (batch * rowBlocks + rb) * colBlocks + cb
    f.get(blk);
    w(word.blocksPerBatch).op("i32.div_u").set(batch);
    f.get(blk).get(batch);
    w(word.blocksPerBatch).op("i32.mul").op("i32.sub").set(rest);
    f.get(rest);
    w(word.colBlocks).op("i32.div_u").tee(r0);
    w(word.colBlocks).op("i32.mul").get(rest).op("i32.sub").i32(-1).op("i32.mul");
    w(word.blockCols).op("i32.mul").set(c0);
    f.get(r0);
    w(word.blockRows).op("i32.mul").set(r0);
    for (const [ptr, stride] of [
      [word.a, word.aStride],
      [word.b, word.bStride],
      [word.c, word.cStride],
    ]) {
      w(ptr).get(batch);
      w(stride).op("i32.mul").op("i32.add");
    }
    w(word.n);
    w(word.k);
    f.get(r0);
    end(r0, word.blockRows, word.rows);
    f.get(c0);
    end(c0, word.blockCols, word.n);
    f.call(sgemm);
    f.addTo(done, 1);
  });
  f.get(done);
  return f;
}

/** Packs whole panels of width w; `contig` reads the w elements of a panel row as vectors. */
function emitPack(m: ModuleBuilder, name: string, w: number, contig: boolean): void {
  const f = m.fn(name, ["i32", "i32", "i32", "i32", "i32", "i32"]);
  const [src, strideW, strideK, depth, panels, dst] = range(6);
  const [p, q, kEnd, e] = range(4).map(() => f.local("i32"));
  f.get(strideW).i32(4).op("i32.mul").set(strideW);
  f.get(strideK).i32(4).op("i32.mul").set(strideK);
  f.i32(0).set(p);
  f.whileBelow(p, panels, () => {
    f.get(src).get(p).i32(w).op("i32.mul").get(strideW).op("i32.mul").op("i32.add").set(q);
    f.get(dst)
      .get(depth)
      .i32(w * 4)
      .op("i32.mul")
      .op("i32.add")
      .set(kEnd);
    f.whileBelow(dst, kEnd, () => {
      // A width that is not whole vectors (a tiling experiment) falls back to scalar copies.
      if (contig && w % 4 === 0) {
        for (const v of range(w / 4))
          f.get(dst)
            .get(q)
            .mem("v128.load", 16 * v)
            .mem("v128.store", 16 * v);
      } else {
        f.get(q).set(e);
        for (const i of range(w)) {
          f.get(dst)
            .get(e)
            .mem("f32.load")
            .mem("f32.store", 4 * i);
          if (i < w - 1) f.addTo(e, { local: strideW });
        }
      }
      f.addTo(dst, w * 4);
      f.addTo(q, { local: strideK });
    });
    f.addTo(p, 1);
  });
}
