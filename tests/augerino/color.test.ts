import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, linalg, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import { Rng } from "../cases/types.ts";
import { maxDiffAsync } from "../helpers.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";

const ALL = ["brightness", "contrast", "saturation", "hue"] as const;
const INV_SQRT3 = 1 / Math.sqrt(3);

describe("color transformations", () => {
  it("colorMatrices(s, h) is expm(s (I - P) + h [u]x) of the saturation and hue generators", async () => {
    const tol = onWebgpu ? 1e-5 : 1e-10;
    const gray = np.full([3, 3], 1 / 3, FLOAT);
    const gSat = np.eye(3, 3, { dtype: FLOAT }).sub(gray);
    const gHue = np.array(
      [
        [0, -INV_SQRT3, INV_SQRT3],
        [INV_SQRT3, 0, -INV_SQRT3],
        [-INV_SQRT3, INV_SQRT3, 0],
      ],
      { dtype: FLOAT },
    );
    await fc.assert(
      fc.asyncProperty(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -7, max: 7, noNaN: true }), async (s, h) => {
        const m = aug.colorMatrices(np.array([s], { dtype: FLOAT }), np.array([h], { dtype: FLOAT }));
        const want = linalg.expm(gSat.mul(s).add(gHue.mul(h)));
        expect(await maxDiffAsync(m.reshape([3, 3]), want)).toBeLessThan(tol * Math.exp(Math.abs(s)));
      }),
      { numRuns: 20 },
    );
  });

  it("hue turns about the gray axis: a full turn is the identity, gray is fixed, a third of a turn permutes R, G, B", async () => {
    const tol = onWebgpu ? 1e-5 : 1e-12;
    const x = new Rng(3).array([2, 3, 4, 4], FLOAT);
    const dist = aug.colorJitter({ generators: ["hue"] });
    const turn = (h: number) => dist.apply(x, np.full([2, 1], h, FLOAT));
    expect(await maxDiffAsync(turn(2 * Math.PI), x)).toBeLessThan(tol);
    const grayImg = np.broadcastTo(x.slice(null, [0, 1]), x.shape);
    expect(await maxDiffAsync(dist.apply(grayImg, np.full([2, 1], 1.3, FLOAT)), grayImg)).toBeLessThan(tol);
    // Rotating by 2 pi / 3 about (1, 1, 1) sends R -> G -> B -> R.
    const rolled = np.stack([x.slice(null, 2), x.slice(null, 0), x.slice(null, 1)], { axis: 1 });
    expect(await maxDiffAsync(turn((2 * Math.PI) / 3), rolled)).toBeLessThan(tol);
  });

  it("brightness shifts, contrast scales about the mean, saturation scales the chroma; widths have gradients", async () => {
    const tol = onWebgpu ? 1e-5 : 1e-12;
    const x = new Rng(4).array([2, 3, 4, 4], FLOAT);
    const dist = aug.colorJitter({ generators: [...ALL], initWidth: 0.4 });
    const s = (b: number, c: number, sat: number, h: number) =>
      np.array(
        [
          [b, c, sat, h],
          [b, c, sat, h],
        ],
        { dtype: FLOAT },
      );
    expect(await maxDiffAsync(dist.apply(x, s(0.25, 0, 0, 0)), x.add(0.25))).toBeLessThan(tol);
    const mean = np.mean(x, { axis: [1, 2, 3], keepdims: true });
    expect(await maxDiffAsync(dist.apply(x, s(0, 0.5, 0, 0)), x.sub(mean).mul(Math.exp(0.5)).add(mean))).toBeLessThan(tol);
    const pixelGray = np.mean(x, { axis: 1, keepdims: true });
    expect(await maxDiffAsync(dist.apply(x, s(0, 0, -0.7, 0)), x.sub(pixelGray).mul(Math.exp(-0.7)).add(pixelGray))).toBeLessThan(tol);
    const g = grad((t: Tracer) => np.sum(np.square(aug.augment(random.key(0), dist, t, x))))(dist.init().astype(FLOAT));
    const gs = Array.from(await g.data());
    expect(
      gs.every((v) => Number.isFinite(v) && v !== 0),
      `gradients ${gs}`,
    ).toBe(true);
  });

  it("compose chains the affine family and color: theta and widths side by side, each part acting", async () => {
    const tol = onWebgpu ? 1e-5 : 1e-12;
    const x = new Rng(5).array([2, 3, 6, 6], FLOAT);
    const affine = aug.uniformAffine({ initWidth: 0.3 });
    const color = aug.colorJitter({ generators: ["hue", "saturation"], initWidth: [1, 0.2] });
    const both = aug.compose(affine, color);
    expect(both.init().shape).toEqual([8]);
    expect(await maxDiffAsync(both.width(both.init()), np.concatenate([affine.width(affine.init()), color.width(color.init())]))).toBeLessThan(1e-6);
    const samples = both.sample(random.key(1), both.init().astype(FLOAT), 2);
    expect(samples.shape).toEqual([2, 11]);
    const mats = samples.slice(null, [0, 9]).reshape([2, 3, 3]);
    const want = color.apply(affine.apply(x, mats), samples.slice(null, [9, 11]));
    expect(await maxDiffAsync(both.apply(x, samples), want)).toBeLessThan(tol);
    const g = grad((t: Tracer) => np.sum(np.square(aug.augment(random.key(2), both, t, x))))(both.init().astype(FLOAT));
    expect(Array.from(await g.data()).every(Number.isFinite)).toBe(true);
  });

  it("bad generators, channels and arguments are named in the error", () => {
    expect(() => aug.colorJitter({ generators: ["tint" as "hue"] })).toThrow(/generators must be a non-empty list/);
    expect(() => aug.colorJitter({ generators: ["hue", "hue"] })).toThrow(/twice/);
    expect(() => aug.colorJitter({ generators: ["hue"], trainable: [true, false] })).toThrow(/trainable must have 1/);
    const hue = aug.colorJitter({ generators: ["hue"] });
    expect(() => hue.apply(np.zeros([1, 1, 4, 4]), np.zeros([1, 1]))).toThrow(/RGB images/);
    expect(() => aug.compose()).toThrow(/at least one/);
    expect(() => aug.compose(hue, 3 as unknown as aug.AugDist)).toThrow(/argument 1 is not an augmentation distribution/);
  });
});
