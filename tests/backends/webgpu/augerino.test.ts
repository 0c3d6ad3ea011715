/**
 * Augerino's properties on WebGPU beyond what tests/augerino checks when it runs with WebGPU
 * as the default backend (the vitest project "webgpu", which covers Monte Carlo averaging,
 * learning a width and vmap of the loss): generators, gridSample with grids past the edges,
 * invariant and equivariant averaging, the regulariser over random widths, and aug.loss under
 * grad and jit against the CPU in float64. Every array is on the GPU, in float32. Each result
 * is checked to live on webgpu, and compared with exact values, with the group property
 * itself, or with the CPU in float64 from the same float32 inputs.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, jit, linalg, type Tracer } from "../../../index.ts";
import type { NDArray } from "../../../core/array.ts";
import * as aug from "../../../augerino/index.ts";
import { Rng } from "../../cases/types.ts";
import { gpuStats } from "../../../core/backends/webgpu/index.ts";
import { gpuSkipReason, onGpu } from "./gpu.ts";

/** A random float32 array on the GPU; `cpu` is the same values on the CPU in float64 (for references). */
function gpuArray(rng: Rng, shape: number[], lo = -1, hi = 1): { gpu: Tracer; cpu: Tracer } {
  const a = rng.array(shape, "float32", lo, hi);
  return { gpu: onGpu(a), cpu: a.astype("float64") };
}

/** Reads a result, first checking that it was computed on the GPU. */
async function readGpu(x: Tracer, what: string): Promise<Float32Array> {
  expect((x as NDArray).backendImpl.name, `${what} lives on webgpu`).toBe("webgpu");
  expect(x.dtype, `${what} dtype`).toBe("float32");
  return (await (x as NDArray).data()) as Float32Array;
}

/** The largest absolute difference of a GPU result from another array (GPU or CPU) or plain numbers. */
async function maxDiffGpu(got: Tracer, want: Tracer | ArrayLike<number>, what: string): Promise<number> {
  const g = await readGpu(got, what);
  let w: ArrayLike<number>;
  if ("shape" in want) {
    expect(got.shape, `${what} shape`).toEqual(want.shape);
    w = await (want as NDArray).data();
  } else w = want;
  expect(g.length, `${what} size`).toBe(w.length);
  let m = 0;
  g.forEach((v, i) => (m = Math.max(m, Math.abs(v - w[i]))));
  return Number.isNaN(m) ? Infinity : m; // Math.max propagates a NaN element
}

/** The largest difference relative to max(1, |reference|), for gradients whose size varies. */
async function relDiffGpu(got: Tracer, want: Tracer, what: string): Promise<number> {
  const g = await readGpu(got, what);
  expect(got.shape, `${what} shape`).toEqual(want.shape);
  const w = await (want as NDArray).data();
  let m = 0;
  g.forEach((v, i) => (m = Math.max(m, Math.abs(v - w[i]) / Math.max(1, Math.abs(w[i])))));
  return Number.isNaN(m) ? Infinity : m;
}

const gpuKey = (seed: number) => onGpu(random.key(seed));
const rot90 = () => onGpu(aug.rotations90());

