/**
 * Pooling on the CPU: reduce_window sum/max/min and the select-and-gather/scatter passes
 * of max and min pooling's derivatives, with one-pass 2x2 kernels for the common case.
 */
import { isFloat, type DType, type TypedArray } from "../../../dtype.ts";
import type { Select, WindowParams } from "../../../routines.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { extreme2x2, gather2x2, pool2x2Geometry, scatter2x2 } from "../pool2x2.ts";
import { pool2x2Wasm } from "../wasm/pool2x2.ts";
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

const windowParams = (p: WindowParams): WindowParams => ({ window: p.window, strides: p.strides, padding: p.padding });

const reduce_window_sum: CpuRoutine<"reduce_window_sum"> = ([x], [out], p, [xa], [oa]) => {
  const sums = new Float64Array(out.length);
  windowLoop(x, xa.shape, oa.shape, windowParams(p), SUM, sums, null);
  for (let i = 0; i < out.length; i++) out[i] = sums[i];
};

const select_and_gather_add: CpuRoutine<"select_and_gather_add"> = ([t, x], [out], p, [, xa], [oa]) => {
  const g = pool2x2Geometry(xa.shape, windowParams(p));
  if (g) return gather2x2(t, x, out, g, p.select === "max" ? 1 : -1);
  const picks = selectPicks(x, xa, oa.shape, p);
  for (let i = 0; i < out.length; i++) out[i] = picks[i] < 0 ? 0 : t[picks[i]];
};

const select_and_scatter_add: CpuRoutine<"select_and_scatter_add"> = ([s, x], [out], p, [sa, xa]) => {
  const g = pool2x2Geometry(xa.shape, windowParams(p));
  if (g) return void (pool2x2Wasm("scatter", p.select, g, out, [s, x]) || scatter2x2(s, x, out, g, p.select === "max" ? 1 : -1));
  const picks = selectPicks(x, xa, sa.shape, p);
  out.fill(0);
  if (p.window.every((k: number, d: number) => p.strides[d] >= k)) {
    // Windows do not overlap: each position is picked at most once, so no sums to round.
    for (let i = 0; i < picks.length; i++) if (picks[i] >= 0) out[picks[i]] = s[i];
    return;
  }
  const acc = new Float64Array(out.length);
  for (let i = 0; i < picks.length; i++) if (picks[i] >= 0) acc[picks[i]] += s[i];
  for (let i = 0; i < out.length; i++) out[i] = acc[i];
};

const SUM = 0,
  MAX = 1,
  MIN = 2;

/**
 * The one window loop: for each output element (row-major), visits the in-bounds window taps.
 * mode SUM writes the float64 sum into `sums`; MAX / MIN write the flat operand index of the
 * selected element into `picks` (-1 when the window lies entirely in padding).
 */
function windowLoop(x: TypedArray, xShape: readonly number[], outShape: readonly number[], p: WindowParams, mode: number, sums: Float64Array | null, picks: Int32Array | null): void {
  const r = xShape.length;
  const nOut = sizeOf(outShape);
  if (nOut === 0) return;
  if (r >= 1 && windowsOnLastTwo(xShape, p)) return windowLoop2d(x, xShape, outShape, p, mode, sums, picks);
  // Per axis: the operand coordinate of tap k at output position o, or -1 in the padding.
  const taps = xShape.map((n, d) => {
    const t = new Int32Array(outShape[d] * p.window[d]);
    for (let o = 0; o < outShape[d]; o++) {
      for (let k = 0; k < p.window[d]; k++) {
        const i = o * p.strides[d] + k - p.padding[d][0];
        t[o * p.window[d] + k] = i >= 0 && i < n ? i : -1;
      }
    }
    return t;
  });
  const xst = stridesOf(xShape);
  const win = p.window;
  const nWin = sizeOf(win);
  const o = new Int32Array(r);
  const k = new Int32Array(r);
  for (let f = 0; f < nOut; f++) {
    let acc = 0;
    let best = -1;
    let bestV = 0;
    k.fill(0);
    for (let t = 0; t < nWin; t++) {
      let idx = 0;
      let d = 0;
      for (; d < r; d++) {
        const c = taps[d][o[d] * win[d] + k[d]];
        if (c < 0) break;
        idx += c * xst[d];
      }
      if (d === r) {
        const v = x[idx];
        if (mode === SUM) acc += v;
        else if (best < 0 || (bestV === bestV && (v !== v || (mode === MAX ? v > bestV : v < bestV)))) {
          best = idx;
          bestV = v;
        }
      }
      for (let e = r - 1; e >= 0; e--) {
        if (++k[e] < win[e]) break;
        k[e] = 0;
      }
    }
    if (mode === SUM) sums![f] = acc;
    else picks![f] = best;
    for (let e = r - 1; e >= 0; e--) {
      if (++o[e] < outShape[e]) break;
      o[e] = 0;
    }
  }
}

