/** Dropout and spatial (channel) dropout; active only in training, and then keyed. */
import { np, random, type Tracer } from "../index.ts";
import { checkApplyOptions, type Layer } from "./layer.ts";

function dropoutLayer(name: string, rate: number, maskShape: (x: Tracer) => number[]): Layer {
  if (!(rate >= 0 && rate < 1)) throw new Error(`${name}: rate must be in [0, 1), got ${rate}`);
  return {
    name: `${name}(${rate})`,
    init: (_key, inputShape) => ({ params: null, state: null, outputShape: inputShape }),
    apply(_params, state, x, opts = {}) {
      checkApplyOptions(name, opts);
      const { train = false, key } = opts;
      if (!train || rate === 0) return { y: x, state };
      if (!key) throw new Error(`${name}: training mode needs a key: apply(params, state, x, { train: true, key })`);
      const keep = random.bernoulli(key, 1 - rate, maskShape(x));
      // Inverted dropout: scale the kept units so evaluation needs no rescaling.
      return { y: np.where(keep, x.div(1 - rate), 0), state };
    },
  };
}

/**
 * Zeroes each element with probability `rate` during training.
 * @example nn.dropout(0.3).apply(null, null, x, { train: true, key })
 */
export const dropout = (rate = 0.5): Layer => dropoutLayer("dropout", rate, (x) => x.shape);

/** Zeroes whole channels of [N, C, ...] inputs (PyTorch's Dropout2d). */
export const spatialDropout = (rate = 0.5): Layer => dropoutLayer("spatialDropout", rate, (x) => x.shape.map((n, i) => (i < 2 ? n : 1)));
