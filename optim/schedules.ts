/**
 * Schedules map a step count to a value (a learning rate, usually), with optax's
 * semantics. The count is an array that `jit` traces, so every schedule is written
 * with np ops (np.where, np.cos, np.minimum) rather than JS branches on the count.
 */
import * as np from "../core/np.ts";
import { asArray, type ArrayLike } from "../core/convert.ts";
import { isFloat } from "../core/dtype.ts";
import type { Tracer } from "../core/tracer.ts";
import { checkOptions } from "../core/options.ts";

/** step count (int or float scalar array, or a JS number) -> scalar value array. */
export type Schedule = (count: ArrayLike) => Tracer;

/**
 * The count as a float array. Integer counts become float32 (exact up to 2^24 steps);
 * a float64 count stays float64 so float64 runs get float64 schedules.
 */
function floatCount(count: ArrayLike): Tracer {
  const c = asArray(count);
  return isFloat(c.dtype) ? c : c.astype("float32");
}

/** A value that never changes. @example optim.constantSchedule(0.1)(7) // 0.1 */
export function constantSchedule(value: number): Schedule {
  return (count) => np.fullLike(floatCount(count), value);
}

/**
 * Linear interpolation from `init` to `end` over `transitionSteps` steps (starting at
 * `transitionBegin`), then held at `end`; optax's linear_schedule.
 * @example optim.linearSchedule({ init: 0, end: 1, transitionSteps: 10 })(5) // 0.5
 */
export function linearSchedule(opts: { init: number; end: number; transitionSteps: number; transitionBegin?: number }): Schedule {
  checkOptions("optim.linearSchedule", opts, ["init", "end", "transitionSteps", "transitionBegin"]);
  const { init, end, transitionSteps } = opts;
  const begin = Math.max(0, opts.transitionBegin ?? 0);
  // optax holds the initial value when there is nothing to interpolate over.
  if (transitionSteps <= 0) return constantSchedule(init);
  return (count) => {
    const t = np.clip(floatCount(count).sub(begin), 0, transitionSteps);
    const frac = np.sub(1, t.div(transitionSteps));
    return frac.mul(init - end).add(end);
  };
}

/**
 * Cosine decay from `init` to `alpha * init` over `decaySteps`, then held:
 * init * ((1 - alpha) * (0.5 * (1 + cos(pi * min(t, T) / T)))^exponent + alpha).
 * @example optim.cosineDecay({ init: 0.1, decaySteps: 100 })(50) // 0.05
 */
export function cosineDecay(opts: { init: number; decaySteps: number; alpha?: number; exponent?: number }): Schedule {
  checkOptions("optim.cosineDecay", opts, ["init", "decaySteps", "alpha", "exponent"]);
  const { init, decaySteps } = opts;
  const alpha = opts.alpha ?? 0;
  const exponent = opts.exponent ?? 1;
  if (!(decaySteps > 0)) throw new Error(`cosineDecay: decaySteps must be positive, got ${decaySteps}`);
  return (count) => {
    const t = np.minimum(floatCount(count), decaySteps);
    const cosine = np
      .cos(t.mul(Math.PI / decaySteps))
      .add(1)
      .mul(0.5);
    const shaped = exponent === 1 ? cosine : cosine.pow(exponent);
    return shaped.mul((1 - alpha) * init).add(alpha * init);
  };
}

/**
 * `init` times the product of the factors of all boundaries already reached
 * (count >= boundary, as optax's piecewise_constant_schedule computes it).
 * @example
 * const lr = optim.piecewiseConstant({ init: 0.1, boundaries: { 100: 0.1, 150: 0.1 } });
 * lr(99) // 0.1;  lr(100) // 0.01;  lr(200) // 0.001
 */
