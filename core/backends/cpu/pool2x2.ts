/**
 * The CPU kernels of 2x2 pooling with stride 2 and no padding over the last two axes (the
 * pooling of the paper's networks), each in one pass over its operands: the windowed max
 * or min, the tangent at each window's pick (select_and_gather_add), and the cotangent sent
 * back to each pick with zeros elsewhere (select_and_scatter_add), which writes every
 * element of its output once instead of filling it first. Picks follow window.ts: the first
 * extreme in row-major window order, a NaN winning.
 *
 *   if (pool2x2Geometry(xShape, p)) extreme2x2(x, out, pool2x2Geometry(xShape, p)!, 1);
 */
import type { TypedArray } from "../../dtype.ts";
import { sizeOf } from "../../shape.ts";

export interface Pool2x2 {
  batch: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
}

/** The sizes when the window is 2x2, stride 2, unpadded on the last two axes and trivial elsewhere; else null. */
export function pool2x2Geometry(xShape: readonly number[], p: { window: number[]; strides: number[]; padding: [number, number][] }): Pool2x2 | null {
  const r = xShape.length;
  if (r < 2) return null;
  for (let d = 0; d < r; d++) {
    const last = d >= r - 2;
    if (p.window[d] !== (last ? 2 : 1) || p.strides[d] !== (last ? 2 : 1) || p.padding[d][0] !== 0 || p.padding[d][1] !== 0) return null;
  }
  const [h, w] = [xShape[r - 2], xShape[r - 1]];
  return { batch: sizeOf(xShape.slice(0, r - 2)), h, w, oh: h >> 1, ow: w >> 1 };
}

/**
 * Which of a, b, c, d (window order) is picked: the first equal to their maximum m, or the
 * first NaN. The comparisons are turned into integers so V8 emits no branch for them
 * (pooled activations are random, so branches mispredict; ReLU zeros make ties common).
 */
function pick4(a: number, b: number, c: number, d: number, m: number): number {
  if (m !== m) return a !== a ? 0 : b !== b ? 1 : c !== c ? 2 : 3;
  const e0 = +(a === m);
  const e1 = +(b === m) & (e0 ^ 1);
  const e2 = +(c === m) & ((e0 | e1) ^ 1);
  return e1 + 2 * e2 + 3 * ((e0 | e1 | e2) ^ 1);
}

/** The window's extreme (sign 1: max, -1: min) as a signed value: NaN when any element is NaN. */
const extreme4 = (a: number, b: number, c: number, d: number, sign: number) => (sign > 0 ? Math.max(a, b, c, d) : -Math.min(a, b, c, d));

const offset = (k: number, w: number) => (k & 1) + (k >> 1) * w;

// The three kernels below walk the windows the same way; each keeps its own loop so that
// V8 compiles it with its body inline (a shared walker taking a callback ran 2x slower).

/** out[o] = the picked element of each window. */
export function extreme2x2(x: TypedArray, out: TypedArray, g: Pool2x2, sign: number): void {
  const { batch, h, w, oh, ow } = g;
  for (let b = 0, o = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0, i = b * h * w + 2 * y * w; xo < ow; xo++, o++, i += 2) {
        const m = extreme4(x[i], x[i + 1], x[i + w], x[i + w + 1], sign);
        // A zero may be -0 or +0; the first one in window order is the answer.
        out[o] = m === 0 ? x[i + offset(pick4(sign * x[i], sign * x[i + 1], sign * x[i + w], sign * x[i + w + 1], m), w)] : sign * m;
      }
    }
  }
}

/** out[o] = t at each window's pick in x. */
export function gather2x2(t: TypedArray, x: TypedArray, out: TypedArray, g: Pool2x2, sign: number): void {
  const { batch, h, w, oh, ow } = g;
  for (let b = 0, o = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0, i = b * h * w + 2 * y * w; xo < ow; xo++, o++, i += 2) {
        const m = extreme4(x[i], x[i + 1], x[i + w], x[i + w + 1], sign);
        out[o] = t[i + offset(pick4(sign * x[i], sign * x[i + 1], sign * x[i + w], sign * x[i + w + 1], m), w)];
      }
    }
  }
}

/** out (shaped like x) = s[o] at each window's pick, 0 elsewhere, including rows and columns no window covers. */
export function scatter2x2(s: TypedArray, x: TypedArray, out: TypedArray, g: Pool2x2, sign: number): void {
  const { batch, h, w, oh, ow } = g;
  // An odd last row or column lies outside every window.
  if (h !== 2 * oh || w !== 2 * ow) out.fill(0);
  for (let b = 0, o = 0; b < batch; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0, i = b * h * w + 2 * y * w; xo < ow; xo++, o++, i += 2) {
        const k = pick4(sign * x[i], sign * x[i + 1], sign * x[i + w], sign * x[i + w + 1], extreme4(x[i], x[i + 1], x[i + w], x[i + w + 1], sign));
        out[i] = k === 0 ? s[o] : 0;
        out[i + 1] = k === 1 ? s[o] : 0;
        out[i + w] = k === 2 ? s[o] : 0;
        out[i + w + 1] = k === 3 ? s[o] : 0;
      }
    }
  }
}
