/** The paper's networks, as in the reference code (widths k, 2k; NCHW inputs). */
import { batchNorm } from "./batchnorm.ts";
import { conv2d, globalAvgPool, maxPool } from "./conv.ts";
import { dense } from "./dense.ts";
import { dropout } from "./dropout.ts";
import { relu, sequential, type Layer } from "./layer.ts";
import { checkOptions } from "../core/options.ts";

export interface ModelOpts {
  inChannels?: number;
  numClasses?: number;
  /** Base width k; the paper uses 128. Small k keeps CPU runs quick. */
  k?: number;
  /** Dropout after each pooling stage and before the head. */
  dropout?: number;
}

/** conv3x3 (with bias) -> batchNorm -> ReLU. */
const convBnRelu = (out: number): Layer[] => [conv2d(out, 3, { padding: 1 }), batchNorm(), relu()];

/** The head: global mean over space, then a linear classifier. */
const head = (numClasses: number): Layer[] => [globalAvgPool(), dense(numClasses)];

/**
 * The 13-layer CNN of Laine & Aila as used by the reference code: blocks k, k, 2k | pool,
 * dropout | 2k x3 | pool, dropout | 2k x3 | dropout | global mean | linear. With k = 128,
 * 3 input channels and 10 classes it has 3,993,482 trainable parameters.
 * @example const net = nn.models.layer13({ inChannels: 1, numClasses: 10, k: 16 });
 */
const MODEL_KEYS = ["inChannels", "numClasses", "k", "dropout"] as const;

export function layer13(opts: ModelOpts = {}): Layer {
  checkOptions("nn.models.layer13", opts, MODEL_KEYS);
  const { k = 128, numClasses = 10, dropout: rate = 0.3 } = opts;
  return sequential(
    ...convBnRelu(k),
    ...convBnRelu(k),
    ...convBnRelu(2 * k),
    maxPool(2),
    dropout(rate),
    ...convBnRelu(2 * k),
    ...convBnRelu(2 * k),
    ...convBnRelu(2 * k),
    maxPool(2),
    dropout(rate),
    ...convBnRelu(2 * k),
    ...convBnRelu(2 * k),
    ...convBnRelu(2 * k),
    dropout(rate),
    ...head(numClasses),
  );
}

/**
 * The reference code's small network: the same stages with one 2k block in each of the
 * last two: k, k, 2k | pool, dropout | 2k | pool, dropout | 2k | dropout | mean | linear.
 */
export function smallConv(opts: ModelOpts = {}): Layer {
  checkOptions("nn.models.smallConv", opts, MODEL_KEYS);
  const { k = 32, numClasses = 10, dropout: rate = 0.3 } = opts;
  return sequential(
    ...convBnRelu(k),
    ...convBnRelu(k),
    ...convBnRelu(2 * k),
    maxPool(2),
    dropout(rate),
    ...convBnRelu(2 * k),
    maxPool(2),
    dropout(rate),
    ...convBnRelu(2 * k),
    dropout(rate),
    ...head(numClasses),
  );
}