/** Whether every axis before the last two has a trivial window (size 1, stride 1, no padding), as in pooling NCHW images. */
function windowsOnLastTwo(xShape: readonly number[], p: WindowParams): boolean {
  return xShape.every((_, d) => d >= xShape.length - 2 || (p.window[d] === 1 && p.strides[d] === 1 && p.padding[d][0] === 0 && p.padding[d][1] === 0));
}

/**
 * windowLoop for windows over the last two axes only (the others are a batch): the same
 * visiting order and tie and NaN rules, with the tap arithmetic written out, because the
 * general loop's per-axis bookkeeping costs several times the work itself.
 */
function windowLoop2d(x: TypedArray, xShape: readonly number[], outShape: readonly number[], p: WindowParams, mode: number, sums: Float64Array | null, picks: Int32Array | null): void {
  const r = xShape.length;
  const at = (v: readonly number[], back: number, fill: number) => (r >= back ? v[r - back] : fill);
  const [h, w, oh, ow] = [at(xShape, 2, 1), at(xShape, 1, 1), at(outShape, 2, 1), at(outShape, 1, 1)];
  const [kh, kw, sh, sw] = [at(p.window, 2, 1), at(p.window, 1, 1), at(p.strides, 2, 1), at(p.strides, 1, 1)];
  const [ph, pw] = [r >= 2 ? p.padding[r - 2][0] : 0, p.padding[r - 1][0]];
  const batch = sizeOf(xShape.slice(0, Math.max(0, r - 2)));
  const sign = mode === MAX ? 1 : -1;
  for (let b = 0, f = 0; b < batch; b++) {
    const base = b * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - ph;
      const kyLo = Math.max(0, -y0),
        kyHi = Math.min(kh, h - y0);
      for (let ox = 0; ox < ow; ox++, f++) {
        const x0 = ox * sw - pw;
        const kxLo = Math.max(0, -x0),
          kxHi = Math.min(kw, w - x0);
        if (mode === SUM) {
          let acc = 0;
          for (let ky = kyLo; ky < kyHi; ky++) {
            const row = base + (y0 + ky) * w + x0;
            for (let kx = kxLo; kx < kxHi; kx++) acc += x[row + kx];
          }
          sums![f] = acc;
          continue;
        }
        // The first in-bounds tap, then strictly better ones (sign turns min into max); a NaN ends the window.
        let best = -1;
        if (kyLo < kyHi && kxLo < kxHi) {
          best = base + (y0 + kyLo) * w + x0 + kxLo;
          let bestS = x[best] * sign;
          for (let ky = kyLo; ky < kyHi && bestS === bestS; ky++) {
            const row = base + (y0 + ky) * w + x0;
            for (let kx = kxLo; kx < kxHi; kx++) {
              const v = x[row + kx] * sign;
              if (v > bestS) {
                best = row + kx;
                bestS = v;
              } else if (v !== v) {
                best = row + kx;
                bestS = v;
                break;
              }
            }
          }
        }
        picks![f] = best;
      }
    }
  }
}

function selectPicks(x: TypedArray, xa: ShapedArray, outShape: readonly number[], p: WindowParams & { select: Select }): Int32Array {
  const picks = new Int32Array(sizeOf(outShape));
  windowLoop(x, xa.shape, outShape, p, p.select === "min" ? MIN : MAX, null, picks);
  return picks;
}

/** The reduction's identity, written where a window covers only padding. */
function emptyValue(select: Select, dtype: DType): number {
  if (isFloat(dtype)) return select === "max" ? -Infinity : Infinity;
  if (dtype === "uint32") return select === "max" ? 0 : 0xffffffff;
  return select === "max" ? -2147483648 : 2147483647;
}

const reduceWindowExtreme =
  <R extends "reduce_window_max" | "reduce_window_min">(select: "max" | "min"): CpuRoutine<R> =>
  ([x], [out], p, [xa], [oa]) => {
    const g = pool2x2Geometry(xa.shape, windowParams(p));
    if (g) return void (pool2x2Wasm("extreme", select, g, out, [x]) || extreme2x2(x, out, g, select === "max" ? 1 : -1));
    const picks = selectPicks(x, xa, oa.shape, { ...p, select });
    const empty = emptyValue(select, xa.dtype);
    for (let i = 0; i < out.length; i++) out[i] = picks[i] < 0 ? empty : x[picks[i]];
  };

export const windowRoutines: CpuRoutines<"reduce_window_sum" | "reduce_window_max" | "reduce_window_min" | "select_and_gather_add" | "select_and_scatter_add"> = {
  reduce_window_sum,
  reduce_window_max: reduceWindowExtreme<"reduce_window_max">("max"),
  reduce_window_min: reduceWindowExtreme<"reduce_window_min">("min"),
  select_and_gather_add,
  select_and_scatter_add,
};
