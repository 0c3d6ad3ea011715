/**
 * Windowed reductions over every axis of the operand, as XLA's ReduceWindow: a window
 * (one size per axis) slides with strides over the operand padded by [lo, hi] per axis.
 * reduce_window_sum is linear; reduce_window_max / min differentiate through
 * select_and_gather_add (the tangent at each window's arg-max), whose transpose
 * select_and_scatter_add sends each cotangent back to that position (and vice versa).
 * Ties pick the first position in row-major order of the window; NaN wins like argmax.
 */
import { isFloat, type DType, type TypedArray } from "../dtype.ts";
import { scalar } from "../array.ts";
import { definePrimitive, UndefinedPrimal, type Params, type Primitive } from "../primitive.ts";
import { fmtShape, sizeOf, stridesOf } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { bdimToFront, moveaxis, pad } from "./shape.ts";
import { extreme2x2, gather2x2, pool2x2Geometry, scatter2x2 } from "../backends/cpu/pool2x2.ts";
import { defineCpu } from "../backends/cpu/routines/registry.ts";

export type { WindowParams, Select } from "../routines.ts";
import type { WindowParams, Select } from "../routines.ts";

/** Which extreme select_and_gather_add / select_and_scatter_add pick in each window. */

export function windowOutShape(name: string, x: ShapedArray, p: WindowParams): number[] {
  const r = x.shape.length;
  const where = `${name} of ${x.dtype}${fmtShape(x.shape)}`;
  const ints = (v: unknown, ok: (n: number) => boolean) => Array.isArray(v) && v.length === r && v.every((n) => Number.isInteger(n) && ok(n));
  if (!ints(p.window, (n) => n >= 1)) throw new Error(`${where}: window ${JSON.stringify(p.window)} must give a positive integer for each of the ${r} axes`);
  if (!ints(p.strides, (n) => n >= 1)) throw new Error(`${where}: strides ${JSON.stringify(p.strides)} must give a positive integer for each of the ${r} axes`);
  if (!(Array.isArray(p.padding) && p.padding.length === r && p.padding.every((lh) => Array.isArray(lh) && lh.length === 2 && lh.every(Number.isInteger)))) {
    throw new Error(`${where}: padding ${JSON.stringify(p.padding)} must give an integer [lo, hi] pair for each of the ${r} axes`);
  }
  if (x.dtype === "bool") throw new Error(`${where}: bool operands are not supported; convert to a number dtype first`);
  return x.shape.map((n, d) => {
    const padded = n + p.padding[d][0] + p.padding[d][1];
    if (padded < p.window[d]) throw new Error(`${where}: window ${p.window[d]} is larger than the padded size ${padded} of axis ${d}`);
    return Math.floor((padded - p.window[d]) / p.strides[d]) + 1;
  });
}

