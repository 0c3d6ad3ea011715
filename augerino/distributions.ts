/**
 * Augmentation distributions mu_theta. Each is a plain object of pure functions:
 * `init()` gives the raw parameters theta, `sample(key, theta, n)` draws n transforms,
 * `width(theta)` the interpretable widths, `apply(x, samples)` transforms a batch
 * (one sample per example) and, for affine families, `inverse(samples)` undoes them.
 */
import { np, random, linalg, stopGradient, type Tracer } from "../index.ts";
import { generators2d, generators3d, GENERATOR_NAMES_2D, GENERATOR_NAMES_3D } from "./generators.ts";
import { warp, transformPoints, type SampleOpts } from "./warp.ts";
import { checkOptions } from "../core/options.ts";

export interface AugDist {
  readonly name: string;
  init(): Tracer;
  sample(key: Tracer, theta: Tracer, n: number): Tracer;
  width(theta: Tracer): Tracer;
  apply(x: Tracer, samples: Tracer): Tracer;
  /** g^-1 for each sample (affine families), used by equivariant averaging. */
  inverse?(samples: Tracer): Tracer;
  /** All elements with their probabilities, for distributions uniform over a finite group. */
  enumerate?(theta: Tracer): Tracer;
}

export const softplus = (x: Tracer) => np.softplus(x);

/** The raw value whose softplus is `w` (so widths can be given directly). */
export function inverseSoftplus(w: number): number {
  if (!(w >= 0)) throw new Error(`inverseSoftplus: width must be non-negative, got ${w}`);
  // A zero width maps to a raw value whose softplus underflows to 0 in float32.
  if (w === 0) return -104;
  return w > 20 ? w : Math.log(Math.expm1(w));
}

export interface AffineOpts {
  /** Initial widths per generator (softplus of the raw parameters), or one width for all. */
  initWidth?: number | number[];
  /** Raw initial parameters (before softplus); overrides initWidth. The reference's rotMNIST: [-5,-5,1,-5,-5,-5]. */
  initRaw?: number[];
  transScale?: number;
  /**
   * Which generators learn their width (default all). The others keep their initial width:
   * e.g. learn only the rotation, as in the paper's Mario-Iggy figure.
   */
  trainable?: boolean[];
  /** Warp options (default: bilinear, zero padding, alignCorners true, as the reference). */
  warp?: SampleOpts;
}

const AFFINE_KEYS = ["initWidth", "initRaw", "transScale", "trainable", "warp"] as const;

export function initTheta(opts: AffineOpts, k: number, dflt: number): Tracer {
  if (opts.initRaw) {
    if (opts.initRaw.length !== k) throw new Error(`initRaw must have ${k} entries, got ${opts.initRaw.length}`);
    return np.array(opts.initRaw);
  }
  const w = opts.initWidth ?? dflt;
  const ws = typeof w === "number" ? new Array<number>(k).fill(w) : w;
  if (ws.length !== k) throw new Error(`initWidth must have ${k} entries, got ${ws.length}`);
  return np.array(ws.map(inverseSoftplus));
}

/** softplus(theta), with no gradient to the raw parameters of generators marked untrainable. */
export function maskedWidth(trainable?: boolean[]): (theta: Tracer) => Tracer {
  const mask = trainable ? np.array(trainable) : null;
  return (theta) => (mask ? np.where(mask, softplus(theta), stopGradient(softplus(theta))) : softplus(theta));
}

/** An affine family's generators, their names (for messages) and how a batch of its matrices acts. */
interface AffineKind {
  gens: Tracer;
  names: readonly string[];
  apply(x: Tracer, mats: Tracer): Tracer;
}

const planar = (opts: AffineOpts): AffineKind => ({ gens: generators2d({ transScale: opts.transScale }), names: GENERATOR_NAMES_2D, apply: (x, mats) => warp(x, mats, opts.warp) });

function affineFamily(name: string, opts: AffineOpts, kind: AffineKind, coeffs: (key: Tracer, width: Tracer, n: number) => Tracer): AugDist {
  const { gens, names } = kind;
  const k = names.length;
  if (opts.trainable && opts.trainable.length !== k) throw new Error(`${name}: trainable must have ${k} entries (${names.join(", ")}), got ${opts.trainable.length}`);
  const width = maskedWidth(opts.trainable);
  return {
    name: opts.trainable ? `${name}(trainable ${opts.trainable.map(Number).join("")})` : name,
    init: () => initTheta(opts, k, 0.1),
    width,
    sample(key, theta, n) {
      const eps = coeffs(key, width(theta), n); // [n, k]
      return linalg.expm(np.einsum("nk,kij->nij", eps, gens.astype(eps.dtype)));
    },
    apply: kind.apply,
    inverse: (mats) => linalg.inv(mats),
  };
}

const uniformCoeffs = (k: number) => (key: Tracer, width: Tracer, n: number) => random.uniform(key, [n, k]).mul(width).sub(width.div(2));

/**
 * Uniform over the Lie algebra, the reference parametrisation: u ~ U[0,1]^6 and
 * coefficients u * width - width / 2, so a generator's range is [-width/2, width/2]
 * ("width" is the full range, e.g. rotation width 2 pi covers every angle).
 * @example const dist = aug.uniformAffine({ initRaw: [-5, -5, 1, -5, -5, -5] });
 */
export function uniformAffine(opts: AffineOpts = {}): AugDist {
  checkOptions("aug.uniformAffine", opts, AFFINE_KEYS);
  return affineFamily("uniformAffine", opts, planar(opts), uniformCoeffs(6));
}

