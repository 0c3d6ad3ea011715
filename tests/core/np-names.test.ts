/**
 * The NumPy names composed from existing primitives (core/np/ufuncs.ts, cumulative.ts,
 * statistics.ts, matrix.ts, linalg.norm): each against a plain-JS float64 reference, jit =
 * eager, vmap = a loop, and, where differentiable, grad = central differences of the
 * reference itself.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, linalg, np, vmap, type Array as NpArray } from "../../index.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";
import { build, config, EXACT_F32, expectRef, F32, ravel, size, toArray, unravel, valuesArb, type Ref } from "./np-reference.ts";

interface NameCase {
  name: string;
  /** The function under test; `k` is a random natural number each case turns into an axis or an order. */
  f: (xs: NpArray[], k: number) => NpArray;
  ref: (rs: Ref[], k: number) => Ref;
  /** Value range of each input (all inputs share one shape). */
  domains: [number, number][];
  minRank?: number;
  maxRank?: number;
  /** Fixes the drawn shape (e.g. 3 components for cross). */
  shape?: (s: number[]) => number[];
  /** Integer-valued inputs (ties, zeros). */
  ints?: boolean;
  /** Replaces some values by NaN ("nan") or by NaN and infinities ("all"). */
  specials?: "nan" | "all";
  /** Check grad against finite differences; `at` excludes kinks (ties, integer quotients). */
  grad?: { at?: (rs: Ref[], k: number) => boolean; spread?: boolean };
  /** WebGPU (float32) tolerance of the reference check. */
  f32Tol?: number;
}

const mapRef = (r: Ref, f: (v: number, i: number) => number): Ref => ({ shape: r.shape, data: r.data.map(f) });
const unary = (f: (v: number) => number) => (rs: Ref[]) => mapRef(rs[0], f);
const binary = (f: (x: number, y: number) => number) => (rs: Ref[]) => mapRef(rs[0], (v, i) => f(v, rs[1].data[i]));
/**
 * Distinct values, at least (hi - lo) / (10 n) apart and from 0, in the drawn order: where a
 * function has ties or kinks (max, sort, abs), no finite-difference step crosses one.
 */
function spread(r: Ref, [lo, hi]: [number, number]): Ref {
  const order = r.data.map((_, i) => i).sort((i, j) => r.data[i] - r.data[j] || i - j);
  const out = r.data.slice();
  order.forEach((i, rank) => (out[i] = lo + ((hi - lo) * (rank + 0.2)) / r.data.length));
  return { shape: r.shape, data: onWebgpu ? out.map(Math.fround) : out };
}
const axisOf = (r: Ref | NpArray, k: number) => k % r.shape.length;

/** Applies `fn` to every line of r along `axis`; the line it returns replaces it (its length may change; 0 entries drops the axis when `drop`). */
function alongAxis(r: Ref, axis: number, fn: (line: number[]) => number[], drop = false): Ref {
  const others = r.shape.map((n, d) => (d === axis ? 1 : n));
  const lines = build(others, () => 0).data.map((_, i) => {
    const idx = unravel(i, others);
    return fn(
      r.shape[axis] === 0
        ? []
        : [...Array(r.shape[axis]).keys()].map(
            (j) =>
              r.data[
                ravel(
                  idx.map((v, d) => (d === axis ? j : v)),
                  r.shape,
                )
              ],
          ),
    );
  });
  const m = lines.length ? lines[0].length : 0;
  const shape = r.shape.map((n, d) => (d === axis ? m : n));
  const out = build(
    shape,
    (idx) =>
      lines[
        ravel(
          idx.map((v, d) => (d === axis ? 0 : v)),
          others,
        )
      ][idx[axis]],
  );
  return drop ? { shape: shape.filter((_, d) => d !== axis), data: out.data } : out;
}
const scanRef = (f: (a: number, b: number) => number) => (rs: Ref[], k: number) => alongAxis(rs[0], axisOf(rs[0], k), (line) => line.map((_, i) => line.slice(0, i + 1).reduce(f)));
const lineRef = (f: (line: number[]) => number) => (rs: Ref[], k: number) => alongAxis(rs[0], axisOf(rs[0], k), (l) => [f(l)], true);
const ascending = (l: number[]) => [...l].sort((a, b) => a - b);
const quantileRef = (l: number[], q: number) => {
  if (l.some(Number.isNaN)) return NaN;
  const s = ascending(l);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  return lo + 1 < s.length ? s[lo] + (s[lo + 1] - s[lo]) * (pos - lo) : s[lo];
};
const QS = [0, 0.1, 0.25, 0.5, 0.9, 1];
const ORDS = [null, 1, 2, 3, Infinity, -Infinity, 0] as const;
const floatMax = onWebgpu ? 3.4028234663852886e38 : Number.MAX_VALUE;
const remainderRef = (x: number, y: number) => x - Math.floor(x / y) * y;
const nearInteger = (v: number) => Math.abs(v - Math.round(v)) < 1e-6;

