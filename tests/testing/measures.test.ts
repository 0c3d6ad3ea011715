import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, jit, vmap, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import * as check from "../../testing/index.ts";
import { Rng } from "../cases/types.ts";
import { maxDiffAsync } from "../helpers.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";
import { averaged, centroid, denseRamp, firstPoint, pairEnergy, quarterTurns, ramp } from "./models.ts";

// Exact symmetries hold to rounding: 1e-12 in float64 (CPU); float32 on WebGPU, where outputs of
// order 1-10 from sums of up to 64 pixels and float32 warps (1e-6 of a pixel) agree to 1e-4.
const exactTol = onWebgpu ? 1e-4 : 1e-12;
const images = (seed: number, n: number, s: number) => new Rng(seed).array([n, 1, s, s], FLOAT);
const cloud = (seed: number, sizes: number[], pad: number): check.PointCloud =>
  fc.sample(check.arb.pointCloud({ batch: sizes.length, points: [Math.min(...sizes), Math.max(...sizes)], padding: pad, dtype: FLOAT }), { numRuns: 1, seed })[0];

describe("invarianceError", () => {
  it("is 0 up to rounding for a C4-averaged model, over every element of C4, and large for the model itself", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 7 }), async (seed, s) => {
        const x = images(seed, 3, s);
        const exact = await check.summarize(check.invarianceError(averaged(ramp), check.groups.c4(), x));
        expect(exact.exact).toBe(true);
        expect(exact.samples).toBe(4);
        expect(exact.max).toBeLessThan(exactTol);
        // Quarter turns of square images permute pixels: no interpolation error either.
        expect(exact.interpolation!.max).toBeLessThan(exactTol);
        const broken = await check.summarize(check.invarianceError(ramp, aug.finiteGroup(quarterTurns()), x));
        expect(broken.max).toBeGreaterThan(1e-3);
      }),
      { numRuns: onWebgpu ? 4 : 15 },
    );
  });

  it("per sample equals a loop over the same draws (vmap over samples = loop), and jit equals eager", async () => {
    const dist = aug.uniformAffine({ initWidth: [0.2, 0.2, 1.5, 0.1, 0.1, 0.1] });
    const theta = dist.init().astype(FLOAT);
    const x = images(3, 2, 6);
    const key = random.key(7);
    const r = check.invarianceError(ramp, { dist, theta }, x, { samples: 5, key, reduce: "rms" });
    expect(r.errors.shape).toEqual([5, 2]);
    const keys = random.split(key, 5) as unknown as Tracer;
    const base = ramp(x);
    const loop = np.stack(Array.from({ length: 5 }, (_, s) => np.sqrt(np.mean(np.square(ramp(dist.apply(x, dist.sample(keys.slice(s), theta, 2))).sub(base)), { axis: 1 }))));
    expect(await maxDiffAsync(r.errors, loop)).toBeLessThan(onWebgpu ? 1e-5 : 1e-12);
    const compiled = jit((xx: Tracer) => {
      const c = check.invarianceError(ramp, { dist, theta }, xx, { samples: 5, key, reduce: "rms" });
      return { errors: c.errors, quantiles: c.quantiles };
    })(x);
    expect(await maxDiffAsync(compiled.errors, r.errors)).toBeLessThan(onWebgpu ? 1e-5 : 1e-12);
    expect(await maxDiffAsync(compiled.quantiles, r.quantiles)).toBeLessThan(onWebgpu ? 1e-5 : 1e-12);
  });

  it("a function of a key is the same transform as its distribution, draw for draw", async () => {
    const dist = aug.uniformAffine({ initWidth: 0.4 });
    const theta = dist.init().astype(FLOAT);
    const x = images(4, 3, 5);
    const byDist = check.invarianceError(ramp, { dist, theta }, x, { samples: 4, key: random.key(3) });
    const byFn = check.invarianceError(ramp, (k: Tracer, xx: Tracer) => aug.augment(k, dist, theta, xx), x, { samples: 4, key: random.key(3) });
    expect(await maxDiffAsync(byFn.errors, byDist.errors)).toBe(0);
    expect(byFn.interpolation).toBeUndefined();
  });

  it("summaries: max, mean and quantiles agree with the errors read back, and worst points at the max", async () => {
    const x = images(9, 4, 5);
    const r = check.invarianceError(ramp, check.groups.rotations2d(), x, { samples: 7, quantiles: [0, 0.25, 0.5, 1] });
    const s = await check.summarize(r);
    const errs = Array.from(await r.errors.data(), Number);
    const sorted = [...errs].sort((a, b) => a - b);
    const tol = onWebgpu ? 1e-6 : 1e-14;
    expect(Math.abs(s.max - sorted[sorted.length - 1])).toBeLessThan(tol);
    expect(Math.abs(s.mean - errs.reduce((a, b) => a + b, 0) / errs.length)).toBeLessThan(tol);
    expect(Math.abs(s.quantiles["0"] - sorted[0])).toBeLessThan(tol);
    expect(Math.abs(s.quantiles["1"] - sorted[27])).toBeLessThan(tol);
    // Level 0.25 of 28 values sits at rank 6.75: between the 7th and 8th smallest.
    expect(Math.abs(s.quantiles["0.25"] - (sorted[6] + 0.75 * (sorted[7] - sorted[6])))).toBeLessThan(tol);
    expect(errs[s.worst.sample * 4 + s.worst.example]).toBe(s.worst.error);
    expect(s.worst.error).toBe(s.max);
    // Rotations by generic angles resample the pixel grid: a round trip does not come back exactly.
    expect(s.interpolation!.max).toBeGreaterThan(1e-3);
  });

  it("point clouds: a pair energy is invariant under SO(3), permutations and 3-D affine maps with only translation and rotation; the first point is not", async () => {
    const pc = cloud(5, [3, 5], 2);
    const so3 = await check.summarize(check.invarianceError(pairEnergy, check.groups.so3(), pc, { samples: 8 }));
    const perm = await check.summarize(check.invarianceError(pairEnergy, check.groups.permutations(), pc, { samples: 8 }));
    const rigid = await check.summarize(check.invarianceError(pairEnergy, check.groups.affine3d({ widths: [1, 1, 1, 3, 3, 3, 0, 0, 0, 0, 0, 0] }), pc, { samples: 8 }));
    for (const s of [so3, perm, rigid]) expect(s.max).toBeLessThan(exactTol * 10);
    const scaled = await check.summarize(check.invarianceError(pairEnergy, check.groups.affine3d({ widths: [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0] }), pc, { samples: 8 }));
    expect(scaled.max).toBeGreaterThan(1e-3);
    for (const g of [check.groups.so3<check.PointCloud>(), check.groups.permutations<check.PointCloud>()]) {
      expect((await check.summarize(check.invarianceError(firstPoint, g, pc, { samples: 8 }))).max).toBeGreaterThan(1e-3);
    }
    // aug.uniformAffine3d acts on the positions array directly.
    const dist = aug.uniformAffine3d({ initWidth: [0.5, 0.5, 0.5, 2, 2, 2, 0, 0, 0, 0, 0, 0] });
    const onPositions = (p: Tracer) => pairEnergy({ positions: p, mask: pc.mask });
    const byDist = await check.summarize(check.invarianceError(onPositions, { dist, theta: dist.init().astype(FLOAT) }, pc.positions, { samples: 8 }));
    expect(byDist.max).toBeLessThan(exactTol * 10);
  });

  it("color transforms: a per-image standardisation is invariant under brightness and contrast, raw pixels are not", async () => {
    const dist = aug.colorJitter({ initWidth: [0.5, 0.5] });
    const x = images(6, 3, 4);
    const standardise = (v: Tracer) => {
      const m = np.mean(v, { axis: [1, 2, 3], keepdims: true });
      const c = v.sub(m);
      return c.div(np.sqrt(np.mean(np.square(c), { axis: [1, 2, 3], keepdims: true })));
    };
    expect((await check.summarize(check.invarianceError(standardise, dist, x))).max).toBeLessThan(onWebgpu ? 1e-4 : 1e-12);
    expect((await check.summarize(check.invarianceError((v: Tracer) => v, dist, x))).max).toBeGreaterThan(1e-2);
  });
});

