/**
 * The optax vocabulary: a gradient transformation is a pair of pure functions
 * `{ init, update }`. All optimiser state is a pytree of arrays (the step count
 * included, as an int32 scalar) so that a whole train step can be staged by `jit`.
 */
import * as np from "../core/np.ts";
import { asArray } from "../core/convert.ts";
import { isFloat, type DType } from "../core/dtype.ts";
import type { Tracer } from "../core/tracer.ts";
import { leaves, map, type PyTree } from "../core/tree.ts";
import type { Schedule } from "./schedules.ts";
import { checkOptions } from "../core/options.ts";

/** A pytree of arrays: parameters, gradients or updates. */
export type Updates = PyTree<Tracer>;
export type Params = PyTree<Tracer>;
/** Optimiser state: a pytree of arrays (never JS numbers, so it can cross `jit`). */
export type OptState = PyTree<Tracer>;

export interface GradientTransformation {
  /** The initial state for these parameters. */
  init(params: Params): OptState;
  /** Transforms `updates` (gradients at first) and returns the new state. */
  update(updates: Updates, state: OptState, params?: Params): { updates: Updates; state: OptState };
}

/** A learning rate: a constant, or a schedule from the step count to a value. */
export type LearningRate = number | Schedule;

/**
 * Adds updates to params leaf by leaf, keeping each parameter's dtype (a float64
 * learning rate must not silently widen float32 weights).
 * @example
 * const { updates, state } = tx.update(grads, optState, params);
 * params = optim.applyUpdates(params, updates);
 */
export function applyUpdates<P>(params: P, updates: Updates): P {
  return map(
    (p: Tracer, u: Tracer) => {
      const out = p.add(u);
      return out.dtype === p.dtype ? out : out.astype(p.dtype);
    },
    params as Params,
    updates,
  ) as P;
}

/**
 * Leaves updates unchanged; a placeholder in `chain` or `multiTransform`.
 * @example optim.multiTransform({ train: optim.adam({ lr: 1e-3 }), frozen: optim.scale(0) }, labels)
 */
export function identity(): GradientTransformation {
  return { init: () => ({}), update: (updates, state) => ({ updates, state }) };
}

/**
 * Multiplies updates by a constant factor.
 * @example optim.chain(optim.scaleByAdam(), optim.scale(-1e-3)) // = optim.adam({ lr: 1e-3 })
 */
export function scale(factor: number): GradientTransformation {
  return {
    init: () => ({}),
    update: (updates, state) => ({ updates: map((u: Tracer) => u.mul(factor), updates), state }),
  };
}

/** A fresh step count: an int32 scalar array, so it is traced (not baked in) under jit. */
export function initCount(): Tracer {
  return np.zeros([], { dtype: "int32" });
}

const INT32_MAX = 2 ** 31 - 1;

/** count + 1, saturating at the int32 maximum instead of wrapping to negative steps (as optax). */
export function incrementCount(count: Tracer): Tracer {
  return np.where(count.less(INT32_MAX), count.add(1), INT32_MAX);
}

/**
 * The float dtype schedules are evaluated in: float64 when any update is float64
 * (so float64 reference runs see exact learning rates), float32 otherwise.
 */
export function scheduleDType(updates: Updates): DType {
  return leaves<Tracer>(updates).some((u) => u.dtype === "float64") ? "float64" : "float32";
}

/** Multiplies each leaf by a scalar array cast to the leaf's dtype (optax casts the same way). */
function scaleLeaves(updates: Updates, factor: Tracer): Updates {
  return map((u: Tracer) => u.mul(isFloat(u.dtype) && factor.dtype !== u.dtype ? factor.astype(u.dtype) : factor), updates);
}

/**
 * Multiplies updates by `schedule(count)` and counts steps; the first update uses
 * `schedule(0)`, as optax's scale_by_schedule.
 * @example optim.chain(optim.scaleByAdam(), optim.scaleBySchedule(optim.cosineDecay({ init: -1e-3, decaySteps: 1000 })))
 */
export function scaleBySchedule(schedule: Schedule): GradientTransformation {
  return {
    init: () => ({ count: initCount() }),
    update: (updates, state) => {
      const { count } = state as { count: Tracer };
      const factor = asArray(schedule(count.astype(scheduleDType(updates))));
      return { updates: scaleLeaves(updates, factor), state: { count: incrementCount(count) } };
    },
  };
}

/**
 * Multiplies updates by -lr (descent), lr a number or a schedule of the step count.
 * `flipSign: false` gives +lr, for ascent or for composing a custom sign.
 * @example
 * const tx = optim.chain(optim.scaleByAdam(), optim.scaleByLearningRate(optim.cosineDecay({ init: 1e-3, decaySteps: 1000 })));
 */
export function scaleByLearningRate(lr: LearningRate, opts: { flipSign?: boolean } = {}): GradientTransformation {
  checkOptions("optim.scaleByLearningRate", opts, ["flipSign"]);
  const sign = opts.flipSign === false ? 1 : -1;
  if (typeof lr === "number") return scale(sign * lr);
  if (typeof lr !== "function") throw new TypeError(`scaleByLearningRate: lr must be a number or a schedule (count => value), got ${typeof lr}`);
  return scaleBySchedule((count) => np.mul(lr(count), sign));
}

/**
 * Adds `weightDecay * params` to the updates: placed before `scaleByAdam` this is
 * L2 regularisation (PyTorch Adam's weight_decay); after it, decoupled decay (AdamW).
 * @example
 * // torch.optim.Adam(params, lr=1e-3, weight_decay=5e-4):
 * const tx = optim.chain(optim.addDecayedWeights(5e-4), optim.scaleByAdam(), optim.scaleByLearningRate(1e-3));
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation {
  return {
    init: () => ({}),
    update: (updates, state, params) => {
      if (params === undefined) throw new Error("addDecayedWeights: update needs params (call tx.update(grads, state, params))");
      if (weightDecay === 0) return { updates, state };
      return { updates: map((u: Tracer, p: Tracer) => u.add(p.mul(weightDecay)), updates, params), state };
    },
  };
}