// One case a row reads as a table; Prettier would spread each over a dozen lines.
// prettier-ignore
const cases: NameCase[] = [
  // Elementwise.
  { name: "remainder", f: ([x, y]) => np.remainder(x, y), ref: binary(remainderRef), domains: [[-5, 5], [0.5, 2]], grad: { at: ([x, y]) => !x.data.some((v, i) => nearInteger(v / y.data[i])) }, f32Tol: 1e-5 },
  { name: "remainder (negative divisor)", f: ([x, y]) => np.mod(x, y), ref: binary(remainderRef), domains: [[-5, 5], [-2, -0.5]], f32Tol: 1e-5 },
  { name: "floorDivide (integers)", f: ([x, y]) => np.floorDivide(x.astype("int32"), y.astype("int32")), ref: binary((x, y) => Math.floor(x / y)), domains: [[-5, 5], [1, 3]], ints: true },
  { name: "floorDivide (negative integers)", f: ([x, y]) => np.floorDivide(x.astype("int32"), y.astype("int32")), ref: binary((x, y) => Math.floor(x / y)), domains: [[-5, 5], [-3, -1]], ints: true },
  { name: "floorDivide (by zero: inf or NaN, as NumPy)", f: ([x, y]) => np.floorDivide(x, y), ref: binary((x, y) => Math.floor(x / y)), domains: [[-2, 2], [-1, 1]], ints: true },
  { name: "floorDivide (floats)", f: ([x, y]) => np.floorDivide(x, y), ref: binary((x, y) => Math.floor(x / y)), domains: [[-5, 5], [0.5, 2]] },
  { name: "isNan (and np.isnan)", f: ([x], k) => (k % 2 ? np.isnan(x) : np.isNan(x)), ref: unary((v) => +Number.isNaN(v)), domains: [[-3, 3]], specials: "all" },
  { name: "isInf", f: ([x]) => np.isInf(x), ref: unary((v) => +(Math.abs(v) === Infinity)), domains: [[-3, 3]], specials: "all" },
  { name: "isNegInf", f: ([x]) => np.isNegInf(x), ref: unary((v) => +(v === -Infinity)), domains: [[-3, 3]], specials: "all" },
  { name: "isPosInf", f: ([x]) => np.isPosInf(x), ref: unary((v) => +(v === Infinity)), domains: [[-3, 3]], specials: "all" },
  { name: "nanToNum", f: ([x]) => np.nanToNum(x), ref: unary((v) => (Number.isNaN(v) ? 0 : v === Infinity ? floatMax : v === -Infinity ? -floatMax : v)), domains: [[-3, 3]], specials: "all" },
  { name: "isclose", f: ([x, y], k) => np.isclose(x, y, { equalNan: k % 2 === 1 }), ref: (rs, k) => binary((x, y) => +((Number.isNaN(x) && Number.isNaN(y) && k % 2 === 1) || x === y || (Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= 1e-8 + 1e-5 * Math.abs(y))))(rs), domains: [[-2, 2], [-2, 2]], ints: true, specials: "all" },
  { name: "logicalXor", f: ([x, y]) => np.logicalXor(x, y), ref: binary((x, y) => +((x !== 0) !== (y !== 0))), domains: [[-1, 1], [-1, 1]], ints: true },
  { name: "fmax", f: ([x, y]) => np.fmax(x, y), ref: binary((x, y) => (Number.isNaN(y) ? x : Number.isNaN(x) ? y : Math.max(x, y))), domains: [[-3, 3], [-3, 3]], specials: "nan" },
  { name: "fmin", f: ([x, y]) => np.fmin(x, y), ref: binary((x, y) => (Number.isNaN(y) ? x : Number.isNaN(x) ? y : Math.min(x, y))), domains: [[-3, 3], [-3, 3]], specials: "nan" },
  { name: "sinc", f: ([x]) => np.sinc(x), ref: unary((v) => (v === 0 ? 1 : Math.sin(Math.PI * v) / (Math.PI * v))), domains: [[-3, 3]], grad: {}, f32Tol: F32 },
  { name: "hypot", f: ([x, y]) => np.hypot(x, y), ref: binary(Math.hypot), domains: [[-3, -0.1], [0.1, 3]], grad: {}, f32Tol: F32 },
  { name: "cbrt", f: ([x]) => np.cbrt(x), ref: unary(Math.cbrt), domains: [[0.1, 5]], grad: {}, f32Tol: F32 },
  { name: "cbrt (negative)", f: ([x]) => np.cbrt(x), ref: unary(Math.cbrt), domains: [[-5, -0.1]], grad: {}, f32Tol: F32 },
  { name: "log2", f: ([x]) => np.log2(x), ref: unary(Math.log2), domains: [[0.1, 5]], grad: {}, f32Tol: F32 },
  { name: "log10", f: ([x]) => np.log10(x), ref: unary(Math.log10), domains: [[0.1, 5]], grad: {}, f32Tol: F32 },
  { name: "exp2", f: ([x]) => np.exp2(x), ref: unary((v) => 2 ** v), domains: [[-3, 3]], grad: {}, f32Tol: F32 },
  { name: "logaddexp2", f: ([x, y]) => np.logaddexp2(x, y), ref: binary((x, y) => Math.log2(2 ** x + 2 ** y)), domains: [[-3, 3], [-3, 3]], grad: {}, f32Tol: F32 },
  { name: "deg2rad", f: ([x]) => np.deg2rad(x), ref: unary((v) => (v * Math.PI) / 180), domains: [[-360, 360]], grad: {}, f32Tol: F32 },
  { name: "rad2deg", f: ([x]) => np.degrees(x), ref: unary((v) => (v * 180) / Math.PI), domains: [[-7, 7]], grad: {}, f32Tol: F32 },
  { name: "heaviside", f: ([x, h]) => np.heaviside(x, h), ref: binary((x, h) => (x < 0 ? 0 : x > 0 ? 1 : h)), domains: [[-2, 2], [-1, 1]], ints: true },
  { name: "arcsin", f: ([x]) => np.arcsin(x), ref: unary(Math.asin), domains: [[-0.95, 0.95]], grad: {}, f32Tol: F32 },
  { name: "arccos", f: ([x]) => np.arccos(x), ref: unary(Math.acos), domains: [[-0.95, 0.95]], grad: {}, f32Tol: F32 },
  { name: "arctan", f: ([x]) => np.arctan(x), ref: unary(Math.atan), domains: [[-5, 5]], grad: {}, f32Tol: F32 },
  { name: "sinh", f: ([x]) => np.sinh(x), ref: unary(Math.sinh), domains: [[-3, 3]], grad: {}, f32Tol: F32 },
  { name: "cosh", f: ([x]) => np.cosh(x), ref: unary(Math.cosh), domains: [[-3, 3]], grad: {}, f32Tol: F32 },
  { name: "arcsinh", f: ([x]) => np.arcsinh(x), ref: unary(Math.asinh), domains: [[-5, 5]], grad: {}, f32Tol: F32 },
  { name: "arcsinh (large)", f: ([x]) => np.arcsinh(x), ref: unary(Math.asinh), domains: [[-1e30, 1e30]], f32Tol: F32 },
  { name: "arccosh", f: ([x]) => np.arccosh(x), ref: unary(Math.acosh), domains: [[1.1, 5]], grad: {}, f32Tol: F32 },
  { name: "arctanh", f: ([x]) => np.arctanh(x), ref: unary(Math.atanh), domains: [[-0.9, 0.9]], grad: {}, f32Tol: F32 },
  // Cumulative, along axis k.
  { name: "cumsum", f: ([x], k) => np.cumsum(x, axisOf(x, k)), ref: scanRef((a, b) => a + b), domains: [[-3, 3]], minRank: 1, grad: {}, f32Tol: F32 },
  { name: "cumprod", f: ([x], k) => np.cumprod(x, { axis: axisOf(x, k) }), ref: scanRef((a, b) => a * b), domains: [[0.5, 1.5]], minRank: 1, grad: {}, f32Tol: F32 },
  { name: "cummax", f: ([x], k) => np.cummax(x, axisOf(x, k)), ref: scanRef((a, b) => Math.max(a, b)), domains: [[-3, 3]], minRank: 1, grad: { spread: true } },
  { name: "cummin", f: ([x], k) => np.cummin(x, axisOf(x, k)), ref: scanRef((a, b) => Math.min(a, b)), domains: [[-3, 3]], minRank: 1, grad: { spread: true } },
  {
    name: "diff", f: ([x], k) => np.diff(x, k % 3, axisOf(x, k)), domains: [[-3, 3]], minRank: 1, grad: {}, f32Tol: F32,
    ref: ([r], k) => alongAxis(r, axisOf(r, k), (l) => { for (let n = 0; n < k % 3; n++) l = l.slice(1).map((v, i) => v - l[i]); return l; }),
  },
  // Reductions along axis k.
  { name: "nansum", f: ([x], k) => np.nansum(x, axisOf(x, k)), ref: lineRef((l) => l.filter((v) => !Number.isNaN(v)).reduce((a, b) => a + b, 0)), domains: [[-3, 3]], minRank: 1, specials: "nan", f32Tol: F32 },
  { name: "nanmean", f: ([x], k) => np.nanmean(x, axisOf(x, k)), ref: lineRef((l) => { const v = l.filter((e) => !Number.isNaN(e)); return v.reduce((a, b) => a + b, 0) / v.length; }), domains: [[-3, 3]], minRank: 1, specials: "nan", f32Tol: F32 },
  { name: "nanmax", f: ([x], k) => np.nanmax(x, axisOf(x, k)), ref: lineRef((l) => { const v = l.filter((e) => !Number.isNaN(e)); return v.length ? Math.max(...v) : NaN; }), domains: [[-3, 3]], minRank: 1, specials: "nan" },
  { name: "nanmin", f: ([x], k) => np.nanmin(x, axisOf(x, k)), ref: lineRef((l) => { const v = l.filter((e) => !Number.isNaN(e)); return v.length ? Math.min(...v) : NaN; }), domains: [[-3, 3]], minRank: 1, specials: "nan" },
  { name: "any", f: ([x], k) => np.any(x, axisOf(x, k)), ref: lineRef((l) => +l.some((v) => v !== 0)), domains: [[-1, 1]], minRank: 1, ints: true },
  { name: "all", f: ([x], k) => np.all(x, axisOf(x, k)), ref: lineRef((l) => +l.every((v) => v !== 0)), domains: [[-1, 1]], minRank: 1, ints: true },
  { name: "countNonzero", f: ([x], k) => np.countNonzero(x, axisOf(x, k)), ref: lineRef((l) => l.filter((v) => v !== 0).length), domains: [[-1, 1]], minRank: 1, ints: true },
  { name: "ptp", f: ([x], k) => np.ptp(x, axisOf(x, k)), ref: lineRef((l) => Math.max(...l) - Math.min(...l)), domains: [[-3, 3]], minRank: 1, grad: { spread: true }, f32Tol: EXACT_F32 },
  {
    name: "average (weights)", f: ([x, w], k) => np.average(x, axisOf(x, k), { weights: w }), domains: [[-3, 3], [0.5, 2]], minRank: 1, grad: {}, f32Tol: F32,
    ref: ([x, w], k) => { const a = axisOf(x, k); const s = lineRef((l) => l.reduce((p, q) => p + q, 0)); const xw = mapRef(x, (v, i) => v * w.data[i]); const num = s([xw], a); const den = s([w], a); return mapRef(num, (v, i) => v / den.data[i]); },
  },
  { name: "median", f: ([x], k) => np.median(x, axisOf(x, k)), ref: lineRef((l) => quantileRef(l, 0.5)), domains: [[-3, 3]], minRank: 1, grad: { spread: true }, f32Tol: F32 },
  { name: "median (NaN)", f: ([x], k) => np.median(x, axisOf(x, k)), ref: lineRef((l) => quantileRef(l, 0.5)), domains: [[-3, 3]], minRank: 1, specials: "nan", f32Tol: F32 },
  { name: "quantile", f: ([x], k) => np.quantile(x, QS[k % QS.length], axisOf(x, k)), ref: (rs, k) => lineRef((l) => quantileRef(l, QS[k % QS.length]))(rs, k), domains: [[-3, 3]], minRank: 1, grad: { spread: true }, f32Tol: F32 },
  { name: "percentile (a list of q)", f: ([x], k) => np.percentile(x, [90, 10], axisOf(x, k)), ref: (rs, k) => { const a = lineRef((l) => quantileRef(l, 0.9))(rs, k); const b = lineRef((l) => quantileRef(l, 0.1))(rs, k); return { shape: [2, ...a.shape], data: [...a.data, ...b.data] }; }, domains: [[-3, 3]], minRank: 1, grad: { spread: true }, f32Tol: F32 },
  // Matrices (the last two axes, or axes chosen by k).
  { name: "triu", f: ([x], k) => np.triu(x, (k % 5) - 2), ref: ([r], k) => mapRef(r, (v, i) => { const idx = unravel(i, r.shape); return idx[idx.length - 1] - idx[idx.length - 2] >= (k % 5) - 2 ? v : 0; }), domains: [[-3, 3]], minRank: 2, grad: {} },
  { name: "tril", f: ([x], k) => np.tril(x, { k: (k % 5) - 2 }), ref: ([r], k) => mapRef(r, (v, i) => { const idx = unravel(i, r.shape); return idx[idx.length - 1] - idx[idx.length - 2] <= (k % 5) - 2 ? v : 0; }), domains: [[-3, 3]], minRank: 2, grad: {} },
  {
    name: "trace (offset and axes)", f: ([x], k) => np.trace(x, { offset: (k % 5) - 2, axis1: x.ndim - 1, axis2: 0 }), domains: [[-3, 3]], minRank: 2, grad: {}, f32Tol: F32,
    ref: ([r], k) => {
      const [a1, a2] = [r.shape.length - 1, 0];
      const rest = r.shape.flatMap((n, d) => (d === a1 || d === a2 ? [] : [n]));
      return build(rest, (idx) => {
        let s = 0;
        for (let i = 0; i < r.shape[a1]; i++) {
          const j = i + (k % 5) - 2;
          if (j < 0 || j >= r.shape[a2]) continue;
          const full: number[] = [];
          let o = 0;
          for (let d = 0; d < r.shape.length; d++) full.push(d === a1 ? i : d === a2 ? j : idx[o++]);
          s += r.data[ravel(full, r.shape)];
        }
        return s;
      });
    },
  },
  { name: "diag (vector)", f: ([x], k) => np.diag(x, (k % 5) - 2), ref: ([r], k) => { const o = (k % 5) - 2; const n = r.shape[0] + Math.abs(o); return build([n, n], ([i, j]) => (j - i === o ? r.data[Math.min(i, j)] : 0)); }, domains: [[-3, 3]], minRank: 1, maxRank: 1, grad: {} },
  { name: "kron", f: ([x, y]) => np.kron(x, y), ref: ([a, b]) => build(a.shape.map((n, d) => n * b.shape[d]), (idx) => a.data[ravel(idx.map((v, d) => Math.floor(v / b.shape[d])), a.shape)] * b.data[ravel(idx.map((v, d) => v % b.shape[d]), b.shape)]), domains: [[-3, 3], [-3, 3]], maxRank: 3, grad: {} },
  {
    name: "cross", f: ([x, y]) => np.cross(x, y), domains: [[-3, 3], [-3, 3]], minRank: 1, maxRank: 3, shape: (s) => [...s.slice(0, -1), 3], grad: {}, f32Tol: F32,
    ref: ([a, b]) => build(a.shape, (idx) => {
      const c = idx[idx.length - 1];
      const g = (r: Ref, j: number) => r.data[ravel([...idx.slice(0, -1), j], r.shape)];
      const [i, j] = [(c + 1) % 3, (c + 2) % 3];
      return g(a, i) * g(b, j) - g(a, j) * g(b, i);
    }),
  },
  { name: "meshgrid", f: ([x, y], k) => np.stack(np.meshgrid(x, y, { indexing: k % 2 ? "ij" : "xy" })), ref: ([a, b], k) => { const [n, m] = [a.data.length, b.data.length]; const s = k % 2 ? [n, m] : [m, n]; const X = build(s, ([i, j]) => (k % 2 ? a.data[i] : a.data[j])); const Y = build(s, ([i, j]) => (k % 2 ? b.data[j] : b.data[i])); return { shape: [2, ...s], data: [...X.data, ...Y.data] }; }, domains: [[-3, 3], [-3, 3]], maxRank: 2, grad: {} },
  {
    name: "linalg.norm (vector orders)", f: ([x], k) => linalg.norm(x, ORDS[k % ORDS.length], axisOf(x, k)), domains: [[-3, 3]], minRank: 1, f32Tol: F32,
    grad: { spread: true, at: (_, k) => ORDS[k % ORDS.length] !== 0 },
    ref: (rs, k) => lineRef((l) => { const p = ORDS[k % ORDS.length]; const m = l.map(Math.abs); return p === null ? Math.hypot(...l) : p === Infinity ? Math.max(...m) : p === -Infinity ? Math.min(...m) : p === 0 ? m.filter((v) => v !== 0).length : m.reduce((s, v) => s + v ** p, 0) ** (1 / p); })(rs, k),
  },
  {
    name: "linalg.norm (matrix orders)", f: ([x], k) => linalg.norm(x, (["fro", 1, -1, Infinity, -Infinity] as const)[k % 5]), domains: [[-3, 3]], minRank: 2, maxRank: 2, f32Tol: F32, grad: { spread: true },
    ref: ([r], k) => {
      const [n, m] = r.shape;
      const ord = (["fro", 1, -1, Infinity, -Infinity] as const)[k % 5];
      const a = (i: number, j: number) => Math.abs(r.data[i * m + j]);
      const cols = [...Array(m).keys()].map((j) => [...Array(n).keys()].reduce((s, i) => s + a(i, j), 0));
      const rows = [...Array(n).keys()].map((i) => [...Array(m).keys()].reduce((s, j) => s + a(i, j), 0));
      const v = ord === "fro" ? Math.hypot(...r.data) : ord === 1 ? Math.max(...cols) : ord === -1 ? Math.min(...cols) : ord === Infinity ? Math.max(...rows) : Math.min(...rows);
      return { shape: [], data: [v] };
    },
  },
];