describe("equivarianceError", () => {
  it("predictEquivariant over C4 is equivariant; the dense model itself is not", async () => {
    const dist = aug.finiteGroup(quarterTurns());
    const eq = (x: Tracer) => aug.predictEquivariant((_w, xx) => denseRamp(xx), { w: null, theta: dist.init() }, random.key(0), x, { dist, output: "raw" });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 6 }), async (seed, s) => {
        const x = images(seed, 2, s);
        expect((await check.summarize(check.equivarianceError(eq, check.groups.c4(), check.groups.c4(), x))).max).toBeLessThan(exactTol);
        expect((await check.summarize(check.equivarianceError(denseRamp, dist, dist, x))).max).toBeGreaterThan(1e-3);
      }),
      { numRuns: onWebgpu ? 3 : 10 },
    );
  });

  it("the centroid of a point cloud rotates with it (outputs acted on by the same element)", async () => {
    const pc = cloud(8, [2, 4, 3], 1);
    const r = await check.summarize(check.equivarianceError(centroid, check.groups.so3(), check.groups.so3(), pc, { samples: 6 }));
    expect(r.max).toBeLessThan(exactTol * 10);
    // Invariance is the wrong claim for it, and the measure says so.
    expect((await check.summarize(check.invarianceError(centroid, check.groups.so3(), pc, { samples: 6 }))).max).toBeGreaterThan(1e-3);
  });

  it("a function acting on outputs receives the element transformIn drew", async () => {
    const dist = aug.uniformAffine({ initWidth: [0, 0, 1, 0, 0, 0] });
    const theta = dist.init().astype(FLOAT);
    const x = images(2, 2, 5);
    const byFn = check.equivarianceError(denseRamp, { dist, theta }, (g: Tracer, y: Tracer) => dist.apply(y, g), x, { samples: 3 });
    const byDist = check.equivarianceError(denseRamp, { dist, theta }, { dist, theta }, x, { samples: 3 });
    expect(await maxDiffAsync(byFn.errors, byDist.errors)).toBe(0);
  });
});

