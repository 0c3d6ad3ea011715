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
export { sequential, relu, leakyRelu, gelu, flatten, stateless, type Layer, type ApplyOpts, type InitResult } from "./layer.ts";
export { dense } from "./dense.ts";
export { conv2d, maxPool, avgPool, globalAvgPool, type Conv2dOpts } from "./conv.ts";
export { batchNorm } from "./batchnorm.ts";
export { dropout, spatialDropout } from "./dropout.ts";
export { crossEntropy, mse, mae, accuracy } from "./losses.ts";
export { kaimingUniformDefault, heNormal, glorotUniform } from "./init.ts";
export * as models from "./models.ts";
export { save, load } from "./checkpoint.ts";
