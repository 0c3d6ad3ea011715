/** Composition: `chain` runs transformations in sequence, `multiTransform` per parameter group. */
import { broadcastPrefix, flatten, unflatten, type PyTree } from "../core/tree.ts";
import type { Tracer } from "../core/tracer.ts";
import type { GradientTransformation, OptState, Params, Updates } from "./transform.ts";

/**
 * Applies transformations in order, each to the previous one's output; the state is
 * the list of their states.
 * @example
 * const tx = optim.chain(optim.clipByGlobalNorm(1), optim.scaleByAdam(), optim.scaleByLearningRate(1e-3));
 */
export function chain(...transforms: GradientTransformation[]): GradientTransformation {
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update: (updates, state, params) => {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        throw new Error(`chain: expected the state of ${transforms.length} transformations (a list, from this chain's init), got ${describe(state)}`);
      }
      let u = updates;
      const next = transforms.map((t, i) => {
        const r = t.update(u, state[i], params);
        u = r.updates;
        return r.state;
      });
      return { updates: u, state: next };
    },
  };
}

function describe(x: unknown): string {
  return Array.isArray(x) ? `a list of ${x.length}` : x === null ? "null" : typeof x;
}

/** Labels for multiTransform: a pytree of label strings matching the params, or a prefix of them. */
export type Labels = PyTree<string>;

/**
 * Different transformations for different parameter groups, e.g. weight decay on the
 * network weights but not on the augmentation parameters. `labels(params)` (or a fixed
 * tree) gives each leaf, or each subtree through a prefix, a key of `transforms`. Each
 * transformation sees the params/updates with the other groups' leaves set to null,
 * so its state holds only its own group.
 * @example
 * const tx = optim.multiTransform(
 *   { w: optim.adamw({ lr: 1e-3, weightDecay: 5e-4 }), theta: optim.adam({ lr: 1e-3 }) },
 *   () => ({ w: "w", theta: "theta" }),
 * );
 * const state = tx.init({ w: netParams, theta: augParams });
 */
export function multiTransform(transforms: Record<string, GradientTransformation>, labels: Labels | ((params: Params) => Labels)): GradientTransformation {
  const names = Object.keys(transforms);
  const flatLabels = (tree: Updates, labelSource: Params): string[] => {
    const prefix = typeof labels === "function" ? labels(labelSource) : labels;
    const flat = broadcastPrefix<string>(prefix, tree, "multiTransform labels");
    for (const l of flat) {
      if (typeof l !== "string" || !Object.hasOwn(transforms, l)) {
        throw new Error(`multiTransform: label ${JSON.stringify(l)} has no transformation; the transformations are {${names.join(", ")}}`);
      }
    }
    return flat;
  };
  // null is a leafless node in our pytrees, so a masked tree flattens to exactly its group's leaves, in order.
  const mask = (tree: Updates, flat: string[], name: string): Updates => {
    const [leaves, def] = flatten<Tracer>(tree);
    return unflatten(
      def,
      leaves.map((x, i) => (flat[i] === name ? x : null)),
    );
  };
  return {
    init: (params) => {
      const flat = flatLabels(params, params);
      return Object.fromEntries(names.map((n) => [n, transforms[n].init(mask(params, flat, n))]));
    },
    update: (updates, state, params) => {
      const flat = flatLabels(updates, params ?? updates);
      const states = state as Record<string, OptState>;
      const [, def] = flatten(updates);
      const out: (Tracer | undefined)[] = new Array(flat.length);
      const next: Record<string, OptState> = {};
      for (const n of names) {
        if (!states || !(n in states)) throw new Error(`multiTransform: the state has no entry for label "${n}"; build it with this transformation's init`);
        const r = transforms[n].update(mask(updates, flat, n), states[n], params === undefined ? undefined : mask(params, flat, n));
        next[n] = r.state;
        const [got] = flatten<Tracer>(r.updates);
        const slots = flat.flatMap((l, i) => (l === n ? [i] : []));
        if (got.length !== slots.length) throw new Error(`multiTransform: transformation "${n}" returned ${got.length} updates for ${slots.length} parameters`);
        slots.forEach((slot, j) => (out[slot] = got[j]));
      }
      return { updates: unflatten(def, out as Tracer[]), state: next };
    },
  };
}
