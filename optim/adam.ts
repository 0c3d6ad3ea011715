/** Adam's moment estimates (optax's scale_by_adam), Adam and AdamW. */
import * as np from "../core/np.ts";
import type { DType } from "../core/dtype.ts";
import type { Tracer } from "../core/tracer.ts";
import { map } from "../core/tree.ts";
import { chain } from "./combine.ts";
import { checkOptions } from "../core/options.ts";
import { addDecayedWeights, incrementCount, initCount, scaleByLearningRate, type GradientTransformation, type LearningRate, type Updates } from "./transform.ts";

export interface AdamOpts {
  b1?: number;
  b2?: number;
  eps?: number;
  /** Added inside the square root (optax's eps_root); 0 as in PyTorch. */
  epsRoot?: number;
}

const ADAM_KEYS = ["b1", "b2", "eps", "epsRoot"] as const;

type AdamState = { count: Tracer; mu: Updates; nu: Updates };

/**
 * Rescales updates by bias-corrected moment estimates:
 * m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,  u = m_hat / (sqrt(v_hat + epsRoot) + eps),
 * with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) and t the step, counted from 1.
 * @example optim.chain(optim.scaleByAdam({ b1: 0.9 }), optim.scaleByLearningRate(1e-3)) // = optim.adam({ lr: 1e-3 })
 */
export function scaleByAdam(opts: AdamOpts = {}): GradientTransformation {
  checkOptions("optim.scaleByAdam", opts, ADAM_KEYS);
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 } = opts;
  return {
    init: (params) => ({
      count: initCount(),
      mu: map((p: Tracer) => np.zerosLike(p), params),
      nu: map((p: Tracer) => np.zerosLike(p), params),
    }),
    update: (updates, state) => {
      const s = state as AdamState;
      const mu = map((g: Tracer, m: Tracer) => g.mul(1 - b1).add(m.mul(b1)), updates, s.mu);
      const nu = map(
        (g: Tracer, v: Tracer) =>
          g
            .mul(g)
            .mul(1 - b2)
            .add(v.mul(b2)),
        updates,
        s.nu,
      );
      const count = incrementCount(s.count);
      // Bias corrections in each leaf's own dtype (so float64 runs stay float64), computed once per dtype.
      const corrections = new Map<string, [Tracer, Tracer]>();
      const correction = (dtype: DType): [Tracer, Tracer] => {
        let c = corrections.get(dtype);
        if (!c) {
          const t = count.astype(dtype);
          c = [np.sub(1, np.pow(b1, t)), np.sub(1, np.pow(b2, t))];
          corrections.set(dtype, c);
        }
        return c;
      };
      const out = map(
        (m: Tracer, v: Tracer) => {
          const [c1, c2] = correction(m.dtype);
          return m.div(c1).div(v.div(c2).add(epsRoot).sqrt().add(eps));
        },
        mu,
        nu,
      );
      return { updates: out, state: { count, mu, nu } };
    },
  };
}

/**
 * Adam (Kingma & Ba), numerically as torch.optim.Adam and optax.adam. For PyTorch's
 * L2 `weight_decay`, put `addDecayedWeights(wd)` before `scaleByAdam` in a chain.
 * @example
 * const tx = optim.adam({ lr: 1e-3 });
 * const state = tx.init(params);
 */
export function adam(opts: AdamOpts & { lr: LearningRate }): GradientTransformation {
  checkOptions("optim.adam", opts, [...ADAM_KEYS, "lr"]);
  const { lr, ...moments } = opts;
  return chain(scaleByAdam(moments), scaleByLearningRate(lr));
}

/**
 * Adam with decoupled weight decay: p <- p - lr * (adam_update + weightDecay * p),
 * as optax.adamw and torch.optim.AdamW (weightDecay defaults to optax's 1e-4).
 * @example const tx = optim.adamw({ lr: 1e-3, weightDecay: 1e-2 });
 */
export function adamw(opts: AdamOpts & { lr: LearningRate; weightDecay?: number }): GradientTransformation {
  checkOptions("optim.adamw", opts, [...ADAM_KEYS, "lr", "weightDecay"]);
  const { lr, weightDecay = 1e-4, ...moments } = opts;
  return chain(scaleByAdam(moments), addDecayedWeights(weightDecay), scaleByLearningRate(lr));
}