/** A shape for the case and one value list per input. */
const inputsArb = (c: NameCase, sets = 1) =>
  fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: c.minRank ?? 0, maxLength: c.maxRank ?? 3 })
    .map((s) => (c.shape ? c.shape(s) : s))
    .chain((shape) =>
      fc
        .tuple(fc.nat(60), fc.array(fc.tuple(...c.domains.map(([lo, hi]) => valuesArb(shape, lo, hi, c.ints))), { minLength: sets, maxLength: sets }))
        .map(([k, draws]) => ({ shape, k, draws: draws.map((vs) => vs.map((data): Ref => ({ shape, data: data.map((v) => special(c, v, lo(c))) }))) })),
    );
const lo = (c: NameCase) => c.domains[0][0];
/** Values at the low end of the first domain become NaN (and, with "all", infinities too). */
function special(c: NameCase, v: number, low: number): number {
  if (!c.specials) return v;
  const t = v - low;
  if (t < 0.5) return NaN;
  if (c.specials === "all" && t < 1) return Infinity;
  if (c.specials === "all" && t < 1.5) return -Infinity;
  return v;
}

/** f(xs) . ct for the reference (in JS doubles). */
const refObjective = (c: NameCase, rs: Ref[], k: number, ct: number[]) => c.ref(rs, k).data.reduce((s, v, i) => s + v * ct[i], 0);