describe("bad input is a clear error", () => {
  const x = images(1, 2, 4);
  it("names an unknown option and suggests the camelCase key", () => {
    expect(() => check.invarianceError(ramp, check.groups.c4(), x, { sample: 3 } as never)).toThrow(/check\.invarianceError: unknown option "sample"; accepted: samples, key/);
    expect(() => check.invarianceError(ramp, check.groups.c4(), x, { num_samples: 3 } as never)).toThrow(/unknown option "num_samples"/);
    expect(() => check.invarianceProfile(ramp, x, "rotation", [0, 1], { n_steps: 3 } as never)).rejects.toThrow(/unknown option "n_steps"/);
  });
  it("rejects transforms, samples, reductions and generators it does not understand", async () => {
    expect(() => check.invarianceError(ramp, 3 as never, x)).toThrow(/a transform must be an augmentation distribution/);
    expect(() => check.invarianceError(ramp, check.groups.c4(), x, { samples: 0, exact: false })).toThrow(/samples must be a positive integer, got 0/);
    expect(() => check.invarianceError(ramp, check.groups.c4(), x, { reduce: "median" as never })).toThrow(/reduce must be one of max, mean, rms/);
    expect(() => check.invarianceError(ramp, check.groups.c4(), np.zeros([]))).toThrow(/the input must be a batch/);
    expect(() => check.equivarianceError(ramp, check.groups.c4(), check.groups.c4(), x)).toThrow(/transformOut \(C4\) cannot act on f's output \[2, 2\]: affineGrid: size must be \[N, C, H, W\]/);
    await expect(check.invarianceProfile(ramp, x, "spin", [0, 1])).rejects.toThrow(/unknown generator "spin"/);
    await expect(check.invarianceProfile(ramp, x, "rotation", [1, 0])).rejects.toThrow(/range must be \[lo, hi\]/);
  });
});

describe("invarianceProfile", () => {
  it("is 0 at t = 0 and at every quarter turn for a C4-averaged model, the warp's own round trip is reported, and it equals invarianceError at each angle", async () => {
    const x = images(4, 2, 6);
    const f = averaged(ramp);
    const p = await check.invarianceProfile(f, x, "rotation", [-Math.PI, Math.PI], { steps: 9 });
    expect(p.magnitudes.length).toBe(9);
    expect(p.generator).toBe("rotation");
    for (const i of [0, 2, 4, 6, 8]) expect(p.max[i]).toBeLessThan(onWebgpu ? 1e-4 : 1e-9); // multiples of pi/2
    expect(Math.max(p.max[1], p.max[3])).toBeGreaterThan(1e-3); // 45 degrees: the average over C4 moves
    // At t = 0 the warp is the identity: exact in float64, float32 grid rounding (1e-6 of a pixel) on WebGPU.
    expect(p.interpolation![4]).toBeLessThan(onWebgpu ? 1e-5 : 1e-12);
    expect(p.interpolation![1]).toBeGreaterThan(1e-3);
    // At one angle the profile is the invariance error under that fixed rotation.
    const t = p.magnitudes[3];
    const fixed = (k: Tracer, xx: Tracer) =>
      aug.warp(
        xx,
        np.broadcastTo(
          np.array(
            [
              [Math.cos(t), -Math.sin(t), 0],
              [Math.sin(t), Math.cos(t), 0],
              [0, 0, 1],
            ],
            { dtype: FLOAT },
          ),
          [2, 3, 3],
        ),
      );
    const at = await check.summarize(check.invarianceError(f, fixed, x, { samples: 1 }));
    expect(Math.abs(at.max - p.max[3])).toBeLessThan(onWebgpu ? 1e-4 : 1e-9);
  });

  it("works on point clouds with a 3-D generator", async () => {
    const pc = cloud(2, [4, 4], 0);
    const p = await check.invarianceProfile((pos: Tracer) => pairEnergy({ positions: pos, mask: pc.mask }), pc.positions, "sx", [0, 1], { steps: 3 });
    expect(p.max[0]).toBeLessThan(exactTol);
    expect(p.max[2]).toBeGreaterThan(1e-3);
    expect(p.interpolation).toBeUndefined();
  });
});

describe("measures under vmap", () => {
  it("vmap of the error over a batch of inputs equals the error of each", async () => {
    const x = new Rng(3).array([3, 2, 1, 4, 4], FLOAT);
    const each = (xi: Tracer) => check.invarianceError(ramp, check.groups.c4(), xi).errors;
    const batched = vmap(each)(x);
    for (let i = 0; i < 3; i++) expect(await maxDiffAsync(batched.slice(i), each(x.slice(i)))).toBeLessThan(onWebgpu ? 1e-5 : 1e-12);
  });
});
