import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, jit, linalg, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import { Rng } from "../cases/types.ts";
import { maxDiff } from "../helpers.ts";

const G = () => aug.generators2d().astype("float64");

describe("generators", () => {
  it("expm(t * G_rot) is the rotation by t, and expm(A) expm(-A) = I", () => {
    fc.assert(
      fc.property(fc.double({ min: -7, max: 7, noNaN: true }), fc.integer({ min: 1, max: 1e9 }), (t, seed) => {
        const r = linalg.expm(G().slice(2).mul(t));
        const want = np.array([[Math.cos(t), -Math.sin(t), 0], [Math.sin(t), Math.cos(t), 0], [0, 0, 1]], { dtype: "float64" });
        expect(maxDiff(r, want)).toBeLessThan(1e-10);
        const coeffs = new Rng(seed).array([6]);
        const a = np.einsum("k,kij->ij", coeffs, G());
        expect(maxDiff(np.matmul(linalg.expm(a), linalg.expm(a.neg())), np.eye(3, 3, { dtype: "float64" }))).toBeLessThan(1e-10);
      }),
      { numRuns: 30 },
    );
  });

  it("generators come in the reference order and scaling", () => {
    const g = aug.generators2d({ transScale: 0.1 }).toArraySync() as number[][][];
    expect(g[0][0][2]).toBeCloseTo(0.1);
    expect(g[1][1][2]).toBeCloseTo(0.1);
    expect([g[2][0][1], g[2][1][0]]).toEqual([-1, 1]);
    expect([g[3][0][0], g[3][1][1]]).toEqual([1, 1]);
    expect([g[4][0][0], g[4][1][1]]).toEqual([1, -1]);
    expect([g[5][0][1], g[5][1][0]]).toEqual([1, 1]);
    expect(aug.generators3d().shape).toEqual([12, 4, 4]);
  });

  it("zero widths give the identity transform and augment returns the input", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const dist = aug.uniformAffine({ initRaw: [-1e4, -1e4, -1e4, -1e4, -1e4, -1e4] });
        const theta = dist.init().astype("float64");
        expect(maxDiff(dist.width(theta), np.zeros([6], { dtype: "float64" }))).toBe(0);
        const mats = dist.sample(random.key(seed), theta, 3);
        expect(maxDiff(mats, np.broadcastTo(np.eye(3, 3, { dtype: "float64" }), [3, 3, 3]))).toBe(0);
        const x = new Rng(seed).array([3, 2, 6, 6]);
        expect(maxDiff(aug.augment(random.key(seed), dist, theta, x), x)).toBeLessThan(1e-12);
      }),
      { numRuns: 20 },
    );
  });

  it("uniformAffine samples coefficients within [-width/2, width/2] (the reference convention)", () => {
    const dist = aug.uniformAffine({ initWidth: [0.01, 0.01, 1.5, 0.01, 0.01, 0.01] });
    const theta = dist.init();
    const mats = dist.sample(random.key(1), theta, 500);
    // The rotation angle of a near-pure rotation is atan2(m10, m00).
    const m = mats.toArraySync() as number[][][];
    const angles = m.map((a) => Math.atan2(a[1][0], a[0][0]));
    expect(Math.max(...angles)).toBeLessThan(0.75 + 0.02);
    expect(Math.min(...angles)).toBeGreaterThan(-0.75 - 0.02);
    expect(Math.max(...angles) - Math.min(...angles)).toBeGreaterThan(1.4);
  });
});

// A small random network: a linear map of the flattened image to 3 logits.
function randomNet(seed: number, c: number, s: number) {
  const rng = new Rng(seed);
  const w = rng.array([c * s * s, 3]);
  return { w, apply: (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w) };
}

