import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, jit, linalg, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import * as check from "../../testing/index.ts";
import type { NDArray } from "../../core/array.ts";
import { Rng } from "../cases/types.ts";
import { expectOnTestBackend, maxDiffAsync, scalarOf } from "../helpers.ts";
import { FLOAT, onCpu, onWebgpu, pairOf } from "../backend-under-test.ts";

// Float64 on the CPU; float32 on WebGPU (WGSL has no float64), with the float32 tolerances
// stated at each check.
const G = () => aug.generators2d().astype(FLOAT);
const eye3 = () => np.eye(3, 3, { dtype: FLOAT });

describe("generators", () => {
  it("expm(t * G_rot) is the rotation by t, and expm(A) expm(-A) = I", async () => {
    // float32 scaling and squaring on WebGPU: a few ulp (6e-8) per squaring, and |t| <= 7
    // needs about 3; entries of expm(+-A) reach a few units, and float32 products of 3 terms
    // lose a few ulp of that.
    const [tolRot, tolInv] = onWebgpu ? [5e-6, 1e-5] : [1e-10, 1e-10];
    await fc.assert(
      fc.asyncProperty(fc.double({ min: -7, max: 7, noNaN: true }), fc.integer({ min: 1, max: 1e9 }), async (t, seed) => {
        const r = linalg.expm(G().slice(2).mul(t));
        expectOnTestBackend(r);
        const a = onWebgpu ? Math.fround(t) : t; // the angle as the backend holds it
        const want = np.array(
          [
            [Math.cos(a), -Math.sin(a), 0],
            [Math.sin(a), Math.cos(a), 0],
            [0, 0, 1],
          ],
          { dtype: FLOAT },
        );
        expect(await maxDiffAsync(r, want)).toBeLessThan(tolRot);
        const coeffs = new Rng(seed).array([6], FLOAT);
        const A = np.einsum("k,kij->ij", coeffs, G());
        expect(await maxDiffAsync(np.matmul(linalg.expm(A), linalg.expm(A.neg())), eye3())).toBeLessThan(tolInv);
      }),
      { numRuns: 30 },
    );
  });

  it("generators come in the reference order and scaling", async () => {
    const g = (await aug.generators2d({ transScale: 0.1 }).toArray()) as number[][][];
    expect(g[0][0][2]).toBeCloseTo(0.1);
    expect(g[1][1][2]).toBeCloseTo(0.1);
    expect([g[2][0][1], g[2][1][0]]).toEqual([-1, 1]);
    expect([g[3][0][0], g[3][1][1]]).toEqual([1, 1]);
    expect([g[4][0][0], g[4][1][1]]).toEqual([1, -1]);
    expect([g[5][0][1], g[5][1][0]]).toEqual([1, 1]);
    expect(aug.generators3d().shape).toEqual([12, 4, 4]);
  });

  it("zero widths give the identity transform and augment returns the input", async () => {
    // The identity grid lands on pixel centres up to the rounding of (v + 1) * (s - 1) / 2:
    // about 1e-16 of a pixel in float64, 1e-6 in float32 (WebGPU).
    const tol = onWebgpu ? 1e-5 : 1e-12;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), async (seed) => {
        const dist = aug.uniformAffine({ initRaw: [-1e4, -1e4, -1e4, -1e4, -1e4, -1e4] });
        const theta = dist.init().astype(FLOAT);
        // softplus(-1e4) underflows to exactly 0 in float32 too, so the transform is exactly expm(0) = I.
        expect(await maxDiffAsync(dist.width(theta), np.zeros([6], { dtype: FLOAT }))).toBe(0);
        const mats = dist.sample(random.key(seed), theta, 3);
        expect(await maxDiffAsync(mats, np.broadcastTo(eye3(), [3, 3, 3]))).toBe(0);
        const x = new Rng(seed).array([3, 2, 6, 6], FLOAT);
        expect(await maxDiffAsync(aug.augment(random.key(seed), dist, theta, x), x)).toBeLessThan(tol);
      }),
      { numRuns: 20 },
    );
  });

  it("uniformAffine samples coefficients within [-width/2, width/2] (the reference convention)", async () => {
    const dist = aug.uniformAffine({ initWidth: [0.01, 0.01, 1.5, 0.01, 0.01, 0.01] });
    const theta = dist.init();
    const mats = dist.sample(random.key(1), theta, 500);
    // The rotation angle of a near-pure rotation is atan2(m10, m00).
    const m = (await mats.toArray()) as number[][][];
    const angles = m.map((a) => Math.atan2(a[1][0], a[0][0]));
    expect(Math.max(...angles)).toBeLessThan(0.75 + 0.02);
    expect(Math.min(...angles)).toBeGreaterThan(-0.75 - 0.02);
    expect(Math.max(...angles) - Math.min(...angles)).toBeGreaterThan(1.4);
  });
});

