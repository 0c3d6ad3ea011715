/**
 * How invariant or equivariant a function is, measured: the change of f's output when its
 * input is transformed, per sampled transformation and per example. Everything before
 * `summarize` is array code (vmapped over samples, so it can run under `jit`); `summarize`
 * reads the numbers.
 */
import { np, random, vmap, tree, type DType, type Tracer } from "../index.ts";
import { checkOptions } from "../core/options.ts";
import { actionOf, batchSize, type Action, type Transform } from "./actions.ts";

export type Reduce = "max" | "mean" | "rms";
export const REDUCES: readonly Reduce[] = ["max", "mean", "rms"];

export interface MeasureOpts {
  /** Sampled transformations (ignored for finite groups, which are checked element by element). Default 16. */
  samples?: number;
  /** Key the samples are drawn from. Default random.key(0). */
  key?: Tracer;
  /** How one example's output change is summed up: the largest absolute change (default), the mean, or the root mean square. */
  reduce?: Reduce;
  /** Quantile levels of the summary. Default [0.5, 0.9, 0.99]. */
  quantiles?: number[];
  /** Check every element of a finite group (default true); false samples it like any distribution. */
  exact?: boolean;
}
const MEASURE_KEYS = ["samples", "key", "reduce", "quantiles", "exact"] as const;

export interface ErrorReport {
  /** [S, B]: the error for each of S group elements (samples) on each of B examples (B = 1 when f's output has no batch axis). */
  errors: Tracer;
  max: Tracer;
  mean: Tracer;
  /** The quantiles of `errors` at `levels` (linear between order statistics). */
  quantiles: Tracer;
  levels: number[];
  /**
   * [S, B]: how far the input comes back after g then g^-1 (for transforms with inverses):
   * the resampling (interpolation) error of the transform itself, which even a perfectly
   * invariant model would see. Near 0 for exact transforms (90-degree rotations of square images).
   */
  interpolation?: Tracer;
  /** True when every element of a finite group was checked (no sampling). */
  exact: boolean;
}

const shapesOf = (t: unknown) => (tree.leaves(t as never) as Tracer[]).map((l) => `[${l.shape.join(", ")}]`).join(", ");

/** A float dtype to measure outputs of `dtype` in (class indices and masks count mismatches). */
const measureDtype = (dtypes: DType[]): DType => dtypes.find((d) => d.startsWith("float")) ?? "float32";

/**
 * [B]: the reduced absolute difference of two outputs of f (pytrees of the same structure)
 * per example, or [1] when some output has no leading axis of the batch size n.
 */
export function outputGap(op: string, a: unknown, b: unknown, n: number, reduce: Reduce): Tracer {
  const la = tree.leaves(a as never) as Tracer[];
  const lb = tree.leaves(b as never) as Tracer[];
  if (la.length === 0) throw new Error(`${op}: f returned no arrays`);
  if (la.length !== lb.length || la.some((l, i) => l.shape.join() !== lb[i].shape.join())) {
    throw new Error(`${op}: the outputs to compare differ in structure or shape: ${shapesOf(a)} vs ${shapesOf(b)}`);
  }
  const rows = la.every((l) => l.ndim >= 1 && l.shape[0] === n) ? n : 1;
  const dt = measureDtype(la.map((l) => l.dtype));
  const gaps = la.map((l, i) => {
    const d = l.dtype.startsWith("float") ? np.abs(l.sub(lb[i])) : np.notEqual(l, lb[i]);
    return d.astype(dt).reshape([rows, -1]);
  });
  const d = gaps.length === 1 ? gaps[0] : np.concatenate(gaps, { axis: 1 });
  if (reduce === "max") return np.max(d, { axis: 1 });
  if (reduce === "mean") return np.mean(d, { axis: 1 });
  return np.sqrt(np.mean(np.square(d), { axis: 1 }));
}

function quantilesOf(errors: Tracer, levels: number[]): Tracer {
  const flat = np.sort(errors.reshape([-1]));
  const last = flat.shape[0] - 1;
  if (levels.length === 0) return np.zeros([0], { dtype: flat.dtype });
  const lo = levels.map((q) => Math.floor(q * last));
  const hi = lo.map((i) => Math.min(i + 1, last));
  const frac = levels.map((q, i) => q * last - lo[i]);
  const at = (idx: number[]) => np.take(flat, np.array(idx, { dtype: "int32" }));
  const a = at(lo);
  return a.add(
    at(hi)
      .sub(a)
      .mul(np.array(frac, { dtype: flat.dtype })),
  );
}

function checkMeasureOpts(op: string, opts: MeasureOpts) {
  checkOptions(op, opts, MEASURE_KEYS);
  const { samples = 16, reduce = "max", quantiles = [0.5, 0.9, 0.99], exact = true } = opts;
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`${op}: samples must be a positive integer, got ${samples}`);
  if (!REDUCES.includes(reduce)) throw new Error(`${op}: reduce must be one of ${REDUCES.join(", ")}, got ${String(reduce)}`);
  if (!Array.isArray(quantiles) || quantiles.some((q) => !(q >= 0 && q <= 1))) throw new Error(`${op}: quantiles must be levels in [0, 1], got ${String(quantiles)}`);
  if (typeof exact !== "boolean") throw new Error(`${op}: exact must be true or false, got ${String(exact)}`);
  return { samples, reduce, levels: quantiles, exact, key: opts.key ?? random.key(0) };
}

