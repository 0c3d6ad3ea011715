/** Parameter initialisers with PyTorch's defaults, so reference hyperparameters transfer. */
import type { Tracer } from "../index.ts";
import { random } from "../index.ts";

/**
 * PyTorch's default for Linear and Conv weights: kaiming_uniform with a = sqrt(5),
 * i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)). Biases use the same bound.
 */
export function kaimingUniformDefault(key: Tracer, shape: number[], fanIn: number): Tracer {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return random.uniform(key, shape, { minval: -bound, maxval: bound });
}

/** He (Kaiming) normal for ReLU networks: N(0, 2 / fanIn). */
export function heNormal(key: Tracer, shape: number[], fanIn: number): Tracer {
  return random.normal(key, shape).mul(Math.sqrt(2 / fanIn));
}

/** Glorot (Xavier) uniform: U(-sqrt(6 / (fanIn + fanOut)), +). */
export function glorotUniform(key: Tracer, shape: number[], fanIn: number, fanOut: number): Tracer {
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  return random.uniform(key, shape, { minval: -bound, maxval: bound });
}