// A small random network: a linear map of the flattened image to 3 logits.
function randomNet(seed: number, c: number, s: number) {
  const rng = new Rng(seed);
  const w = rng.array([c * s * s, 3], FLOAT);
  return { w, apply: (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w) };
}

describe("invariant and equivariant averaging", () => {
  it("predict is exactly invariant under a finite group (the four 90-degree rotations), and the network alone is not", async () => {
    // Exact up to rounding: 1e-12 in float64; on WebGPU, probabilities in [0, 1] from float32
    // warps (1e-6 of a pixel) and dot products of at most 72 terms.
    const tol = onWebgpu ? 1e-5 : 1e-12;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 6 }), async (seed, s) => {
        const { w, apply } = randomNet(seed, 2, s);
        const dist = aug.finiteGroup(aug.rotations90().astype(FLOAT));
        const params = { w, theta: dist.init() };
        const x = new Rng(seed + 1).array([2, 2, s, s], FLOAT);
        // Every element of C4 is checked (no sampling), each against predict at the same key.
        const report = check.invarianceError((xx: Tracer) => aug.predict(apply, params, random.key(0), xx, { dist }), check.groups.c4(), x);
        expectOnTestBackend(report.errors);
        const r = await check.summarize(report);
        expect([r.exact, r.samples]).toEqual([true, 4]);
        expect(r.max).toBeLessThan(tol);
        // The measure is not blind: the network's own probabilities move under quarter turns.
        const alone = await check.summarize(check.invarianceError((xx: Tracer) => np.softmax(apply(w, xx), { axis: -1 }), check.groups.c4(), x));
        expect(alone.max).toBeGreaterThan(1e-6);
      }),
      // Fewer draws on WebGPU, where each takes about 0.3 s of eager dispatches on lavapipe.
      { numRuns: onWebgpu ? 8 : 25 },
    );
  });

  it("predict with sampled copies is the mean over a loop of the same copies (the copies are batched)", async () => {
    const tol = onWebgpu ? 1e-5 : 1e-12;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom<"probs" | "raw">("probs", "raw"), async (seed, nCopies, output) => {
        const { w, apply } = randomNet(seed, 1, 5);
        const dist = aug.uniformAffine({ initWidth: 0.4 });
        const params = { w, theta: dist.init().astype(FLOAT) };
        const x = new Rng(seed + 1).array([3, 1, 5, 5], FLOAT);
        const key = random.key(seed % 1000);
        const got = aug.predict(apply, params, key, x, { dist, nCopies, output });
        const keys = random.split(key, nCopies) as unknown as Tracer;
        const each = Array.from({ length: nCopies }, (_, i) => {
          const out = apply(w, dist.apply(x, dist.sample(keys.slice(i), params.theta, 3)));
          return output === "probs" ? np.softmax(out, { axis: -1 }) : out;
        });
        const want = np.mean(np.stack(each), { axis: 0 });
        expectOnTestBackend(got);
        expect(got.shape).toEqual([3, 3]);
        expect(await maxDiffAsync(got, want)).toBeLessThan(tol);
      }),
      { numRuns: onWebgpu ? 6 : 20 },
    );
  });

  it("predictEquivariant commutes with the group: f(h x) = h f(x), while the dense network alone does not", async () => {
    // Exact up to rounding: 1e-12 in float64; on WebGPU, outputs of size ~2 through two
    // float32 warps each (1e-6 of a pixel per warp).
    const tol = onWebgpu ? 1e-5 : 1e-12;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 6 }), async (seed, s) => {
        const rng = new Rng(seed);
        // A dense (per-pixel) network that is not itself equivariant: a 1x1 channel mix plus a fixed bias map.
        const mix = rng.array([3, 2], FLOAT);
        const bias = rng.array([1, 3, s, s], FLOAT);
        const apply = (wt: { mix: Tracer; bias: Tracer }, x: Tracer) => np.einsum("oc,nchw->nohw", wt.mix, x).add(wt.bias);
        const dist = aug.finiteGroup(aug.rotations90().astype(FLOAT));
        const x = rng.array([2, 2, s, s], FLOAT);
        const params = { w: { mix, bias }, theta: dist.init() };
        const eq = (xx: Tracer) => aug.predictEquivariant(apply, params, random.key(0), xx, { dist });
        const c4 = check.groups.c4();
        const r = await check.summarize(check.equivarianceError(eq, c4, c4, x));
        expect([r.exact, r.samples]).toEqual([true, 4]);
        expect(r.max).toBeLessThan(tol);
        const alone = await check.summarize(check.equivarianceError((xx: Tracer) => apply(params.w, xx), c4, c4, x));
        expect(alone.max).toBeGreaterThan(1e-6);
      }),
      // Fewer draws on WebGPU, where each takes about 0.3 s of eager dispatches on lavapipe.
      { numRuns: onWebgpu ? 8 : 25 },
    );
  });
});

