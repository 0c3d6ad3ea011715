/** Fully connected layer: y = x W^T + b, with W [out, in] as in PyTorch. */
import { np } from "../index.ts";
import { kaimingUniformDefault } from "./init.ts";
import { checkApplyOptions, splitKeys, type Layer } from "./layer.ts";
import { checkOptions } from "../core/options.ts";

/**
 * @example const layer = nn.dense(10); const { params } = layer.init(key, [1, 64]);
 */
export function dense(features: number, opts: { bias?: boolean } = {}): Layer {
  checkOptions("nn.dense", opts, ["bias"]);
  const useBias = opts.bias ?? true;
  if (!Number.isInteger(features) || features <= 0) throw new Error(`dense: features must be a positive integer, got ${features}`);
  return {
    name: `dense(${features})`,
    init(key, inputShape) {
      const fanIn = inputShape[inputShape.length - 1];
      if (inputShape.length < 2) throw new Error(`dense: input shape [${inputShape}] needs a batch axis and a feature axis`);
      const [kw, kb] = splitKeys(key, 2);
      const params = {
        weight: kaimingUniformDefault(kw, [features, fanIn], fanIn),
        bias: useBias ? kaimingUniformDefault(kb, [features], fanIn) : null,
      };
      return { params, state: null, outputShape: [...inputShape.slice(0, -1), features] };
    },
    apply(params, state, x, opts) {
      checkApplyOptions("dense", opts);
      const inF = params.weight.shape[1];
      if (x.shape[x.ndim - 1] !== inF) throw new Error(`dense: input [${x.shape}] has ${x.shape[x.ndim - 1]} features, the layer expects ${inF}`);
      let y = np.matmul(x, params.weight.T);
      if (params.bias) y = y.add(params.bias);
      return { y, state };
    },
  };
}