/** Gaussian over the Lie algebra: coefficients eps ~ N(0, width^2) (the segmentation experiment). */
export function gaussianAffine(opts: AffineOpts = {}): AugDist {
  checkOptions("aug.gaussianAffine", opts, AFFINE_KEYS);
  return affineFamily("gaussianAffine", opts, planar(opts), (key, width, n) => random.normal(key, [n, 6]).mul(width));
}

/**
 * Uniform over the Lie algebra of 3-D affine maps (the twelve `generators3d`, in
 * `GENERATOR_NAMES_3D` order), acting on point clouds [N, P, 3] by `transformPoints`: the
 * QM9 family. Widths are full ranges, as in `uniformAffine` (a rotation width of 2 pi covers
 * every angle in that plane). `warp` does not apply here.
 * @example const dist = aug.uniformAffine3d({ initWidth: 0.1 }); dist.apply(coords, dist.sample(key, dist.init(), coords.shape[0]))
 */
export function uniformAffine3d(opts: Omit<AffineOpts, "warp"> = {}): AugDist {
  checkOptions("aug.uniformAffine3d", opts, AFFINE_KEYS);
  if ((opts as AffineOpts).warp) throw new Error("uniformAffine3d: warp options are for images; this family acts on point clouds");
  return affineFamily("uniformAffine3d", opts, { gens: generators3d({ transScale: opts.transScale }), names: GENERATOR_NAMES_3D, apply: (x, mats) => transformPoints(mats, x) }, uniformCoeffs(12));
}

/**
 * Rotations [n, 3, 3] from quaternions (w, x, y, z) [n, 4], normalised here. Standard normal
 * quaternions give rotations uniform on SO(3) (the Haar measure).
 */
export function rotationsFromQuaternions(q: Tracer): Tracer {
  const u = q.div(np.sqrt(np.sum(np.square(q), { axis: -1, keepdims: true })));
  const [w, x, y, z] = [0, 1, 2, 3].map((i) => u.slice(null, i));
  const one = np.onesLike(w);
  const row = (...es: Tracer[]) => np.stack(es, { axis: -1 });
  const two = (a: Tracer, b: Tracer) => a.mul(b).mul(2);
  return np.stack(
    [
      row(one.sub(two(y, y)).sub(two(z, z)), two(x, y).sub(two(w, z)), two(x, z).add(two(w, y))),
      row(two(x, y).add(two(w, z)), one.sub(two(x, x)).sub(two(z, z)), two(y, z).sub(two(w, x))),
      row(two(x, z).sub(two(w, y)), two(y, z).add(two(w, x)), one.sub(two(x, x)).sub(two(y, y))),
    ],
    { axis: -2 },
  );
}

/**
 * Rotations of point clouds [N, P, 3] uniform on SO(3) (the Haar measure), with no learnable
 * width: averaging a model over many of them makes it rotation invariant up to Monte Carlo
 * error, as the fixed SO(3) augmentation baseline of the paper's QM9 table does.
 * @example const dist = aug.uniformSO3(); const rotated = dist.apply(coords, dist.sample(key, dist.init(), coords.shape[0]));
 */
export function uniformSO3(...args: never[]): AugDist {
  if (args.length > 0) throw new Error("uniformSO3: takes no arguments (its rotations are uniform on SO(3), with nothing to learn)");
  return {
    name: "uniformSO3",
    init: () => np.zeros([0]),
    width: () => np.zeros([0]),
    sample: (key, theta, n) => rotationsFromQuaternions(random.normal(key, [n, 4], { dtype: theta.dtype })),
    apply(x, r) {
      if (x.ndim !== 3 || x.shape[2] !== 3) throw new Error(`uniformSO3: point clouds must be [N, P, 3], got [${x.shape}]`);
      return np.einsum("nij,npj->npi", r.astype(x.dtype), x);
    },
    inverse: (r) => np.transpose(r, [0, 2, 1]),
  };
}

/**
 * Uniform over a finite group of 2-D affine maps given as 3x3 matrices [G, 3, 3] (e.g. the
 * four 90-degree rotations). It has no learnable width; `enumerate` lists the group so
 * averaging over it is exact.
 */
export function finiteGroup(elements: Tracer, opts: { warp?: SampleOpts } = {}): AugDist {
  checkOptions("aug.finiteGroup", opts, ["warp"]);
  if (elements.ndim !== 3 || elements.shape[1] !== 3 || elements.shape[2] !== 3) throw new Error(`finiteGroup: elements must be [G, 3, 3], got [${elements.shape}]`);
  const g = elements.shape[0];
  return {
    name: `finiteGroup(${g})`,
    init: () => np.zeros([0]),
    width: () => np.zeros([0]),
    sample: (key, _theta, n) => np.take(elements, random.randint(key, [n], 0, g), { axis: 0, mode: "clip" }),
    apply: (x, mats) => warp(x, mats, opts.warp),
    inverse: (mats) => linalg.inv(mats),
    enumerate: () => elements,
  };
}

/** The four rotations by multiples of 90 degrees, exactly. */
export function rotations90(): Tracer {
  return np.array(
    [0, 1, 2, 3].map((k) => {
      const c = [1, 0, -1, 0][k];
      const s = [0, 1, 0, -1][k];
      return [
        [c, -s, 0],
        [s, c, 0],
        [0, 0, 1],
      ];
    }),
  );
}