describe("the Augerino loss", () => {
  // Drawn on the CPU in float64; `dev` is on the backend under test (float32 on WebGPU) and
  // `ref` is the CPU reference at the same point (the same arrays on the CPU project).
  const setup = (seed: number) => {
    const [w, x, y] = onCpu(() => [new Rng(seed).array([36, 3]), new Rng(seed).array([4, 1, 6, 6]), np.array([0, 1, 2, 1], { dtype: "int32" }) as NDArray]).map(pairOf);
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    const make = () => aug.uniformAffine({ initWidth: [0.2, 0.2, 1, 0.1, 0.1, 0.1] });
    // The distribution holds its generators on the backend it was made on.
    const dist = make();
    const distRef = onWebgpu ? onCpu(make) : dist;
    const theta = pairOf(onCpu(() => distRef.init().astype("float64")) as NDArray);
    return { w, apply, x, y, dist, distRef, theta };
  };

  it("is differentiable in theta and w (grad vs finite differences, fixed key)", async () => {
    // Central differences in float64 on the CPU (on WebGPU too, at the float32 point the GPU
    // holds). On WebGPU the gradient itself is float32: over these seeds it stays within 2e-7
    // relative of the differences, far inside the same 1e-4.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("norm", "sqnorm"), async (seed, reg) => {
        const { w, apply, x, y, dist, distRef, theta } = setup(seed);
        const lossOf = (d: aug.AugDist, xs: Tracer, ys: Tracer, key: Tracer) => (p: { w: Tracer; theta: Tracer }) => aug.loss(apply, p, key, xs, ys, { dist: d, nCopies: 2, lambda: 0.05, reg });
        const g = grad(lossOf(dist, x.dev, y.dev, random.key(seed)))({ w: w.dev, theta: theta.dev });
        const fRef = (t: Tracer) => onCpu(() => lossOf(distRef, x.ref, y.ref, random.key(seed))({ w: w.ref, theta: t }).item() as number);
        const dir = onCpu(() => new Rng(seed + 9).array([6]));
        const eps = 1e-6;
        const fd = (fRef(onCpu(() => theta.ref.add(dir.mul(eps)))) - fRef(onCpu(() => theta.ref.sub(dir.mul(eps))))) / (2 * eps);
        const [gt, d] = [await g.theta.data(), dir.dataSync()];
        const an = gt.reduce((acc: number, v: number, i: number) => acc + v * d[i], 0);
        expect(Math.abs(an - fd)).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
        expect(g.w.shape).toEqual(w.dev.shape);
        expectOnTestBackend(g.w, g.theta);
      }),
      { numRuns: 8 },
    );
  });

  it("the regulariser rewards width: with lambda alone the gradient widens every generator", async () => {
    const { dist, theta } = setup(1);
    const g = grad((t: Tracer) => aug.regularizer(dist, t, "norm").mul(-1))(theta.dev);
    (await g.data()).forEach((v: number) => expect(v).toBeLessThan(0));
  });

  it("jit of the loss equals eager", async () => {
    const { w, apply, x, y, dist, theta } = setup(3);
    const key = random.key(4);
    const f = (p: { w: Tracer; theta: Tracer }, k: Tracer) => aug.loss(apply, p, k, x.dev, y.dev, { dist, nCopies: 3 });
    const p = { w: w.dev, theta: theta.dev };
    // float64 on the CPU; on WebGPU fusion may reorder float32 sums, and the loss is of
    // order 1-10: 1e-5 is about 100 ulp.
    const tol = onWebgpu ? 1e-5 : 1e-10;
    expect(Math.abs((await scalarOf(jit(f)(p, key))) - (await scalarOf(f(p, key))))).toBeLessThan(tol);
  });

  it("colorJitter is differentiable and zero widths leave images unchanged", async () => {
    const dist = aug.colorJitter({ initWidth: [0.3, 0.2] });
    const x = new Rng(2).array([3, 2, 4, 4], FLOAT);
    const theta = dist.init().astype(FLOAT);
    const g = grad((t: Tracer) => np.sum(aug.augment(random.key(0), dist, t, x).mul(x)))(theta);
    expect((await g.data()).every(Number.isFinite)).toBe(true);
    const zero = aug.colorJitter({ initWidth: [1e-30, 1e-30] });
    // (x - m) * exp(~1e-30) + m: exp rounds to 1, and (x - m) + m is within an ulp of x, |x| < 1
    // (1e-16 in float64, 6e-8 in float32 on WebGPU).
    const tol = onWebgpu ? 1e-6 : 1e-12;
    expect(await maxDiffAsync(aug.augment(random.key(0), zero, zero.init().astype(FLOAT), x), x)).toBeLessThan(tol);
  });
});