describe("invariant and equivariant averaging", () => {
  it("predict is exactly invariant under a finite group (the four 90-degree rotations)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 3 }), (seed, s, k) => {
        const { w, apply } = randomNet(seed, 2, s);
        const dist = aug.finiteGroup(aug.rotations90().astype("float64"));
        const x = new Rng(seed + 1).array([2, 2, s, s]);
        const h = aug.rotations90().astype("float64").slice([k, k + 1]);
        const hx = dist.apply(x, np.broadcastTo(h, [2, 3, 3]));
        const params = { w, theta: dist.init() };
        const p1 = aug.predict(apply, params, random.key(0), x, { dist });
        const p2 = aug.predict(apply, params, random.key(5), hx, { dist });
        expect(maxDiff(p1, p2)).toBeLessThan(1e-12);
      }),
      { numRuns: 25 },
    );
  });

  it("predictEquivariant commutes with the group: f(h x) = h f(x)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 3 }), (seed, s, k) => {
        const rng = new Rng(seed);
        // A dense (per-pixel) network that is not itself equivariant: a 1x1 channel mix plus a fixed bias map.
        const mix = rng.array([3, 2]);
        const bias = rng.array([1, 3, s, s]);
        const apply = (wt: { mix: Tracer; bias: Tracer }, x: Tracer) => np.einsum("oc,nchw->nohw", wt.mix, x).add(wt.bias);
        const dist = aug.finiteGroup(aug.rotations90().astype("float64"));
        const x = rng.array([2, 2, s, s]);
        const h = np.broadcastTo(aug.rotations90().astype("float64").slice([k, k + 1]), [2, 3, 3]);
        const params = { w: { mix, bias }, theta: dist.init() };
        const lhs = aug.predictEquivariant(apply, params, random.key(0), dist.apply(x, h), { dist });
        const rhs = dist.apply(aug.predictEquivariant(apply, params, random.key(0), x, { dist }), h);
        expect(maxDiff(lhs, rhs)).toBeLessThan(1e-12);
      }),
      { numRuns: 25 },
    );
  });
});

describe("the Augerino loss", () => {
  const setup = (seed: number) => {
    const rng = new Rng(seed);
    const { w, apply } = randomNet(seed, 1, 6);
    const x = rng.array([4, 1, 6, 6]);
    const y = np.array([0, 1, 2, 1], { dtype: "int32" });
    const dist = aug.uniformAffine({ initWidth: [0.2, 0.2, 1, 0.1, 0.1, 0.1] });
    return { w, apply, x, y, dist, theta: dist.init().astype("float64") };
  };

  it("is differentiable in theta and w (grad vs finite differences, fixed key)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("norm", "sqnorm"), (seed, reg) => {
        const { w, apply, x, y, dist, theta } = setup(seed);
        const key = random.key(seed);
        const f = (p: { w: Tracer; theta: Tracer }) => aug.loss(apply, p, key, x, y, { dist, nCopies: 2, lambda: 0.05, reg });
        const g = grad(f)({ w, theta });
        const dir = new Rng(seed + 9).array([6]);
        const eps = 1e-6;
        const fd = ((f({ w, theta: theta.add(dir.mul(eps)) }).item() as number) - (f({ w, theta: theta.sub(dir.mul(eps)) }).item() as number)) / (2 * eps);
        const an = np.sum(g.theta.mul(dir)).item() as number;
        expect(Math.abs(an - fd)).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
        expect(g.w.shape).toEqual(w.shape);
      }),
      { numRuns: 8 },
    );
  });

  it("the regulariser rewards width: with lambda alone the gradient widens every generator", () => {
    const { dist, theta } = setup(1);
    const g = grad((t: Tracer) => aug.regularizer(dist, t, "norm").mul(-1))(theta);
    g.dataSync().forEach((v: number) => expect(v).toBeLessThan(0));
  });

  it("jit of the loss equals eager", () => {
    const { w, apply, x, y, dist, theta } = setup(3);
    const key = random.key(4);
    const f = (p: { w: Tracer; theta: Tracer }, k: Tracer) => aug.loss(apply, p, k, x, y, { dist, nCopies: 3 });
    expect(Math.abs((jit(f)({ w, theta }, key).item() as number) - (f({ w, theta }, key).item() as number))).toBeLessThan(1e-10);
  });

  it("colorJitter is differentiable and zero widths leave images unchanged", () => {
    const dist = aug.colorJitter({ initWidth: [0.3, 0.2] });
    const x = new Rng(2).array([3, 2, 4, 4]);
    const theta = dist.init().astype("float64");
    const g = grad((t: Tracer) => np.sum(aug.augment(random.key(0), dist, t, x).mul(x)))(theta);
    expect(g.dataSync().every(Number.isFinite)).toBe(true);
    const zero = aug.colorJitter({ initWidth: [1e-30, 1e-30] });
    expect(maxDiff(aug.augment(random.key(0), zero, zero.init().astype("float64"), x), x)).toBeLessThan(1e-12);
  });
});
