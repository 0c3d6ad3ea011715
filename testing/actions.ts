/**
 * One shape for everything the measures transform inputs with: an augmentation
 * distribution (with or without its theta), a group from `groups.ts`, or a plain function
 * of a key. Each becomes an Action: elements drawn from a key for a batch (or every element
 * of a finite group) and how they act, so the measures can vmap over samples and be jitted.
 */
import { np, tree, type DType, type Tracer } from "../index.ts";
import type { AugDist } from "../augerino/index.ts";

/** A transformation family as the measures use it. `X` is the input (an array or a pytree of arrays). */
export interface Action<X = Tracer> {
  readonly name: string;
  /** Elements for the batch `x` (one per example, stacked on axis 0), drawn from `key`. */
  draw(key: Tracer, x: X): Tracer;
  /** Each example of `x` transformed by its element of `g` (as `draw` gives them). */
  act(x: X, g: Tracer): X;
  /** Every element [G, ...] of a finite group; the measures then check each one exactly. */
  all?(): Tracer;
  /** The inverse elements of `g`: the measures report the interpolation error of a round trip. */
  inverse?(g: Tracer): Tracer;
}

/** A transform written as a function: the same key must give the same transformation. */
export type KeyTransform<X = Tracer> = (key: Tracer, x: X) => X;

/** What the measures accept as a transformation. */
export type Transform<X = Tracer> = AugDist | { dist: AugDist; theta: Tracer } | { action: Action<X> } | KeyTransform<X>;

const isDist = (t: unknown): t is AugDist =>
  typeof t === "object" && t !== null && typeof (t as AugDist).sample === "function" && typeof (t as AugDist).apply === "function" && typeof (t as AugDist).init === "function";

/** The size of a batch: the leading axis of `x`, or of its first leaf when `x` is a pytree. */
export function batchSize(op: string, x: unknown): number {
  const leaves = tree.leaves(x as never) as Tracer[];
  if (leaves.length === 0 || leaves[0].ndim === 0) throw new Error(`${op}: the input must be a batch (an array or a pytree of arrays with a leading batch axis)`);
  return leaves[0].shape[0];
}

/** The floating dtype elements should have to act on `x` without changing its dtype. */
export function floatDtypeOf(x: unknown): DType | undefined {
  const first = (tree.leaves(x as never) as Tracer[]).find((l) => l.dtype.startsWith("float"));
  return first?.dtype;
}

/** An augmentation distribution at `theta` as an Action (elements in the dtype of the input). */
export function distAction(dist: AugDist, theta: Tracer): Action<Tracer> {
  // Elements in the input's precision: float32 rotations are orthogonal only to 1e-7, which a float64 check would see.
  const cast = (g: Tracer, x: unknown) => {
    const dt = floatDtypeOf(x);
    return dt && g.dtype !== dt && g.dtype.startsWith("float") ? g.astype(dt) : g;
  };
  const enumerate = dist.enumerate;
  const inverse = dist.inverse;
  return {
    name: dist.name,
    draw: (key, x) => dist.sample(key, cast(theta, x), batchSize(dist.name, x)),
    act: (x, g) => dist.apply(x, cast(g, x)),
    ...(enumerate ? { all: () => enumerate(theta) } : {}),
    ...(inverse ? { inverse: (g: Tracer) => inverse(g) } : {}),
  };
}

/**
 * The Action of any accepted transform. `op` names the caller in errors.
 * @example actionOf("invarianceError", aug.uniformAffine({ initWidth: 0.5 }))
 */
export function actionOf<X>(op: string, t: Transform<X>): Action<X> {
  if (typeof t === "function") {
    return { name: t.name || "a function of a key", draw: (key) => key, act: (x, key) => t(key, x) };
  }
  if (typeof t === "object" && t !== null) {
    if ("action" in t && t.action) return t.action;
    if ("dist" in t && isDist(t.dist)) return distAction(t.dist, t.theta) as unknown as Action<X>;
    if (isDist(t)) return distAction(t, t.init()) as unknown as Action<X>;
  }
  throw new Error(
    `${op}: a transform must be an augmentation distribution (aug.uniformAffine(...), aug.finiteGroup(...), ...), { dist, theta }, a group (check.groups.*), or a function (key, x) => transformed x; got ${describe(t)}`,
  );
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v !== "object") return `${typeof v} ${String(v)}`;
  return `an object with keys {${Object.keys(v).join(", ")}}`;
}

/** `g` (one element [...]) repeated for each of the n examples: [n, ...]. */
export function repeatElement(g: Tracer, n: number): Tracer {
  return np.broadcastTo(g.reshape([1, ...g.shape]), [n, ...g.shape]);
}