/** The elements every sample uses, stacked [S, n, ...]: every element of a finite group, or S draws. */
function elementsFor<X>(a: Action<X>, x: X, n: number, o: ReturnType<typeof checkMeasureOpts>): { gs: Tracer; exact: boolean } {
  if (o.exact && a.all) {
    const all = a.all();
    return { gs: np.broadcastTo(all.reshape([all.shape[0], 1, ...all.shape.slice(1)]), [all.shape[0], n, ...all.shape.slice(1)]), exact: true };
  }
  return { gs: vmap((k: Tracer) => a.draw(k, x))(random.split(o.key, o.samples) as unknown as Tracer), exact: false };
}

function measure<X, Y>(op: string, f: (x: X) => Y, ain: Action<X>, aout: Action<Y> | null, x: X, opts: MeasureOpts): ErrorReport {
  if (typeof f !== "function") throw new Error(`${op}: f must be a function of the input, got ${typeof f}`);
  const o = checkMeasureOpts(op, opts);
  const n = batchSize(op, x);
  const base = f(x);
  const { gs, exact } = elementsFor(ain, x, n, o);
  const actOnOutput = (g: Tracer) => {
    try {
      return aout!.act(base, g);
    } catch (e) {
      throw new Error(`${op}: transformOut (${aout!.name}) cannot act on f's output ${shapesOf(base)}: ${(e as Error).message}`, { cause: e });
    }
  };
  const errors = vmap((g: Tracer) => outputGap(op, f(ain.act(x, g)), aout ? actOnOutput(g) : base, n, o.reduce))(gs);
  const inverse = ain.inverse;
  const interpolation = inverse ? vmap((g: Tracer) => outputGap(op, ain.act(ain.act(x, g), inverse(g)), x, n, o.reduce))(gs) : undefined;
  return { errors, max: np.max(errors), mean: np.mean(errors), quantiles: quantilesOf(errors, o.levels), levels: o.levels, exact, ...(interpolation ? { interpolation } : {}) };
}

/**
 * The invariance error |f(g x) - f(x)| (reduced per example) for sampled g, or for every g
 * of a finite group. `transform` is an augmentation distribution (with its `theta`, or at
 * its initial widths), a group from `check.groups`, or a function (key, x) => g x.
 * @example
 * const r = check.invarianceError(f, aug.finiteGroup(aug.rotations90()), x);
 * console.log((await check.summarize(r)).max); // 0 up to rounding for a C4-invariant f
 */
export function invarianceError<X>(f: (x: X) => unknown, transform: Transform<X>, x: X, opts: MeasureOpts = {}): ErrorReport {
  const op = "check.invarianceError";
  return measure(op, f, actionOf(op, transform), null, x, opts);
}

/**
 * The equivariance error |f(g x) - g' f(x)|, where g acts on inputs as `transformIn` and on
 * outputs as `transformOut`, with the same element: `transformOut` only acts (its own
 * sampling is not used). A function given as `transformOut` receives the element that
 * `transformIn` drew (a key, when `transformIn` is a function of a key) and f's output.
 * @example
 * const dist = aug.finiteGroup(aug.rotations90());
 * check.equivarianceError(segment, dist, dist, images) // segmentation maps rotate with the image
 */
export function equivarianceError<X, Y>(f: (x: X) => Y, transformIn: Transform<X>, transformOut: Transform<Y>, x: X, opts: MeasureOpts = {}): ErrorReport {
  const op = "check.equivarianceError";
  return measure(op, f, actionOf(op, transformIn), actionOf(op, transformOut), x, opts);
}

export interface Summary {
  max: number;
  mean: number;
  /** Keyed by level, e.g. { "0.5": ..., "0.99": ... }. */
  quantiles: Record<string, number>;
  /** Where the largest error is: sample (group element) and example indices. */
  worst: { sample: number; example: number; error: number };
  /** The transform's own round-trip (interpolation) error, where it has inverses. */
  interpolation?: { max: number; mean: number };
  samples: number;
  exact: boolean;
}

/**
 * Reads a report's numbers (one asynchronous read per array, so it works on every backend).
 * @example const { max, quantiles } = await check.summarize(check.invarianceError(f, dist, x));
 */
export async function summarize(r: ErrorReport): Promise<Summary> {
  const [errors, max, mean, qs, interp] = await Promise.all([r.errors, r.max, r.mean, r.quantiles, r.interpolation].map((t) => t?.data()));
  const width = r.errors.shape[1];
  let at = 0;
  for (let i = 1; i < errors!.length; i++) if (!(errors![i] <= errors![at])) at = i;
  const quantiles = Object.fromEntries(r.levels.map((q, i) => [String(q), Number(qs![i])]));
  const interpolation = interp ? { max: Math.max(...Array.from(interp, Number)), mean: Array.from(interp, Number).reduce((s, v) => s + v, 0) / interp.length } : undefined;
  return {
    max: Number(max![0]),
    mean: Number(mean![0]),
    quantiles,
    worst: { sample: Math.floor(at / width), example: at % width, error: Number(errors![at]) },
    ...(interpolation ? { interpolation } : {}),
    samples: r.errors.shape[0],
    exact: r.exact,
  };
}