describe.skipIf(gpuSkipReason !== null)("augerino on WebGPU: generators", () => {
  it("expm(t * G_rot) is the rotation by t, and expm(A) expm(-A) = I", async () => {
    const G = onGpu(aug.generators2d());
    await fc.assert(
      // Angles on a fine grid over [-7, 7]: fc.double would mostly draw tiny magnitudes.
      fc.asyncProperty(fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 1, max: 1e9 }), async (k, seed) => {
        const t = Math.fround(k / 10000); // the angle as the GPU sees it
        const r = linalg.expm(G.slice(2).mul(t));
        const want = [Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t), 0, 0, 0, 1];
        // float32 scaling and squaring: a few ulp (6e-8) per squaring, and |t| <= 7 needs about 3.
        expect(await maxDiffGpu(r, want, "expm(t G_rot)")).toBeLessThan(5e-6);
        const coeffs = onGpu(new Rng(seed).array([6], "float32"));
        const a = np.einsum("k,kij->ij", coeffs, G);
        const prod = np.matmul(linalg.expm(a), linalg.expm(a.neg()));
        // Entries of expm(+-A) reach a few units here; float32 products of 3 terms lose a few ulp of that.
        expect(await maxDiffGpu(prod, [1, 0, 0, 0, 1, 0, 0, 0, 1], "expm(A) expm(-A)")).toBeLessThan(1e-5);
      }),
      { numRuns: 8 },
    );
  });

  it("zero widths give the identity transform and augment returns the input", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), async (seed) => {
        const dist = aug.uniformAffine({ initRaw: [-1e4, -1e4, -1e4, -1e4, -1e4, -1e4] });
        const theta = onGpu(dist.init());
        // softplus(-1e4) underflows to exactly 0 in float32, so the transform is exactly expm(0) = I.
        expect(await maxDiffGpu(dist.width(theta), [0, 0, 0, 0, 0, 0], "width")).toBe(0);
        const mats = dist.sample(gpuKey(seed), theta, 3);
        expect(await maxDiffGpu(mats, Array.from({ length: 3 }, () => [1, 0, 0, 0, 1, 0, 0, 0, 1]).flat(), "samples")).toBe(0);
        const { gpu: x } = gpuArray(new Rng(seed), [3, 2, 6, 6]);
        // The identity grid lands on pixel centres up to float32 rounding of (v + 1) * (s - 1) / 2.
        expect(await maxDiffGpu(aug.augment(gpuKey(seed), dist, theta, x), x, "augment")).toBeLessThan(1e-5);
      }),
      { numRuns: 5 },
    );
  });
});

describe.skipIf(gpuSkipReason !== null)("augerino on WebGPU: gridSample", () => {
  it("the identity grid returns the input", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.boolean(), async (seed, alignCorners) => {
        const rng = new Rng(seed);
        const { gpu: x } = gpuArray(rng, [2, rng.int(1, 3), rng.int(1, 7), rng.int(1, 7)]);
        const eye = onGpu(
          np.broadcastTo(
            np.array([
              [1, 0, 0],
              [0, 1, 0],
            ]),
            [2, 2, 3],
          ),
        );
        const y = aug.gridSample(x, aug.affineGrid(eye, x.shape, { alignCorners }), { alignCorners });
        // Normalising and unnormalising a pixel index in float32 moves it by about 1e-6 of a pixel.
        expect(await maxDiffGpu(y, x, "identity warp")).toBeLessThan(1e-5);
      }),
      { numRuns: 6 },
    );
  });

  it("a 90-degree rotation of a square image (alignCorners) is the index permutation (to float32 rounding)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 7 }), async (seed, s) => {
        const { gpu: x, cpu: xc } = gpuArray(new Rng(seed), [1, 2, s, s]);
        const rot = onGpu(
          np.array([
            [
              [0, -1, 0],
              [1, 0, 0],
            ],
          ]),
        );
        const y = aug.gridSample(x, aug.affineGrid(rot, x.shape, { alignCorners: true }), { alignCorners: true });
        // out[i][j] = in[j][s-1-i], the permutation computed on the CPU.
        const want = np.flip(np.swapaxes(xc, 2, 3), { axis: 2 });
        // Pixel coordinates round-trip through [-1, 1] in float32: off by about 1e-6 of a pixel.
        expect(await maxDiffGpu(y, want, "rotated image")).toBeLessThan(1e-5);
      }),
      { numRuns: 6 },
    );
  });

  it("gradients in the image and in the grid agree with the CPU's (float64, same inputs)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("zeros", "border") as fc.Arbitrary<"zeros" | "border">, async (seed, padding) => {
        const rng = new Rng(seed);
        const x = gpuArray(rng, [1, 2, 4, 5]);
        // Up to 1.2 so some samples fall outside the image (zeros) or on the clipped border.
        const grid = gpuArray(rng, [1, 3, 3, 2], -1.2, 1.2);
        const ct = gpuArray(rng, [1, 2, 3, 3]);
        const f = (ctv: Tracer) => (a: Tracer, g: Tracer) => np.sum(aug.gridSample(a, g, { padding, alignCorners: true }).mul(ctv));
        const [gx, gg] = grad(f(ct.gpu), { argnums: [0, 1] })(x.gpu, grid.gpu);
        const [wx, wg] = grad(f(ct.cpu), { argnums: [0, 1] })(x.cpu, grid.cpu);
        // Both start from the same float32 values; the GPU rounds each op to float32 (about 6e-8
        // relative) and the grid gradient sums up to 4 x 2 such terms scaled by (size - 1) / 2:
        // 1e-5 relative to max(1, |ref|) leaves room for a few ulp of each.
        expect(await relDiffGpu(gx, wx, "image gradient")).toBeLessThan(1e-5);
        expect(await relDiffGpu(gg, wg, "grid gradient")).toBeLessThan(1e-5);
      }),
      { numRuns: 6 },
    );
  });
});