describe("NumPy names against float64 references", () => {
  for (const c of cases) {
    it(`${c.name} matches the reference in ${FLOAT}`, async () => {
      await fc.assert(
        fc.asyncProperty(inputsArb(c), async ({ k, draws: [rs] }) => {
          const out = c.f(
            rs.map((r) => toArray(r)),
            k,
          );
          await expectRef(out, c.ref(rs, k), 1e-12, c.name, c.f32Tol ?? 0);
        }),
        config,
      );
    });

    it(`${c.name}: jit = eager, vmap = a loop`, async () => {
      await fc.assert(
        fc.asyncProperty(inputsArb(c, 3), async ({ shape, k, draws }) => {
          const eager = draws.map((rs) =>
            c.f(
              rs.map((r) => toArray(r)),
              k,
            ),
          );
          const f = (...xs: NpArray[]) => c.f(xs, k);
          const tol = onWebgpu ? 1e-5 : 1e-12;
          await expectRef(jit(f)(...draws[0].map((r) => toArray(r))), { shape: eager[0].shape, data: [...(await eager[0].data())] }, tol, `${c.name} jit`);
          const stacked = c.domains.map((_, i) => toArray({ shape: [3, ...shape], data: draws.flatMap((rs) => rs[i].data) }));
          const datas = await Promise.all(eager.map((e) => e.data()));
          await expectRef(vmap(f)(...stacked) as NpArray, { shape: [3, ...eager[0].shape], data: datas.flatMap((d) => [...d]) }, tol, `${c.name} vmap`);
        }),
        { numRuns: Math.ceil(config.numRuns / 2) },
      );
    });

    if (!c.grad) continue;
    const { at, spread: spreads } = c.grad;
    it(`${c.name}: grad = central differences of the reference`, async () => {
      await fc.assert(
        fc.asyncProperty(inputsArb(c, 2), async ({ k, draws: [drawn, dirs] }) => {
          const rs = spreads ? drawn.map((r, i) => spread(r, c.domains[i])) : drawn;
          fc.pre(!at || at(rs, k));
          const outShape = c.ref(rs, k).shape;
          const ct = Array.from({ length: size(outShape) }, (_, i) => Math.sin(i + 1));
          const ctArr = toArray({ shape: outShape, data: ct });
          const grads = grad((...xs: NpArray[]) => np.sum(np.mul(c.f(xs, k), ctArr)), { argnums: rs.map((_, i) => i) })(...rs.map((r) => toArray(r))) as NpArray[];
          let actual = 0;
          for (const [i, g] of grads.entries()) (await g.data()).forEach((v, e) => (actual += v * dirs[i].data[e]));
          const eps = 1e-6;
          const moved = (s: number) => rs.map((r, i) => mapRef(r, (v, e) => v + s * eps * dirs[i].data[e]));
          const expected = (refObjective(c, moved(1), k, ct) - refObjective(c, moved(-1), k, ct)) / (2 * eps);
          const scale = Math.abs(expected) + 1;
          expect(Math.abs(actual - expected), `${c.name}: <grad, d> = ${actual}, finite differences ${expected}`).toBeLessThanOrEqual((onWebgpu ? 2e-3 : 1e-5) * scale);
        }),
        config,
      );
    });
  }
});

