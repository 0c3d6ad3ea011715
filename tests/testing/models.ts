/**
 * Small models with known symmetries for the toolkit's tests: each check must pass on the
 * invariant ones and catch the broken ones.
 */
import { np, random, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import type { PointCloud } from "../../testing/index.ts";
import { FLOAT } from "../backend-under-test.ts";

/**
 * A sum of the pixels weighted by cos(1.3 i + 0.4) of their raster index i, and the plain sum,
 * [N, 2]: weights with no symmetry of the square, so no rotation or reflection leaves it (or a
 * partial average of it) unchanged. Any image size.
 */
export function ramp(x: Tracer): Tracer {
  const [, , h, w] = x.shape;
  const weights = np
    .cos(
      np
        .arange(h * w)
        .astype(x.dtype)
        .mul(1.3)
        .add(0.4),
    )
    .reshape([1, 1, h, w]);
  const s = np.sum(x.mul(weights), { axis: [1, 2, 3] });
  return np.stack([s, np.sum(x, { axis: [1, 2, 3] })], { axis: -1 });
}

/** The exact 3x3 matrices of the quarter turns, on the default backend. */
export const quarterTurns = () => aug.rotations90().astype(FLOAT);

/** f averaged over the given image transforms [G, 3, 3] (all four quarter turns make it C4-invariant). */
export function averaged(f: (x: Tracer) => Tracer, mats: Tracer = quarterTurns()): (x: Tracer) => Tracer {
  const dist = aug.finiteGroup(mats);
  return (x) => aug.predict((_w, xx) => f(xx), { w: null, theta: dist.init() }, random.key(0), x, { dist, output: "raw" });
}

/** A dense per-pixel model [N, 2, H, W] that is not equivariant: a channel mix plus a ramp over positions. */
export function denseRamp(x: Tracer): Tracer {
  const [n, , h, w] = x.shape;
  const pos = np
    .arange(h * w)
    .astype(x.dtype)
    .reshape([1, 1, h, w])
    .div(h * w);
  const y = np.sum(x, { axis: 1, keepdims: true });
  return np.concatenate([y.add(pos), y.mul(pos)], { axis: 1 }).reshape([n, 2, h, w]);
}

/** Pairwise squared distances [N, P, P] of the positions. */
function sqDistances(p: Tracer): Tracer {
  const d = p.reshape([p.shape[0], p.shape[1], 1, 3]).sub(p.reshape([p.shape[0], 1, p.shape[1], 3]));
  return np.sum(np.square(d), { axis: -1 });
}

/** sum over real pairs of exp(-|x_i - x_j|^2): invariant under rotations, translations and permutations. [N, 1] */
export function pairEnergy(pc: PointCloud): Tracer {
  const m = pc.mask.astype(pc.positions.dtype);
  const pairs = m.reshape([m.shape[0], -1, 1]).mul(m.reshape([m.shape[0], 1, -1]));
  return np.sum(np.exp(sqDistances(pc.positions).neg()).mul(pairs), { axis: [1, 2] }).reshape([-1, 1]);
}

/** The first point's coordinates: neither rotation nor permutation invariant. [N, 3] */
export function firstPoint(pc: PointCloud): Tracer {
  return pc.positions.slice(null, 0);
}

/** The masked centroid [N, 1, 3]: rotation equivariant (it rotates with the cloud). */
export function centroid(pc: PointCloud): Tracer {
  const m = pc.mask.astype(pc.positions.dtype).reshape([pc.mask.shape[0], -1, 1]);
  return np.sum(pc.positions.mul(m), { axis: 1, keepdims: true }).div(np.sum(m, { axis: 1, keepdims: true }));
}
