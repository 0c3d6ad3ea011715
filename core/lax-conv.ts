/**
 * User-facing convolution and pooling (re-exported from lax): option defaults, "SAME" /
 * "VALID" padding and dtype promotion on top of the strict primitives in
 * primitives/conv.ts and primitives/window.ts.
 */
import { asArray, type ArrayLike } from "./convert.ts";
import { isFloat } from "./dtype.ts";
import { fmtShape } from "./shape.ts";
import { checkChoice, checkOptions } from "./options.ts";
import type { Tracer } from "./tracer.ts";
import { astype, div, resultType } from "./np/math.ts";
import { convGeneralDilated as bindConv, dilateDim, type ConvParams } from "./primitives/conv.ts";
import { reduceWindowMax, reduceWindowMin, reduceWindowSum, type WindowParams } from "./primitives/window.ts";

/** "VALID": no padding; "SAME": output size ceil(input / stride); a number: that much on every side; or one [lo, hi] per axis. */
export type Padding = "SAME" | "VALID" | number | readonly (readonly [number, number])[];

export interface ConvGeneralOpts {
  /** Window strides, one number for both spatial axes or [sh, sw]. Default 1. */
  strides?: number | readonly number[];
  /** Default "VALID". Explicit pairs may be negative (cropping). */
  padding?: Padding;
  /** Input dilation (transposed / fractionally strided convolution). Default 1. */
  lhsDilation?: number | readonly number[];
  /** Kernel dilation (atrous convolution). Default 1. */
  rhsDilation?: number | readonly number[];
  /** Feature groups (groups = C gives a depthwise convolution). Default 1. */
  groups?: number;
}

export interface ConvOpts {
  strides?: number | readonly number[];
  padding?: Padding;
  /** Kernel dilation. Default 1. */
  dilation?: number | readonly number[];
  groups?: number;
}

function pairOf(what: string, v: number | readonly number[] | undefined, rank: number, def: number): number[] {
  if (v === undefined) return Array(rank).fill(def);
  const arr = typeof v === "number" ? Array(rank).fill(v) : [...v];
  if (arr.length !== rank || !arr.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`${what} ${JSON.stringify(v)} must be a positive integer or ${rank} of them`);
  }
  return arr;
}

/**
 * Explicit [lo, hi] pairs for a padding spec. SAME follows TF / JAX: total padding
 * max((out - 1) * stride + window - input, 0) with out = ceil(input / stride), the odd
 * element going to the high side. `sizes` and `windows` are the effective (dilated) sizes.
 */
export function paddingPairs(what: string, padding: Padding, sizes: readonly number[], windows: readonly number[], strides: readonly number[]): [number, number][] {
  const r = sizes.length;
  if (padding === "VALID") return sizes.map(() => [0, 0]);
  if (padding === "SAME") {
    return sizes.map((n, d) => {
      const out = Math.ceil(n / strides[d]);
      const total = Math.max((out - 1) * strides[d] + windows[d] - n, 0);
      const lo = Math.floor(total / 2);
      return [lo, total - lo];
    });
  }
  if (typeof padding === "number") {
    if (!Number.isInteger(padding)) throw new Error(`${what}: padding ${padding} must be an integer`);
    return sizes.map(() => [padding, padding]);
  }
  if (!Array.isArray(padding) || padding.length !== r || !padding.every((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isInteger))) {
    throw new Error(`${what}: padding ${JSON.stringify(padding)} must be "SAME", "VALID", an integer, or ${r} integer [lo, hi] pairs`);
  }
  return padding.map(([lo, hi]) => [lo, hi]);
}

/** Converts both operands to their common floating dtype (float32 for integer inputs). */
function promoteFloat(x: ArrayLike, w: ArrayLike): [Tracer, Tracer] {
  const a = asArray(x);
  const b = asArray(w);
  let dtype = resultType(a, b);
  if (!isFloat(dtype)) dtype = "float32";
  return [astype(a, dtype), astype(b, dtype)];
}

/**
 * XLA's ConvGeneralDilated for 2D: lhs NCHW, rhs OIHW, output NCHW. With lhsDilation, SAME
 * is computed on the dilated input (output ceil(dilated size / stride)).
 * @example
 * const x = np.ones([1, 1, 5, 5]); const w = np.ones([1, 1, 3, 3]);
 * lax.convGeneralDilated(x, w, { lhsDilation: 2, padding: "SAME" }).shape // [1, 1, 9, 9]
 */