const SUM = 0, MAX = 1, MIN = 2;

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
      const kyLo = Math.max(0, -y0), kyHi = Math.min(kh, h - y0);
      for (let ox = 0; ox < ow; ox++, f++) {
        const x0 = ox * sw - pw;
        const kxLo = Math.max(0, -x0), kxHi = Math.min(kw, w - x0);
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

function checkSelect(name: string, p: Params): void {
  if (p.select !== "max" && p.select !== "min") throw new Error(`${name}: select must be "max" or "min", got ${JSON.stringify(p.select)}`);
}

function selectPicks(x: TypedArray, xa: ShapedArray, outShape: readonly number[], p: Params): Int32Array {
  const picks = new Int32Array(sizeOf(outShape));
  windowLoop(x, xa.shape, outShape, p as WindowParams, p.select === "min" ? MIN : MAX, null, picks);
  return picks;
}

/** The reduction's identity, written where a window covers only padding. */
function emptyValue(select: Select, dtype: DType): number {
  if (isFloat(dtype)) return select === "max" ? -Infinity : Infinity;
  if (dtype === "uint32") return select === "max" ? 0 : 0xffffffff;
  return select === "max" ? -2147483648 : 2147483647;
}

const windowParams = (p: Params): WindowParams => ({ window: p.window, strides: p.strides, padding: p.padding });

/** Adds a size-1, stride-1, unpadded window axis in front for the batch. */
function batchedParams(p: Params): Params {
  return { ...p, window: [1, ...p.window], strides: [1, ...p.strides], padding: [[0, 0], ...p.padding] };
}

const printParams = (p: Params) => `window=${JSON.stringify(p.window)} strides=${JSON.stringify(p.strides)} padding=${JSON.stringify(p.padding)}${p.select ? ` select=${p.select}` : ""}`;

// ---------------------------------------------------------------- reduce_window_sum
export const reduceWindowSumP: Primitive = definePrimitive({
  name: "reduce_window_sum",
  abstractEval: ([x], p) => [{ shape: windowOutShape("reduce_window_sum", x, windowParams(p)), dtype: x.dtype }],
  jvp: ([x], [t], p) => [[reduceWindowSum(x, windowParams(p))], [reduceWindowSum(t, windowParams(p))]],
  // JAX's _reduce_window_sum_transpose_rule: spread the cotangent with holes of stride-1,
  // pad its edges by the window, and sum it with the same (all-ones, symmetric) window.
  transpose([ct], [x], p) {
    if (!ct) return [null];
    const xs = (x as UndefinedPrimal).aval.shape;
    const config = xs.map((n, d) => {
      const w = p.window[d], s = p.strides[d];
      const outDil = ct.shape[d] === 0 ? 0 : 1 + s * (ct.shape[d] - 1);
      const before = w - p.padding[d][0] - 1;
      return [before, n + w - 1 - outDil - before, s - 1];
    });
    const spread = pad(ct, scalar(0, ct.dtype), config);
    return [reduceWindowSum(spread, { window: [...p.window], strides: xs.map(() => 1), padding: xs.map(() => [0, 0] as [number, number]) })];
  },
  batch: ([x], [d], p) => [[reduceWindowSum(moveaxis(x, d!, 0), windowParams(batchedParams(p)))], [0]],
  printParams,
});
defineCpu("reduce_window_sum", ([x], [out], p, [xa], [oa]) => {
      const sums = new Float64Array(out.length);
      windowLoop(x, xa.shape, oa.shape, windowParams(p), SUM, sums, null);
      for (let i = 0; i < out.length; i++) out[i] = sums[i];
    });

// ---------------------------------------------------------------- reduce_window_max / min
function extremum(select: Select): Primitive {
  const name = `reduce_window_${select}`;
  const prim: Primitive = definePrimitive({
    name,
    abstractEval: ([x], p) => [{ shape: windowOutShape(name, x, windowParams(p)), dtype: x.dtype }],
    jvp: ([x], [t], p) => [[bind1(prim, [x], p)], [selectAndGatherAdd(t, x, windowParams(p), select)]],
    batch: ([x], [d], p) => [[bind1(prim, [moveaxis(x, d!, 0)], batchedParams(p))], [0]],
    printParams,
  });
  defineCpu(name as "reduce_window_max", ([x], [out], p, [xa], [oa]) => {
        const g = pool2x2Geometry(xa.shape, windowParams(p));
        if (g) return extreme2x2(x, out, g, select === "max" ? 1 : -1);
        const picks = selectPicks(x, xa, oa.shape, { ...p, select });
        const empty = emptyValue(select, xa.dtype);
        for (let i = 0; i < out.length; i++) out[i] = picks[i] < 0 ? empty : x[picks[i]];
      });
  return prim;
}
export const reduceWindowMaxP = extremum("max");
export const reduceWindowMinP = extremum("min");

// ---------------------------------------------------------------- select_and_gather_add
/**
 * select_and_gather_add(t, x): for each window of x, the element of t at x's selected
 * position (0 for a window entirely in padding). Linear in t; x only chooses positions.
 */
export const selectAndGatherAddP: Primitive = definePrimitive({
  name: "select_and_gather_add",
  abstractEval([t, x], p) {
    checkSelect("select_and_gather_add", p);
    if (t.dtype !== x.dtype || t.shape.join() !== x.shape.join()) {
      throw new Error(`select_and_gather_add: tangent ${t.dtype}${fmtShape(t.shape)} must match operand ${x.dtype}${fmtShape(x.shape)}`);
    }
    return [{ shape: windowOutShape("select_and_gather_add", x, windowParams(p)), dtype: x.dtype }];
  },
  // The selection is piecewise constant in x, so x's tangent contributes nothing.
  jvp: ([t, x], [dt], p) => [[selectAndGatherAdd(t, x, windowParams(p), p.select)], [selectAndGatherAdd(dt, x, windowParams(p), p.select)]],
  transpose([ct], [t, x], p) {
    if (x instanceof UndefinedPrimal) throw new Error("select_and_gather_add: not linear in the operand (argument 1)");
    if (!ct || !(t instanceof UndefinedPrimal)) return [null, null];
    return [selectAndScatterAdd(ct, x as Tracer, windowParams(p), p.select), null];
  },
  batch: ([t, x], [dt, dx], p, size) => [[bind1(selectAndGatherAddP, [bdimToFront(t, dt, size), bdimToFront(x, dx, size)], batchedParams(p))], [0]],
  printParams,
});
defineCpu("select_and_gather_add", ([t, x], [out], p, [, xa], [oa]) => {
      const g = pool2x2Geometry(xa.shape, windowParams(p));
      if (g) return gather2x2(t, x, out, g, p.select === "max" ? 1 : -1);
      const picks = selectPicks(x, xa, oa.shape, p);
      for (let i = 0; i < out.length; i++) out[i] = picks[i] < 0 ? 0 : t[picks[i]];
    });

// ---------------------------------------------------------------- select_and_scatter_add
/**
 * select_and_scatter_add(s, x): an array shaped like x, zero except that each window's
 * source value s is added at x's selected position in that window. Linear in s.
 */
export const selectAndScatterAddP: Primitive = definePrimitive({
  name: "select_and_scatter_add",
  abstractEval([s, x], p) {
    checkSelect("select_and_scatter_add", p);
    const want = windowOutShape("select_and_scatter_add", x, windowParams(p));
    if (s.dtype !== x.dtype || s.shape.join() !== want.join()) {
      throw new Error(`select_and_scatter_add: source ${s.dtype}${fmtShape(s.shape)} must be ${x.dtype}${fmtShape(want)}, the windowed shape of operand ${fmtShape(x.shape)}`);
    }
    return [x];
  },
  jvp: ([s, x], [ds], p) => [[selectAndScatterAdd(s, x, windowParams(p), p.select)], [selectAndScatterAdd(ds, x, windowParams(p), p.select)]],
  transpose([ct], [s, x], p) {
    if (x instanceof UndefinedPrimal) throw new Error("select_and_scatter_add: not linear in the operand (argument 1)");
    if (!ct || !(s instanceof UndefinedPrimal)) return [null, null];
    return [selectAndGatherAdd(ct, x as Tracer, windowParams(p), p.select), null];
  },
  batch: ([s, x], [ds, dx], p, size) => [[bind1(selectAndScatterAddP, [bdimToFront(s, ds, size), bdimToFront(x, dx, size)], batchedParams(p))], [0]],
  printParams,
});
defineCpu("select_and_scatter_add", ([s, x], [out], p, [sa, xa]) => {
      const g = pool2x2Geometry(xa.shape, windowParams(p));
      if (g) return scatter2x2(s, x, out, g, p.select === "max" ? 1 : -1);
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
    });

// ---------------------------------------------------------------- binders (explicit params, no defaults)
const copyParams = (p: WindowParams) => ({ window: [...p.window], strides: [...p.strides], padding: p.padding.map(([lo, hi]) => [lo, hi]) });

export function reduceWindowSum(x: Tracer, p: WindowParams): Tracer {
  return bind1(reduceWindowSumP, [x], copyParams(p));
}
export function reduceWindowMax(x: Tracer, p: WindowParams): Tracer {
  return bind1(reduceWindowMaxP, [x], copyParams(p));
}
export function reduceWindowMin(x: Tracer, p: WindowParams): Tracer {
  return bind1(reduceWindowMinP, [x], copyParams(p));
}
export function selectAndGatherAdd(t: Tracer, x: Tracer, p: WindowParams, select: Select = "max"): Tracer {
  return bind1(selectAndGatherAddP, [t, x], { ...copyParams(p), select });
}
export function selectAndScatterAdd(s: Tracer, x: Tracer, p: WindowParams, select: Select = "max"): Tracer {
  return bind1(selectAndScatterAddP, [s, x], { ...copyParams(p), select });
}