// A small random network: a linear map of the flattened image to 3 logits.
function randomNet(seed: number, c: number, s: number) {
  const w = onGpu(new Rng(seed).array([c * s * s, 3], "float32"));
  return { w, apply: (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w) };
}

describe.skipIf(gpuSkipReason !== null)("augerino on WebGPU: invariant and equivariant averaging", () => {
  it("predict is invariant under a finite group (the four 90-degree rotations)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 3 }), async (seed, s, k) => {
        const { w, apply } = randomNet(seed, 2, s);
        const dist = aug.finiteGroup(rot90());
        const { gpu: x } = gpuArray(new Rng(seed + 1), [2, 2, s, s]);
        const h = np.broadcastTo(rot90().slice([k, k + 1]), [2, 3, 3]);
        const hx = dist.apply(x, h);
        // Not a tautology: the network itself sees h x differently from x.
        expect(await maxDiffGpu(apply(w, hx), apply(w, x), "f(h x) - f(x)")).toBeGreaterThan(1e-2);
        const params = { w, theta: onGpu(dist.init()) };
        const p1 = aug.predict(apply, params, gpuKey(0), x, { dist });
        const p2 = aug.predict(apply, params, gpuKey(5), hx, { dist });
        // Probabilities in [0, 1] from float32 warps and dot products of at most 72 terms.
        expect(await maxDiffGpu(p1, p2, "predict(h x) - predict(x)")).toBeLessThan(1e-5);
      }),
      { numRuns: 6 },
    );
  });

  it("predictEquivariant commutes with the group: f(h x) = h f(x)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 3 }), async (seed, s, k) => {
        const rng = new Rng(seed);
        // A dense (per-pixel) network that is not itself equivariant: a 1x1 channel mix plus a fixed bias map.
        const mix = gpuArray(rng, [3, 2]).gpu;
        const bias = gpuArray(rng, [1, 3, s, s]).gpu;
        const apply = (wt: { mix: Tracer; bias: Tracer }, x: Tracer) => np.einsum("oc,nchw->nohw", wt.mix, x).add(wt.bias);
        const dist = aug.finiteGroup(rot90());
        const { gpu: x } = gpuArray(rng, [2, 2, s, s]);
        const h = np.broadcastTo(rot90().slice([k, k + 1]), [2, 3, 3]);
        const params = { w: { mix, bias }, theta: onGpu(dist.init()) };
        expect(await maxDiffGpu(apply(params.w, dist.apply(x, h)), dist.apply(apply(params.w, x), h), "plain network")).toBeGreaterThan(1e-2);
        const lhs = aug.predictEquivariant(apply, params, gpuKey(0), dist.apply(x, h), { dist });
        const rhs = dist.apply(aug.predictEquivariant(apply, params, gpuKey(0), x, { dist }), h);
        // Outputs of size ~2 through two float32 warps each (1e-6 of a pixel per warp).
        expect(await maxDiffGpu(lhs, rhs, "f(h x) - h f(x)")).toBeLessThan(1e-5);
      }),
      { numRuns: 6 },
    );
  });

  it("a compiled predict launches as many kernels for 64 copies as for 2 (the copies are one batch)", async () => {
    const rng = new Rng(3);
    const w = gpuArray(rng, [25, 3]).gpu;
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    const dist = aug.uniformAffine({ initWidth: 0.4 });
    const params = { w, theta: onGpu(dist.init().astype("float32")) };
    const x = gpuArray(rng, [4, 1, 5, 5]).gpu;
    const launches = async (nCopies: number) => {
      const f = jit((p: typeof params, k: Tracer) => aug.predict(apply, p, k, x, { dist, nCopies }));
      await readGpu(f(params, gpuKey(1)), "predict (compiling)");
      const before = gpuStats.dispatches;
      const out = f(params, gpuKey(2));
      const n = gpuStats.dispatches - before;
      await readGpu(out, "predict");
      return n;
    };
    const two = await launches(2);
    expect(two).toBeGreaterThan(0);
    expect(await launches(64)).toBe(two);
  });
});

