/**
 * Optimisers in the optax style: pure `{ init, update }` gradient transformations
 * composed with `chain`, learning-rate schedules, clipping, weight decay and
 * per-group settings with `multiTransform`. State is a pytree of arrays, so a whole
 * train step can be jitted.
 *
 * @example
 * import * as optim from "augerino/optim";
 * const tx = optim.adam({ lr: optim.warmupCosine({ peak: 1e-3, warmupSteps: 100, decaySteps: 1000 }) });
 * let state = tx.init(params);
 * const step = jit((params, state, x, y) => {
 *   const grads = grad(loss)(params, x, y);
 *   const { updates, state: next } = tx.update(grads, state, params);
 *   return [optim.applyUpdates(params, updates), next];
 * });
 */
import * as api from "./api.ts";
import { namedApi } from "../core/options.ts";

export type * from "./api.ts";
// Every error from these names the function the caller called (core/options.ts, namedApi).
export const {
  applyUpdates,
  identity,
  scale,
  scaleByLearningRate,
  scaleBySchedule,
  addDecayedWeights,
  chain,
  multiTransform,
  clipByGlobalNorm,
  globalNorm,
  trace,
  sgd,
  scaleByAdam,
  adam,
  adamw,
  constantSchedule,
  linearSchedule,
  cosineDecay,
  piecewiseConstant,
  joinSchedules,
  warmupCosine,
  exponentialDecay,
} = namedApi("optim", api);