export function convGeneralDilated(x: ArrayLike, w: ArrayLike, opts: ConvGeneralOpts = {}): Tracer {
  checkOptions("lax.convGeneralDilated", opts, ["strides", "padding", "lhsDilation", "rhsDilation", "groups"]);
  const [a, b] = promoteFloat(x, w);
  if (a.ndim !== 4 || b.ndim !== 4) {
    throw new Error(`lax.conv: input ${fmtShape(a.shape)} must be NCHW and kernel ${fmtShape(b.shape)} OIHW (rank 4 each); add a batch axis with x.expandDims(0) for a single image`);
  }
  const strides = pairOf("lax.conv: strides", opts.strides, 2, 1);
  const lhsDilation = pairOf("lax.conv: lhsDilation", opts.lhsDilation, 2, 1);
  const rhsDilation = pairOf("lax.conv: dilation", opts.rhsDilation, 2, 1);
  const sizes = [0, 1].map((d) => dilateDim(a.shape[2 + d], lhsDilation[d]));
  const windows = [0, 1].map((d) => dilateDim(b.shape[2 + d], rhsDilation[d]));
  const padding = paddingPairs("lax.conv", opts.padding ?? "VALID", sizes, windows, strides) as ConvParams["padding"];
  const groups = opts.groups ?? 1;
  return bindConv(a, b, { strides: strides as [number, number], padding, lhsDilation: lhsDilation as [number, number], rhsDilation: rhsDilation as [number, number], groups });
}

/**
 * 2D convolution (cross-correlation, no kernel flip) of NCHW input with OIHW weights.
 * Output channels are grouped: with `groups` = G, w has C / G input channels and output
 * channel o reads input channels of block floor(o / (O / G)).
 * @example
 * const x = np.ones([2, 3, 8, 8]); const w = np.ones([4, 3, 3, 3]);
 * lax.conv(x, w, { strides: 2, padding: "SAME" }).shape // [2, 4, 4, 4]
 */
export function conv(x: ArrayLike, w: ArrayLike, opts: ConvOpts = {}): Tracer {
  checkOptions("lax.conv", opts, ["strides", "padding", "dilation", "groups"]);
  return convGeneralDilated(x, w, { strides: opts.strides, padding: opts.padding, rhsDilation: opts.dilation, groups: opts.groups });
}

export interface ReduceWindowOpts {
  /**
   * Window size per axis. Shorter than the rank: it covers the trailing axes (window 1,
   * stride 1, no padding on the leading ones), so `{ window: [2, 2] }` pools NCHW images.
   */
  window: readonly number[];
  /** Default 1 on every axis, as in lax.reduce_window; pass strides = window for non-overlapping pooling. */
  strides?: number | readonly number[];
  /** Default "VALID". */
  padding?: Padding;
}

/**
 * Windowed reduction ("pooling"). "max" / "min" pad with -inf / +inf; "sum" pads with 0;
 * "mean" is sum / (product of the window), so with SAME or explicit padding the padded
 * zeros count in the average (PyTorch's count_include_pad=true, its default); with VALID
 * padding it is the exact mean of each window. Gradients of max / min go to the first
 * maximal (minimal) element of each window.
 * @example
 * const x = np.arange(16).reshape([1, 1, 4, 4]);
 * lax.reduceWindow(x, "max", { window: [2, 2], strides: [2, 2] }) // [[[[5, 7], [13, 15]]]]
 */
export function reduceWindow(x: ArrayLike, op: "sum" | "max" | "min" | "mean", opts: ReduceWindowOpts): Tracer {
  checkChoice("lax.reduceWindow", "op", op, ["sum", "max", "min", "mean"]);
  checkOptions("lax.reduceWindow", opts, ["window", "strides", "padding"]);
  let a = asArray(x);
  const what = `lax.reduceWindow(${op}) of ${a.dtype}${fmtShape(a.shape)}`;
  const win = [...(opts?.window ?? [])];
  const k = win.length;
  if (k === 0 || k > a.ndim || !win.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`${what}: window ${JSON.stringify(opts?.window)} must give 1 to ${a.ndim} positive integers (for the trailing axes)`);
  }
  const strides = pairOf(`${what}: strides`, opts.strides, k, 1);
  const pads = paddingPairs(what, opts.padding ?? "VALID", a.shape.slice(a.ndim - k), win, strides);
  const lead = a.ndim - k;
  const p: WindowParams = {
    window: [...Array(lead).fill(1), ...win],
    strides: [...Array(lead).fill(1), ...strides],
    padding: [...Array.from({ length: lead }, () => [0, 0] as [number, number]), ...pads],
  };
  if (a.dtype === "bool") a = astype(a, "int32");
  switch (op) {
    case "sum":
      return reduceWindowSum(a, p);
    case "max":
      return reduceWindowMax(a, p);
    case "min":
      return reduceWindowMin(a, p);
    case "mean": {
      const f = isFloat(a.dtype) ? a : astype(a, "float32");
      return div(
        reduceWindowSum(f, p),
        win.reduce((m, n) => m * n, 1),
      );
    }
    default:
      throw new Error(`${what}: op must be "sum", "max", "min" or "mean"`);
  }
}