const S = 9;
// A disc mask: content outside it never enters the frame, so rotations only permute it.
const c0 = (S - 1) / 2;
const disc = np.array(Array.from({ length: S * S }, (_, i) => ((Math.floor(i / S) - c0) ** 2 + ((i % S) - c0) ** 2 <= (c0 - 0.5) ** 2 ? 1 : 0))).reshape([S, S]);

type Params = { w: Tracer; theta: Tracer };

describe.skipIf(gpuSkipReason !== null)("augerino on WebGPU: the regulariser", () => {
  it("the regulariser rewards width: with lambda alone the gradient widens every generator", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0.01, max: 3, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.constantFrom("norm", "sqnorm") as fc.Arbitrary<"norm" | "sqnorm">,
        async (widths, reg) => {
          const dist = aug.uniformAffine({ initWidth: widths });
          const g = grad((t: Tracer) => aug.regularizer(dist, t, reg).mul(-1))(onGpu(dist.init()));
          (await readGpu(g, "regulariser gradient")).forEach((v) => expect(v).toBeLessThan(0));
        },
      ),
      { numRuns: 5 },
    );
  });
});

describe.skipIf(gpuSkipReason !== null)("augerino on WebGPU: aug.loss composes with grad and jit", () => {
  const setup = (seed: number) => {
    const rng = new Rng(seed);
    const w = gpuArray(rng, [S * S, 3]);
    const xs = new Rng(seed).array([4, 1, S, S], "float32", 0, 1).mul(disc);
    const x = { gpu: onGpu(xs), cpu: xs.astype("float64") };
    const y = np.array([0, 1, 2, 1], { dtype: "int32" });
    const dist = aug.uniformAffine({ initWidth: [0.2, 0.2, 1, 0.1, 0.1, 0.1] });
    const theta = dist.init();
    return { w, x, y: { gpu: onGpu(y), cpu: y }, dist, theta: { gpu: onGpu(theta), cpu: theta.astype("float64") } };
  };
  const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);

  it("grad in w and theta agrees with the CPU's (float64, same inputs and key)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("norm", "sqnorm") as fc.Arbitrary<"norm" | "sqnorm">, async (seed, reg) => {
        const { w, x, y, dist, theta } = setup(seed);
        const f = (xs: Tracer, ys: Tracer, key: Tracer) => (p: Params) => aug.loss(apply, p, key, xs, ys, { dist, nCopies: 2, lambda: 0.05, reg });
        const gg = grad(f(x.gpu, y.gpu, gpuKey(seed)))({ w: w.gpu, theta: theta.gpu });
        const gc = grad(f(x.cpu, y.cpu, random.key(seed)))({ w: w.cpu, theta: theta.cpu });
        // The random draws are float32 on both (the same threefry bits); the GPU then rounds
        // every op of expm, warp and softmax to float32 (6e-8 relative each), and the theta
        // gradient sums 2 copies x 4 images x 81 pixels through expm's Frechet derivative.
        expect(await relDiffGpu(gg.w, gc.w, "grad w")).toBeLessThan(1e-5);
        expect(await relDiffGpu(gg.theta, gc.theta, "grad theta")).toBeLessThan(1e-4);
      }),
      { numRuns: 4 },
    );
  });

  it("jit of the loss equals eager (on the GPU) and the CPU", async () => {
    const { w, x, y, dist, theta } = setup(3);
    const f = (p: Params, k: Tracer, xs: Tracer, ys: Tracer) => aug.loss(apply, p, k, xs, ys, { dist, nCopies: 3 });
    const jitted = jit(f)({ w: w.gpu, theta: theta.gpu }, gpuKey(4), x.gpu, y.gpu);
    const eager = f({ w: w.gpu, theta: theta.gpu }, gpuKey(4), x.gpu, y.gpu);
    const cpu = f({ w: w.cpu, theta: theta.cpu }, random.key(4), x.cpu, y.cpu);
    // Fusion may reorder float32 sums; the loss is of order 1-10, 1e-5 is about 100 ulp.
    expect(await maxDiffGpu(jitted, eager, "jit - eager")).toBeLessThan(1e-5);
    expect(await relDiffGpu(jitted, cpu, "jit - CPU")).toBeLessThan(1e-5);
  });
});
