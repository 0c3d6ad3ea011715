/**
 * Color-space augmentations (the paper's Fig. 8): brightness, contrast, saturation and hue as
 * one-parameter groups acting on pixel values, with widths learned like the affine family's.
 *
 * Saturation and hue act on RGB as exp(s G_sat + h G_hue): G_sat = I - P scales the
 * chromatic part (P projects onto the gray axis u = (1, 1, 1)/sqrt 3), G_hue = [u]x rotates
 * it about the gray axis. They commute, and [u]x^2 = -(I - P), so the exponential is
 * P + e^s (cos h (I - P) + sin h [u]x): a hue width of 2 pi covers every hue. Gray pixels
 * are left alone by both. Brightness adds b to every channel; contrast scales each image's
 * deviation from its mean by e^c. All four commute with each other (the matrix keeps the
 * gray axis, hence each image's mean).
 */
import { np, random, type Tracer } from "../index.ts";
import { checkOptions } from "../core/options.ts";
import { initTheta, maskedWidth, type AugDist } from "./distributions.ts";

/** The color generators, in the order their widths are listed when all are used. */
export const COLOR_GENERATORS = ["brightness", "contrast", "saturation", "hue"] as const;
export type ColorGenerator = (typeof COLOR_GENERATORS)[number];

export interface ColorOpts {
  /** Which generators act, in this order in theta and the widths (default brightness and contrast). */
  generators?: ColorGenerator[];
  /** Initial widths per generator (softplus of theta), or one for all (default 0.1). */
  initWidth?: number | number[];
  /** Which generators learn their width (default all); the others keep their initial width. */
  trainable?: boolean[];
}

const INV_SQRT3 = 1 / Math.sqrt(3);
const GRAY = [
  [1, 1, 1],
  [1, 1, 1],
  [1, 1, 1],
].map((r) => r.map((v) => v / 3)); // P
const CHROMA = GRAY.map((r, i) => r.map((v, j) => (i === j ? 1 : 0) - v)); // I - P
const HUE = [
  [0, -INV_SQRT3, INV_SQRT3],
  [INV_SQRT3, 0, -INV_SQRT3],
  [-INV_SQRT3, INV_SQRT3, 0],
]; // [u]x

/**
 * The RGB matrices exp(s G_sat + h G_hue) [n, 3, 3] for saturation and hue coefficients s, h [n].
 * @example aug.colorMatrices(np.zeros([1]), np.array([Math.PI])) // rotates every hue by half a turn
 */
export function colorMatrices(s: Tracer, h: Tracer): Tracer {
  if (typeof s?.ndim !== "number" || typeof h?.ndim !== "number") throw new Error("colorMatrices: s and h must be arrays of coefficients [n]");
  if (s.ndim !== 1 || h.ndim !== 1 || s.shape[0] !== h.shape[0]) throw new Error(`colorMatrices: s and h must be vectors of one length, got [${s.shape}] and [${h.shape}]`);
  const col = (v: Tracer) => v.reshape([-1, 1, 1]);
  const e = np.exp(col(s));
  // Built in the coefficients' dtype, so float64 runs keep float64 constants.
  const mat = (m: number[][]) => np.array(m, { dtype: s.dtype });
  const chroma = mat(CHROMA)
    .mul(np.cos(col(h)))
    .add(mat(HUE).mul(np.sin(col(h))));
  return mat(GRAY).add(e.mul(chroma));
}

function checkGenerators(gens: unknown): ColorGenerator[] {
  const list = gens ?? ["brightness", "contrast"];
  if (!Array.isArray(list) || list.length === 0 || list.some((g) => !COLOR_GENERATORS.includes(g))) {
    throw new Error(`colorJitter: generators must be a non-empty list of ${COLOR_GENERATORS.join(", ")}, got ${JSON.stringify(gens)}`);
  }
  if (new Set(list).size !== list.length) throw new Error(`colorJitter: generators are listed twice in ${JSON.stringify(list)}`);
  return list as ColorGenerator[];
}

/**
 * Brightness, contrast, saturation and hue (any of them) as a learnable distribution: with
 * coefficients uniform in [-w/2, w/2] per generator, x -> (M x - m) e^c + m + b per image,
 * M = exp(s G_sat + h G_hue) on the RGB axis (axis 1), m the image's mean. Saturation and hue
 * need 3 channels. Differentiable in the widths, so Augerino learns them; `aug.compose` chains
 * it with the affine family.
 * @example const dist = aug.colorJitter({ generators: ["brightness", "contrast", "saturation", "hue"], initWidth: 0.2 });
 */
