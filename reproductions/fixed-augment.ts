/**
 * Augmentations with nothing to learn, as distributions the Augerino training loop accepts:
 * none at all (the "no augmentation" arm) and the standard CIFAR recipe, a random crop of the
 * image padded by 4 zero pixels and a horizontal flip with probability 1/2 (the "fixed
 * augmentation" arm of the paper's Table 1, as the reference trains it).
 */
import { np, random, type Tracer } from "../index.ts";
import * as aug from "../augerino/index.ts";

const nothing = () => np.zeros([0]);

/** The identity: every copy is the input. */
export function noAugmentation(): aug.AugDist {
  return { name: "none", init: nothing, width: nothing, sample: (_key, theta, n) => np.zeros([n, 0], theta.dtype), apply: (x) => x };
}

/**
 * Random crop with zero padding `pad` and horizontal flips, as exact pixel shifts: a warp by an
 * integer number of pixels lands on pixel centres (alignCorners), so it copies pixels.
 */
export function cropFlip(pad = 4): aug.AugDist {
  return {
    name: `cropFlip(${pad})`,
    init: nothing,
    width: nothing,
    sample(key: Tracer, theta: Tracer, n: number) {
      const [kx, ky, kf] = [0, 1, 2].map((i) => random.foldIn(key, i));
      const shift = (k: Tracer) => random.randint(k, [n], -pad, pad + 1).astype(theta.dtype);
      const flip = np.where(random.bernoulli(kf, 0.5, [n]), -1, 1).astype(theta.dtype);
      return np.stack([shift(kx), shift(ky), flip], { axis: 1 });
    },
    apply(x: Tracer, s: Tracer) {
      const [h, w] = x.shape.slice(2);
      // Output pixel (r, q) reads input (r + dy, flip * q' + dx) in normalised coordinates, where a pixel is 2 / (side - 1).
      const dx = s.slice(null, 0).mul(2 / (w - 1));
      const dy = s.slice(null, 1).mul(2 / (h - 1));
      const f = s.slice(null, 2);
      const zero = np.zerosLike(f);
      const one = np.onesLike(f);
      const mats = np.stack([np.stack([f, zero, dx], { axis: 1 }), np.stack([zero, one, dy], { axis: 1 }), np.stack([zero, zero, one], { axis: 1 })], { axis: 1 });
      return aug.warp(x, mats.astype(x.dtype));
    },
  };
}