export function piecewiseConstant(opts: { init: number; boundaries?: Record<number, number> }): Schedule {
  checkOptions("optim.piecewiseConstant", opts, ["init", "boundaries"]);
  const entries = Object.entries(opts.boundaries ?? {})
    .map(([b, f]) => [Number(b), f] as const)
    .sort((a, b) => a[0] - b[0]);
  for (const [b, f] of entries) {
    if (!Number.isFinite(b)) throw new Error(`piecewiseConstant: boundary ${JSON.stringify(b)} is not a number`);
    if (!(f >= 0)) throw new Error(`piecewiseConstant: the factor at boundary ${b} must be non-negative, got ${f}`);
  }
  return (count) => {
    const c = floatCount(count);
    let v = np.fullLike(c, opts.init);
    // onesLike keeps the count's dtype, so a float64 schedule does not round f to float32.
    for (const [b, f] of entries) v = v.mul(np.where(c.less(b), np.onesLike(c), f));
    return v;
  };
}

/**
 * `schedules[0]` until `boundaries[0]`, then `schedules[1]` counted from that boundary,
 * and so on (optax's join_schedules).
 * @example optim.joinSchedules([optim.constantSchedule(1), optim.constantSchedule(2)], [10])(10) // 2
 */
export function joinSchedules(schedules: Schedule[], boundaries: number[]): Schedule {
  if (schedules.length !== boundaries.length + 1) {
    throw new Error(`joinSchedules: ${schedules.length} schedules need ${schedules.length - 1} boundaries, got ${boundaries.length}`);
  }
  return (count) => {
    const c = floatCount(count);
    let out = schedules[0](c);
    boundaries.forEach((b, i) => {
      out = np.where(c.less(b), out, schedules[i + 1](c.sub(b)));
    });
    return out;
  };
}

/**
 * Linear warmup from `init` (default 0) to `peak` over `warmupSteps`, then cosine
 * decay to `end` (default 0) at step `decaySteps` (which counts the warmup, as optax's
 * warmup_cosine_decay_schedule).
 * @example
 * const lr = optim.warmupCosine({ peak: 1e-3, warmupSteps: 100, decaySteps: 1000 });
 * lr(50) // 5e-4;  lr(100) // 1e-3;  lr(1000) // 0
 */
export function warmupCosine(opts: { init?: number; peak: number; warmupSteps: number; decaySteps: number; end?: number; exponent?: number }): Schedule {
  checkOptions("optim.warmupCosine", opts, ["init", "peak", "warmupSteps", "decaySteps", "end", "exponent"]);
  const { peak, warmupSteps, decaySteps } = opts;
  const end = opts.end ?? 0;
  if (!(decaySteps > warmupSteps)) {
    throw new Error(`warmupCosine: decaySteps (${decaySteps}) counts the warmup and must exceed warmupSteps (${warmupSteps})`);
  }
  const alpha = peak === 0 ? 0 : end / peak;
  return joinSchedules(
    [linearSchedule({ init: opts.init ?? 0, end: peak, transitionSteps: warmupSteps }), cosineDecay({ init: peak, decaySteps: decaySteps - warmupSteps, alpha, exponent: opts.exponent })],
    [warmupSteps],
  );
}

/**
 * init * rate^(t / transitionSteps) after `transitionBegin` (floored when `staircase`),
 * optionally bounded by `end`; optax's exponential_decay.
 * @example optim.exponentialDecay({ init: 1, transitionSteps: 10, decayRate: 0.5 })(20) // 0.25
 */
export function exponentialDecay(opts: { init: number; transitionSteps: number; decayRate: number; transitionBegin?: number; staircase?: boolean; end?: number }): Schedule {
  checkOptions("optim.exponentialDecay", opts, ["init", "transitionSteps", "decayRate", "transitionBegin", "staircase", "end"]);
  const { init, transitionSteps, decayRate } = opts;
  if (transitionSteps <= 0 || decayRate === 0) return constantSchedule(init);
  const begin = Math.max(0, opts.transitionBegin ?? 0);
  return (count) => {
    const t = floatCount(count).sub(begin);
    let p = t.div(transitionSteps);
    if (opts.staircase) p = np.floor(p);
    let v = np.where(t.lessEqual(0), init, np.pow(decayRate, p).mul(init));
    // The bound is a floor when decaying and a ceiling when growing.
    if (opts.end !== undefined) v = decayRate < 1 ? np.maximum(v, opts.end) : np.minimum(v, opts.end);
    return v;
  };
}
