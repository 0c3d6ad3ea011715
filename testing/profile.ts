/**
 * Soft invariance: how much f's output moves as one transformation grows, e.g. the rotation
 * angle from -pi to pi. A model trained with Augerino is invariant within the range it
 * learned and not beyond; this shows where.
 */
import { np, linalg, type Tracer } from "../index.ts";
import * as aug from "../augerino/index.ts";
import type { SampleOpts } from "../augerino/index.ts";
import { checkOptions } from "../core/options.ts";
import { batchSize } from "./actions.ts";
import { outputGap, type Reduce } from "./measures.ts";

export interface ProfileOpts {
  /** Magnitudes evaluated, evenly spaced over the range (default 41). */
  steps?: number;
  reduce?: Reduce;
  /** Translation scale of the named generators (default 0.1, as aug.generators2d). */
  transScale?: number;
  /** Warp options for images. */
  warp?: SampleOpts;
}
const PROFILE_KEYS = ["steps", "reduce", "transScale", "warp"] as const;

export interface Profile {
  generator: string;
  /** t: the transformation is expm(t G). */
  magnitudes: number[];
  /** Mean over the batch of each example's output change |f(exp(t G) x) - f(x)| (reduced per example). */
  mean: number[];
  /** Largest change over the batch. */
  max: number[];
  /**
   * For images: the mean round-trip error |g^-1 (g x) - x| of the warp itself, the part of
   * any change that comes from resampling the pixel grid, not from the model.
   */
  interpolation?: number[];
}

/** The generator as a matrix [k, k] and a name. */
function generatorOf(op: string, g: string | number | Tracer | number[][], transScale?: number): [Tracer, string] {
  const names2 = aug.GENERATOR_NAMES_2D as readonly string[];
  const names3 = aug.GENERATOR_NAMES_3D as readonly string[];
  if (typeof g === "string") {
    if (names2.includes(g)) return [aug.generators2d({ transScale }).slice(names2.indexOf(g)), g];
    if (names3.includes(g)) return [aug.generators3d({ transScale }).slice(names3.indexOf(g)), g];
    throw new Error(`${op}: unknown generator "${g}"; 2-D: ${names2.join(", ")}; 3-D: ${names3.join(", ")}`);
  }
  if (typeof g === "number") {
    if (!Number.isInteger(g) || g < 0 || g >= names2.length) throw new Error(`${op}: a generator index must be 0..${names2.length - 1} (${names2.join(", ")}), got ${g}`);
    return [aug.generators2d({ transScale }).slice(g), names2[g]];
  }
  const m = Array.isArray(g) ? np.array(g) : g;
  if (!m || m.ndim !== 2 || m.shape[0] !== m.shape[1] || (m.shape[0] !== 3 && m.shape[0] !== 4))
    throw new Error(`${op}: a generator matrix must be 3x3 (images) or 4x4 (point clouds), got ${m?.shape ? `[${m.shape}]` : typeof g}`);
  return [m, `a ${m.shape[0]}x${m.shape[0]} generator`];
}

/**
 * The output change of f along one generator: for each t in `range` (steps values),
 * |f(expm(t G) x) - f(x)| per example, summarised over the batch. `generator` is a name of
 * `aug.GENERATOR_NAMES_2D` (images) or `_3D` (point clouds [N, P, 3]), an index of the 2-D
 * ones, or a matrix.
 * @example
 * const p = await check.invarianceProfile((x) => np.softmax(apply(w, x), { axis: -1 }), images, "rotation", [-Math.PI, Math.PI]);
 * // p.magnitudes[i], p.mean[i]: how far the predicted probabilities move at angle t
 */
export async function invarianceProfile<X extends Tracer>(
  f: (x: X) => unknown,
  x: X,
  generator: string | number | Tracer | number[][],
  range: [number, number],
  opts: ProfileOpts = {},
): Promise<Profile> {
  const op = "check.invarianceProfile";
  checkOptions(op, opts, PROFILE_KEYS);
  if (typeof f !== "function") throw new Error(`${op}: f must be a function of the input, got ${typeof f}`);
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[0] <= range[1]))
    throw new Error(`${op}: range must be [lo, hi] with lo <= hi, got ${JSON.stringify(range)}`);
  const steps = opts.steps ?? 41;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${op}: steps must be a positive integer, got ${steps}`);
  const reduce = opts.reduce ?? "max";
  const [gen, name] = generatorOf(op, generator, opts.transScale);
  const n = batchSize(op, x);
  const images = gen.shape[0] === 3;
  const act = (m: Tracer) => {
    const mats = np.broadcastTo(m.reshape([1, ...m.shape]), [n, ...m.shape]).astype(x.dtype);
    return (images ? aug.warp(x, mats, opts.warp) : aug.transformPoints(mats, x)) as X;
  };
  const magnitudes = Array.from({ length: steps }, (_, i) => (steps === 1 ? range[0] : range[0] + ((range[1] - range[0]) * i) / (steps - 1)));
  const mats = linalg.expm(np.array(magnitudes, { dtype: x.dtype }).reshape([steps, 1, 1]).mul(gen.astype(x.dtype)));
  const base = f(x);
  const changes: Tracer[] = [];
  const trips: Tracer[] = [];
  for (let i = 0; i < steps; i++) {
    const m = mats.slice(i);
    changes.push(outputGap(op, f(act(m)), base, n, reduce));
    if (images) trips.push(np.mean(outputGap(op, aug.warp(act(m), np.broadcastTo(linalg.inv(m).reshape([1, 3, 3]), [n, 3, 3]).astype(x.dtype), opts.warp), x, n, reduce)));
  }
  const [all, interp] = await Promise.all([np.stack(changes).data(), images ? np.stack(trips).data() : undefined]);
  const rows = changes[0].shape[0];
  const at = (i: number) => Array.from(all.subarray(i * rows, (i + 1) * rows), Number);
  return {
    generator: name,
    magnitudes,
    mean: magnitudes.map((_, i) => at(i).reduce((s, v) => s + v, 0) / rows),
    max: magnitudes.map((_, i) => Math.max(...at(i))),
    ...(interp ? { interpolation: Array.from(interp, Number) } : {}),
  };
}
