/** Batch normalisation over all axes but the channel axis (1), with PyTorch's semantics. */
import { np, stopGradient } from "../index.ts";
import { checkApplyOptions, type Layer } from "./layer.ts";
import { checkOptions } from "../core/options.ts";

/**
 * In training, normalises with the batch statistics (biased variance) and updates the
 * running averages as `running = (1 - momentum) * running + momentum * batch` (unbiased
 * variance), as torch.nn.BatchNorm does; in evaluation, uses the running averages.
 * @example const bn = nn.batchNorm(); const { params, state } = bn.init(key, [8, 16, 28, 28]);
 */
export function batchNorm(opts: { momentum?: number; eps?: number } = {}): Layer {
  checkOptions("nn.batchNorm", opts, ["momentum", "eps"]);
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  return {
    name: "batchNorm",
    init(_key, inputShape) {
      if (inputShape.length < 2) throw new Error(`batchNorm: input shape [${inputShape}] needs a batch and a channel axis`);
      const c = inputShape[1];
      return {
        params: { weight: np.ones([c]), bias: np.zeros([c]) },
        state: { mean: np.zeros([c]), var: np.ones([c]) },
        outputShape: inputShape,
      };
    },
    apply(params, state, x, opts = {}) {
      checkApplyOptions("batchNorm", opts);
      const train = opts.train ?? false;
      if (!state || !state.mean || !state.var) throw new Error("batchNorm: apply needs the running statistics: pass the `state` that init returned (and the updated state after each training step)");
      const c = params.weight.shape[0];
      if (x.ndim < 2 || x.shape[1] !== c) throw new Error(`batchNorm: input [${x.shape}] should have ${c} channels on axis 1`);
      const axes = [0, ...[...Array(x.ndim - 2).keys()].map((i) => i + 2)];
      const bshape = x.shape.map((n, i) => (i === 1 ? n : 1));
      let mean = state.mean;
      let variance = state.var;
      let newState = state;
      if (train) {
        // Both statistics are sums over x shifted by one of its own values per channel (a
        // constant near the mean, so E[d^2] - E[d]^2 does not cancel), so they read x side by
        // side and their gradients are maps: backward needs only the sums of dy and dy * x.
        // (An empty batch has no value to shift by; its statistics are NaN either way.)
        const shift = x.size > 0 ? stopGradient(x.slice(...x.shape.map((_, i) => (i === 1 ? null : [0, 1])))) : np.zeros(bshape, { dtype: x.dtype });
        const d = x.sub(shift);
        const dMean = np.mean(d, { axis: axes });
        mean = dMean.add(shift.reshape([c]));
        variance = np.maximum(np.mean(np.square(d), { axis: axes }).sub(np.square(dMean)), 0);
        const n = axes.reduce((acc, a) => acc * x.shape[a], 1);
        const unbiased = stopGradient(variance.mul(n / Math.max(n - 1, 1)));
        newState = {
          mean: state.mean.mul(1 - momentum).add(stopGradient(mean).mul(momentum)),
          var: state.var.mul(1 - momentum).add(unbiased.mul(momentum)),
        };
      }
      // y = x * scale + offset with per-channel scale and offset: the gradient's only sums
      // over x are those of dy (for the offset) and dy * x (for the scale).
      const scale = np.rsqrt(variance.add(eps)).mul(params.weight);
      const offset = params.bias.sub(mean.mul(scale));
      const y = x.mul(scale.reshape(bshape)).add(offset.reshape(bshape));
      return { y, state: newState };
    },
  };
}