export function colorJitter(opts: ColorOpts = {}): AugDist {
  checkOptions("aug.colorJitter", opts, ["generators", "initWidth", "trainable"]);
  const gens = checkGenerators(opts.generators);
  const k = gens.length;
  if (opts.trainable && (!Array.isArray(opts.trainable) || opts.trainable.length !== k))
    throw new Error(`colorJitter: trainable must have ${k} entries (${gens.join(", ")}), got ${JSON.stringify(opts.trainable)}`);
  const width = maskedWidth(opts.trainable);
  const at = (g: ColorGenerator) => gens.indexOf(g);
  const chromatic = at("saturation") >= 0 || at("hue") >= 0;
  return {
    name: gens.length === 2 && at("brightness") === 0 && at("contrast") === 1 ? "colorJitter" : `colorJitter(${gens.join(",")})`,
    init: () => initTheta({ initWidth: opts.initWidth }, k, 0.1),
    width,
    sample(key, theta, n) {
      const w = width(theta);
      return random.uniform(key, [n, k], { dtype: w.dtype }).sub(0.5).mul(w);
    },
    apply(x, s) {
      if (x.ndim < 2) throw new Error(`colorJitter: images must be [N, C, ...], got [${x.shape}]`);
      const [n, c] = x.shape;
      const coef = (g: ColorGenerator) => s.slice(null, at(g)).astype(x.dtype);
      const perImage = [n, ...x.shape.slice(1).map(() => 1)];
      let y = x;
      if (chromatic) {
        if (c !== 3) throw new Error(`colorJitter: saturation and hue act on RGB images [N, 3, ...], got [${x.shape}]`);
        const zero = np.zeros([n], x.dtype);
        const m = colorMatrices(at("saturation") >= 0 ? coef("saturation") : zero, at("hue") >= 0 ? coef("hue") : zero);
        y = np.einsum("nij,njp->nip", m, x.reshape([n, 3, -1])).reshape(x.shape);
      }
      if (at("contrast") >= 0) {
        const mean = np.mean(y, { axis: x.shape.slice(1).map((_, i) => i + 1), keepdims: true });
        y = y
          .sub(mean)
          .mul(np.exp(coef("contrast").reshape(perImage)))
          .add(mean);
      }
      if (at("brightness") >= 0) y = y.add(coef("brightness").reshape(perImage));
      return y;
    },
  };
}

/**
 * Several distributions applied one after another (the first given acts first), e.g. an
 * affine warp then color jitter. Theta and the widths are the parts' concatenated, in order;
 * a sample is the parts' samples flattened side by side [n, ...]. It has no inverse (a color
 * change has no meaning on a dense output), so `predictEquivariant` needs the affine part alone.
 * @example const dist = aug.compose(aug.uniformAffine(), aug.colorJitter({ generators: ["hue"] }));
 */
export function compose(...dists: AugDist[]): AugDist {
  if (dists.length === 0) throw new Error("compose: needs at least one distribution");
  dists.forEach((d, i) => {
    if (typeof d !== "object" || d === null || typeof d.sample !== "function" || typeof d.apply !== "function" || typeof d.init !== "function" || typeof d.width !== "function") {
      throw new Error(`compose: argument ${i} is not an augmentation distribution (such as aug.uniformAffine()), got ${d === null ? "null" : typeof d}`);
    }
  });
  const thetaSizes = dists.map((d) => d.init().shape[0]);
  // Each part's sample shape (beyond the batch axis), from one draw at the initial theta.
  const sampleShapes = dists.map((d) => d.sample(random.key(0), d.init(), 1).shape.slice(1));
  const sampleSizes = sampleShapes.map((s) => s.reduce((a, b) => a * b, 1));
  // The parts of theta (axis 0) or of a batch of samples (axis 1), by size.
  const split = (v: Tracer, sizes: number[], axis: 0 | 1) => {
    let at = 0;
    return sizes.map((k) => {
      const r: [number, number] = [at, (at += k)];
      return axis === 0 ? v.slice(r) : v.slice(null, r);
    });
  };
  return {
    name: `compose(${dists.map((d) => d.name).join(", ")})`,
    init: () => np.concatenate(dists.map((d) => d.init())),
    width: (theta) => np.concatenate(split(theta, thetaSizes, 0).map((t, i) => dists[i].width(t))),
    sample: (key, theta, n) => {
      const thetas = split(theta, thetaSizes, 0);
      return np.concatenate(
        dists.map((d, i) => d.sample(random.foldIn(key, i), thetas[i], n).reshape([n, -1]).astype(theta.dtype)),
        { axis: 1 },
      );
    },
    apply: (x, samples) => {
      const n = samples.shape[0];
      return split(samples, sampleSizes, 1).reduce((y, s, i) => dists[i].apply(y, s.reshape([n, ...sampleShapes[i]])), x);
    },
  };
}