describe("cumsum over long axes (blockwise products)", () => {
  it("matches running sums, and its gradient is the reversed running sum of the cotangent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 129, max: 700 }), fc.integer({ min: 1, max: 3 }), fc.integer(), async (n, rows, seed) => {
        const data = Array.from({ length: rows * n }, (_, i) => Math.sin(seed + i * 1.7));
        const r: Ref = { shape: [rows, n], data: onWebgpu ? data.map(Math.fround) : data };
        const x = toArray(r);
        // Summation order differs from a running sum: rounding grows with n (float32: ~sqrt(n) ulp of the partial sums).
        await expectRef(np.cumsum(x, 1), scanRef((a, b) => a + b)([r], 1), 1e-12, "cumsum", 1e-5);
        await expectRef(
          jit((v: NpArray) => np.cumsum(v.T, 0))(x),
          scanRef((a, b) => a + b)([{ shape: [n, rows], data: build([n, rows], ([i, j]) => r.data[j * n + i]).data }], 0),
          1e-12,
          "cumsum jit axis 0",
          1e-5,
        );
        const ct = build([rows, n], ([i, j]) => Math.cos(i + j));
        const g = grad((v: NpArray) => np.sum(np.mul(np.cumsum(v, -1), toArray(ct))))(x) as NpArray;
        await expectRef(
          g,
          alongAxis(ct, 1, (l) => l.map((_, i) => l.slice(i).reduce((a, b) => a + b, 0))),
          1e-12,
          "grad of cumsum",
          1e-5,
        );
      }),
      { numRuns: onWebgpu ? 3 : 10 },
    );
  });
});

