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
export {
  applyUpdates, identity, scale, scaleByLearningRate, scaleBySchedule, addDecayedWeights,
  type GradientTransformation, type OptState, type Params, type Updates, type LearningRate,
} from "./transform.ts";
export { chain, multiTransform, type Labels } from "./combine.ts";
export { clipByGlobalNorm, globalNorm } from "./clip.ts";
export { trace, sgd } from "./sgd.ts";
export { scaleByAdam, adam, adamw, type AdamOpts } from "./adam.ts";
export {
  constantSchedule, linearSchedule, cosineDecay, piecewiseConstant, joinSchedules, warmupCosine, exponentialDecay,
  type Schedule,
} from "./schedules.ts";
