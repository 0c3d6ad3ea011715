/** Gradient clipping by the norm of the whole update tree. */
import * as np from "../core/np.ts";
import type { Tracer } from "../core/tracer.ts";
import { leaves, map } from "../core/tree.ts";
import type { GradientTransformation, Updates } from "./transform.ts";

/**
 * sqrt of the sum of squares of every element of every leaf (a scalar array).
 * @example optim.globalNorm({ a: np.array([3]), b: np.array([4]) }) // 5
 */
export function globalNorm(updates: Updates): Tracer {
  const ls = leaves<Tracer>(updates);
  if (ls.length === 0) return np.zeros([]);
  return np.sqrt(ls.map((l) => np.sum(np.square(l))).reduce((a, b) => a.add(b)));
}

/**
 * Rescales the whole update tree to global norm `maxNorm` when its norm exceeds it
 * (torch.nn.utils.clip_grad_norm_ / optax.clip_by_global_norm); directions are kept.
 * @example optim.chain(optim.clipByGlobalNorm(1.0), optim.adam({ lr: 1e-3 }))
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`);
  return {
    init: () => ({}),
    update: (updates, state) => {
      const norm = globalNorm(updates);
      const small = norm.less(maxNorm);
      // np.where rather than a JS branch, so the choice is traced under jit.
      const clipped = map((u: Tracer) => np.where(small, u, u.div(norm.astype(u.dtype)).mul(maxNorm)), updates);
      return { updates: clipped, state };
    },
  };
}
