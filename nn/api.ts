/** The functions of `nn/index.ts` as written; index.ts exports them wrapped by namedApi. */
export { sequential, relu, leakyRelu, gelu, flatten, stateless, type Layer, type ApplyOpts, type InitResult } from "./layer.ts";
export { dense } from "./dense.ts";
export { conv2d, maxPool, avgPool, globalAvgPool, type Conv2dOpts } from "./conv.ts";
export { batchNorm } from "./batchnorm.ts";
export { pointConv, pointPool, type PointConvOpts } from "./pointconv.ts";
export { dropout, spatialDropout } from "./dropout.ts";
export { crossEntropy, mse, mae, accuracy } from "./losses.ts";
export { kaimingUniformDefault, heNormal, glorotUniform } from "./init.ts";
export * as models from "./models.ts";
export { save, load, saveBytes, loadBytes } from "./checkpoint.ts";
