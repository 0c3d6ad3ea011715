/**
 * Neural-network layers as pure `{ init, apply }` pairs over parameter pytrees, the
 * paper's models, losses and checkpoints.
 *
 * @example
 * import * as nn from "augerino/nn";
 * const net = nn.sequential(nn.conv2d(16, 3), nn.relu(), nn.globalAvgPool(), nn.dense(10));
 * const { params, state } = net.init(random.key(0), [1, 1, 28, 28]);
 * const { y } = net.apply(params, state, x, { train: false });
 */
import * as api from "./api.ts";
import { namedApi } from "../core/options.ts";

export type * from "./api.ts";
// Every error from these names the function the caller called (core/options.ts, namedApi).
export const {
  sequential,
  relu,
  leakyRelu,
  gelu,
  flatten,
  stateless,
  dense,
  conv2d,
  maxPool,
  avgPool,
  globalAvgPool,
  batchNorm,
  pointConv,
  pointPool,
  dropout,
  spatialDropout,
  crossEntropy,
  mse,
  mae,
  accuracy,
  kaimingUniformDefault,
  heNormal,
  glorotUniform,
  save,
  load,
  saveBytes,
  loadBytes,
} = namedApi("nn", api);
export const models = namedApi("nn.models", api.models);
