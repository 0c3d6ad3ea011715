/** The functions of `optim/index.ts` as written; index.ts exports them wrapped by namedApi. */
export {
  applyUpdates,
  identity,
  scale,
  scaleByLearningRate,
  scaleBySchedule,
  addDecayedWeights,
  type GradientTransformation,
  type OptState,
  type Params,
  type Updates,
  type LearningRate,
} from "./transform.ts";
export { chain, multiTransform, type Labels } from "./combine.ts";
export { clipByGlobalNorm, globalNorm } from "./clip.ts";
export { trace, sgd } from "./sgd.ts";
export { scaleByAdam, adam, adamw, type AdamOpts } from "./adam.ts";
export { constantSchedule, linearSchedule, cosineDecay, piecewiseConstant, joinSchedules, warmupCosine, exponentialDecay, type Schedule } from "./schedules.ts";
