/** Momentum (optax's `trace`) and SGD built from it. */
import type { Tracer } from "../core/tracer.ts";
import { map } from "../core/tree.ts";
import * as np from "../core/np.ts";
import { chain } from "./combine.ts";
import { checkOptions } from "../core/options.ts";
import { identity, scaleByLearningRate, type GradientTransformation, type LearningRate, type Updates } from "./transform.ts";

/**
 * Heavy-ball momentum: t <- g + decay * t, output t (or g + decay * t with Nesterov).
 * From a zero trace this is PyTorch SGD's buffer (which starts at g) with dampening 0.
 * @example optim.chain(optim.trace({ decay: 0.9 }), optim.scaleByLearningRate(0.1)) // = optim.sgd({ lr: 0.1, momentum: 0.9 })
 */
export function trace(opts: { decay: number; nesterov?: boolean }): GradientTransformation {
  checkOptions("optim.trace", opts, ["decay", "nesterov"]);
  const { decay, nesterov = false } = opts;
  return {
    init: (params) => ({ trace: map((p: Tracer) => np.zerosLike(p), params) }),
    update: (updates, state) => {
      const prev = (state as { trace: Updates }).trace;
      const next = map((g: Tracer, t: Tracer) => g.add(t.mul(decay)), updates, prev);
      const out = nesterov ? map((g: Tracer, t: Tracer) => g.add(t.mul(decay)), updates, next) : next;
      return { updates: out, state: { trace: next } };
    },
  };
}

/**
 * Stochastic gradient descent with optional (Nesterov) momentum, as torch.optim.SGD
 * with dampening 0. `lr` may be a schedule.
 * @example
 * const tx = optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true });
 * let state = tx.init(params);
 * const { updates, state: next } = tx.update(grad(loss)(params), state, params);
 * params = optim.applyUpdates(params, updates);
 */
export function sgd(opts: { lr: LearningRate; momentum?: number; nesterov?: boolean }): GradientTransformation {
  checkOptions("optim.sgd", opts, ["lr", "momentum", "nesterov"]);
  const { lr, momentum = 0, nesterov = false } = opts;
  if (momentum < 0) throw new Error(`sgd: momentum must be non-negative, got ${momentum}`);
  return chain(momentum > 0 ? trace({ decay: momentum, nesterov }) : identity(), scaleByLearningRate(lr));
}