describe("NumPy names: forms and errors", () => {
  it("positional and options forms agree", async () => {
    const x = np.array([
      [1, 5, 2],
      [4, 0, 3],
    ]);
    const same = async (a: NpArray, b: NpArray) => expect(await a.toArray()).toEqual(await b.toArray());
    await same(np.cumsum(x, 1), np.cumsum(x, { axis: 1 }));
    await same(np.cumsum(x), np.cumsum(x.reshape([-1]), 0));
    await same(np.diff(x, 1, 0), np.diff(x, { n: 1, axis: 0 }));
    await same(np.diff(x, 2), np.diff(np.diff(x)));
    await same(np.quantile(x, 0.5, 1, { keepdims: true }), np.quantile(x, 0.5, { axis: 1, keepdims: true }));
    await same(np.triu(x, 1), np.triu(x, { k: 1 }));
    await same(np.diagonal(x, 1), np.diagonal(x, { offset: 1 }));
    await same(linalg.norm(x, 1, 1), linalg.norm(x, { ord: 1, axis: 1 }));
    expect(await np.cumsum(np.array([true, true, false])).toArray()).toEqual([1, 2, 2]);
    expect(np.cumsum(np.array([true])).dtype).toBe("int32");
    await same(np.ravel(x), x.reshape([-1]));
    await same(np.hstack([x, x]), np.concatenate([x, x], 1));
    await same(np.hstack([np.ones([2]), np.zeros([1])]), np.array([1, 1, 0]));
    await same(np.vstack([np.ones([3]), x]), np.concatenate([np.ones([1, 3]), x], 0));
    expect(await np.arrayEqual(x, x.add(0)).toArray()).toBe(true);
    expect(await np.arrayEqual(x, x.T).toArray()).toBe(false);
    expect(await np.arrayEqual(np.array([NaN]), np.array([NaN])).toArray()).toBe(false);
    expect(await np.sinc(np.array([0])).toArray()).toEqual([1]);
    expect(await (grad((v: NpArray) => np.sum(np.sinc(v)))(np.array([0])) as NpArray).toArray()).toEqual([0]);
    // Methods as on NumPy arrays (x.trace is not one: a tracer's `trace` is its Trace).
    await same(x.cumsum(1), np.cumsum(x, 1));
    await same(x.cumprod(), np.cumprod(x));
    await same(x.any(0), np.any(x, 0));
    await same(x.all(), np.all(x));
    await same(x.ptp(1), np.ptp(x, 1));
    await same(x.diagonal(1), np.diagonal(x, 1));
    await same(x.clip(1, 3), np.clip(x, 1, 3));
    await same(x.div(3).round(), np.round(np.div(x, 3)));
    expect(np.floorDivide(np.array([7, 9], "uint32"), 2).dtype).toBe("uint32");
    expect(await np.isclose(np.array([1, 2], "int32"), np.array([1, 3], "int32")).toArray()).toEqual([true, false]);
    expect(await np.isnan(np.array([1], "int32")).toArray()).toEqual([false]);
  });

  it("errors name the function and the bad argument", () => {
    const x = np.ones([2, 3]);
    expect(() => np.cumsum(x, "1" as never)).toThrow(/cumsum: expected an axis/);
    expect(() => np.cumsum(x, { axes: 1 } as never)).toThrow(/cumsum: unknown option "axes"/);
    expect(() => np.cumsum(x, 2)).toThrow(/cumsum: axis 2 is out of bounds/);
    expect(() => np.diff(x, -1)).toThrow(/diff: expected a number of differences/);
    expect(() => np.nanToNum(x, { pos_inf: 1 } as never)).toThrow(/nanToNum: unknown option "pos_inf"/);
    expect(() => np.quantile(x, 1.5)).toThrow(/quantile: q must be/);
    expect(() => np.quantile(x, 0.5, { method: "cubic" } as never)).toThrow(/quantile: method must be one of/);
    expect(() => np.triu(np.ones([3]))).toThrow(/triu: needs an array of rank >= 2/);
    expect(() => np.cross(np.ones([4]), np.ones([4]))).toThrow(/cross: both vectors must have 3/);
    expect(() => linalg.norm(x, 2)).toThrow(/linalg.norm: matrix ord 2 needs singular values/);
    expect(() => np.meshgrid(np.ones([2]), { indexing: "ji" } as never)).toThrow(/meshgrid: indexing must be one of/);
    expect(() => np.average(x, 1, { weights: np.ones([2]) })).toThrow(/average: weights \[2\]/);
  });
});
