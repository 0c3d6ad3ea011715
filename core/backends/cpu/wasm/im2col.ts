/**
 * The generated im2col of one image: gathers convolution patches straight into the packed
 * B panels of the matmul (matmul.ts), so a convolution needs no patch matrix in between,
 * or into a row-major patch matrix for the platform BLAS (blas/conv.ts): the step from one
 * patch row to the next is a job word.
 *
 * Row kk = (c, ky, kx) of B, column s = (y, xo) of the image's output pixels:
 *   B[kk, s] = x[c, rows[ky][y], cols[kx][xo]], or 0 where either tap is -1 (padding or a
 *   hole of the input dilation). Tap tables come from conv.ts; `colAt[s]` is the byte offset
 *   of column s in the packed layout, so images may start mid-panel.
 */
import { emitClaimLoop, loadWord, word } from "./control.ts";
import type { FunctionBuilder, ModuleBuilder } from "./emit.ts";

export interface Im2colExports {
  /**
   * Byte addresses, and sizes in elements; chanBytes and rowBytes are strides of x,
   * dstRowBytes of the patches. `runs`, when not 0, holds (xlo, xhi, q0) per kx: the
   * output columns [xlo, xhi) read input columns q0, q0 + 1, ... (the rest are padding),
   * and columns of one output row are contiguous in dst (colAt is then only read per row).
   */
  im2col(
    src: number,
    chanBytes: number,
    rowBytes: number,
    cg: number,
    kh: number,
    kw: number,
    ho: number,
    wo: number,
    rows: number,
    cols: number,
    colAt: number,
    dst: number,
    dstRowBytes: number,
    runs: number,
  ): void;
}

/**
 * Adds `im2col`, and returns `im2col_blocks`, which runs the im2col job in the control
 * block: block i is image i (src and colAt advance by their strides).
 */
export function emitIm2col(m: ModuleBuilder): FunctionBuilder {
  const im2col = emitImage(m);
  const f = m.fn("im2col_blocks", [], ["i32"], false);
  const [blk, done] = [f.local("i32"), f.local("i32")];
  emitClaimLoop(f, blk, () => {
    loadWord(f, word.src).get(blk);
    loadWord(f, word.imageBytes).op("i32.mul").op("i32.add");
    for (const w of [word.chanBytes, word.rowBytes, word.cg, word.kh, word.kw, word.ho, word.wo, word.rowTaps, word.colTaps]) loadWord(f, w);
    loadWord(f, word.colAt).get(blk);
    loadWord(f, word.colAtStride).op("i32.mul").op("i32.add");
    loadWord(f, word.dst);
    loadWord(f, word.dstRowBytes);
    loadWord(f, word.colRuns).call(im2col);
    f.addTo(done, 1);
  });
  f.get(done);
  return f;
}

function emitImage(m: ModuleBuilder): FunctionBuilder {
  const f = m.fn("im2col", Array(14).fill("i32"));
  const [src, chanBytes, rowBytes, cg, kh, kw, ho, wo, rows, cols, colAt, dst, dstRowBytes, runs] = [...Array(14).keys()];
  const [c, ky, kx, y, r, base, t, tEnd, at, q, ok] = [...Array(11).keys()].map(() => f.local("i32"));
  const [d, e, lo, hi, s] = [...Array(5).keys()].map(() => f.local("i32"));

  /** Stores f32 zeros from d up to e (bytes). */
  const zeros = () => f.whileBelow(d, e, () => f.get(d).f32(0).mem("f32.store").addTo(d, 4));

  /**
   * Unit-stride taps: the output row is zeros, then a contiguous run of the input row
   * (xlo, xhi, q0 per kx in the runs table), then zeros; the run is copied 4 floats at a time.
   */
  const runRow = () => {
    f.get(runs).get(kx).i32(12).op("i32.mul").op("i32.add").tee(t).mem("i32.load").set(lo);
    f.get(t).mem("i32.load", 4).set(hi);
    // A row of padding is all zeros.
    f.get(r).i32(0).op("i32.lt_s").if().get(lo).set(hi).end();
    f.get(dst).get(at).mem("i32.load").op("i32.add").tee(d).get(lo).i32(4).op("i32.mul").op("i32.add").set(e);
    zeros();
    f.get(base).get(t).mem("i32.load", 8).i32(4).op("i32.mul").op("i32.add").set(s);
    f.get(d).get(hi).get(lo).op("i32.sub").i32(-4).op("i32.and").i32(4).op("i32.mul").op("i32.add").set(e);
    f.whileBelow(d, e, () => f.get(d).get(s).mem("v128.load").mem("v128.store").addTo(d, 16).addTo(s, 16));
    f.get(dst).get(at).mem("i32.load").op("i32.add").get(hi).i32(4).op("i32.mul").op("i32.add").set(e);
    f.whileBelow(d, e, () => f.get(d).get(s).mem("f32.load").mem("f32.store").addTo(d, 4).addTo(s, 4));
    f.get(dst).get(at).mem("i32.load").op("i32.add").get(wo).i32(4).op("i32.mul").op("i32.add").set(e);
    zeros();
    f.get(wo).i32(4).op("i32.mul").get(at).op("i32.add").set(at);
  };

  /** Any taps: one element at a time through the column table. */
  const tapRow = () => {
    f.get(cols).get(kx).get(wo).op("i32.mul").i32(4).op("i32.mul").op("i32.add").tee(t);
    f.get(wo).i32(4).op("i32.mul").op("i32.add").set(tEnd);
    f.whileBelow(t, tEnd, () => {
      f.get(t).mem("i32.load").set(q);
      // Both taps are inside the image iff neither is negative, i.e. (r | q) >= 0.
      f.get(r).get(q).op("i32.or").i32(0).op("i32.ge_s").set(ok);
      f.get(dst).get(at).mem("i32.load").op("i32.add");
      // Load from a safe address outside the image, then zero the value.
      f.get(base).get(q).i32(4).op("i32.mul").op("i32.add").get(src).get(ok).op("select").mem("f32.load");
      f.f32(0).get(ok).op("select").mem("f32.store");
      f.addTo(t, 4).addTo(at, 4);
    });
  };

  f.i32(0).set(c);
  f.whileBelow(c, cg, () => {
    f.i32(0).set(ky);
    f.whileBelow(ky, kh, () => {
      f.i32(0).set(kx);
      f.whileBelow(kx, kw, () => {
        f.i32(0).set(y);
        f.get(colAt).set(at);
        f.whileBelow(y, ho, () => {
          // r = rows[ky][y]; base = src + c*chanBytes + r*rowBytes (unused when r < 0)
          f.get(rows).get(ky).get(ho).op("i32.mul").get(y).op("i32.add").i32(4).op("i32.mul").op("i32.add").mem("i32.load").set(r);
          f.get(src).get(c).get(chanBytes).op("i32.mul").op("i32.add").get(r).get(rowBytes).op("i32.mul").op("i32.add").set(base);
          f.get(runs).if();
          runRow();
          f.else();
          tapRow();
          f.end();
          f.addTo(y, 1);
        });
        f.addTo(dst, { local: dstRowBytes });
        f.addTo(kx, 1);
      });
      f.addTo(ky, 1);
    });
    f.addTo(c, 1);
  });
  return f;
}
