import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, grad, jit, vmap, linalg, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import { Rng } from "../cases/types.ts";
import { expectOnTestBackend, maxDiffAsync } from "../helpers.ts";
import { FLOAT, onCpu, onWebgpu, pairOf } from "../backend-under-test.ts";

/**
 * Results that are exact up to rounding: 1e-12 in float64 on the CPU. On WebGPU (float32) a
 * pixel coordinate normalised to [-1, 1] and back moves by about 1e-6 of a pixel, and the
 * bilinear weights and sums of values below 1 round at 6e-8 each: 1e-5.
 */
const EXACT = onWebgpu ? 1e-5 : 1e-12;

/** PyTorch's grid_sample written directly, one output pixel at a time, in float64 (JS numbers). */
async function gridSampleRef(x: Tracer, grid: Tracer, mode: "bilinear" | "nearest", padding: "zeros" | "border", alignCorners: boolean): Promise<number[]> {
  const [n, c, h, w] = x.shape;
  const [, ho, wo] = grid.shape;
  const xs = await x.data();
  const gs = await grid.data();
  const at = (b: number, ch: number, yy: number, xx: number) => (yy < 0 || yy >= h || xx < 0 || xx >= w ? 0 : xs[((b * c + ch) * h + yy) * w + xx]);
  const unnorm = (v: number, size: number) => (alignCorners ? ((v + 1) / 2) * (size - 1) : ((v + 1) * size - 1) / 2);
  const clip = (v: number, size: number) => Math.min(Math.max(v, 0), size - 1);
  const roundEven = (v: number) => {
    const r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          const g = ((b * ho + i) * wo + j) * 2;
          let ix = unnorm(gs[g], w);
          let iy = unnorm(gs[g + 1], h);
          if (padding === "border") [ix, iy] = [clip(ix, w), clip(iy, h)];
          if (mode === "nearest") {
            out.push(at(b, ch, roundEven(iy), roundEven(ix)));
            continue;
          }
          const x0 = Math.floor(ix);
          const y0 = Math.floor(iy);
          const fx = ix - x0;
          const fy = iy - y0;
          out.push(at(b, ch, y0, x0) * (1 - fx) * (1 - fy) + at(b, ch, y0, x0 + 1) * fx * (1 - fy) + at(b, ch, y0 + 1, x0) * (1 - fx) * fy + at(b, ch, y0 + 1, x0 + 1) * fx * fy);
        }
  return out;
}

describe("gridSample and affineGrid (PyTorch semantics)", () => {
  it("match a direct reference for every mode, padding and alignCorners", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("bilinear", "nearest"), fc.constantFrom("zeros", "border"), fc.boolean(), async (seed, mode, padding, alignCorners) => {
        const rng = new Rng(seed);
        const [n, c, h, w, ho, wo] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 6), rng.int(1, 6), rng.int(1, 5), rng.int(1, 5)];
        const x = rng.array([n, c, h, w], FLOAT);
        const grid = rng.array([n, ho, wo, 2], FLOAT, -1.3, 1.3);
        const got = aug.gridSample(x, grid, { mode, padding, alignCorners });
        expectOnTestBackend(got);
        // The reference reads the inputs as the backend holds them (float32 on WebGPU).
        const want = await gridSampleRef(x, grid, mode, padding, alignCorners);
        (await got.data()).forEach((v: number, i: number) => expect(Math.abs(v - want[i])).toBeLessThan(EXACT));
      }),
      { numRuns: 60 },
    );
  });

  it("the identity grid returns the input", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.boolean(), async (seed, alignCorners) => {
        const rng = new Rng(seed);
        const x = rng.array([2, rng.int(1, 3), rng.int(1, 7), rng.int(1, 7)], FLOAT);
        const eye = np.broadcastTo(
          np.array(
            [
              [1, 0, 0],
              [0, 1, 0],
            ],
            { dtype: FLOAT },
          ),
          [2, 2, 3],
        );
        const y = aug.gridSample(x, aug.affineGrid(eye, x.shape, { alignCorners }), { alignCorners });
        expect(await maxDiffAsync(y, x)).toBeLessThan(EXACT);
      }),
      { numRuns: 30 },
    );
  });

  it("a 90-degree rotation of a square image (alignCorners) is the index permutation (to float64 rounding)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 7 }), async (seed, s) => {
        const x = new Rng(seed).array([1, 2, s, s], FLOAT);
        const rot = np.array(
          [
            [
              [0, -1, 0],
              [1, 0, 0],
            ],
          ],
          { dtype: FLOAT },
        );
        const y = aug.gridSample(x, aug.affineGrid(rot, x.shape, { alignCorners: true }), { alignCorners: true });
        // Output (i, j) samples input at x = -y_j-coordinate...: the grid maps (u, v) -> (-v, u), i.e. out[i][j] = in[j][s-1-i].
        const want = np.flip(np.swapaxes(x, 2, 3), { axis: 2 });
        // Normalising and unnormalising pixel coordinates rounds at 1e-16 (1e-6 of a pixel in
        // float32, on WebGPU); the permutation is otherwise exact.
        expect(await maxDiffAsync(y, want)).toBeLessThan(EXACT);
      }),
      { numRuns: 30 },
    );
  });

  it("is differentiable in the image and the grid (grad vs finite differences)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("zeros", "border"), async (seed, padding) => {
        const rng = new Rng(seed);
        // Drawn on the CPU in float64: `dev` on the backend under test (float32 on WebGPU),
        // `ref` the CPU reference at the same point (the same arrays on the CPU project).
        const [x, grid, ct] = onCpu(() => [rng.array([1, 2, 4, 5]), rng.array([1, 3, 3, 2], "float64", -0.9, 0.9), rng.array([1, 2, 3, 3])]).map(pairOf);
        const f = (ctv: Tracer) => (x: Tracer, g: Tracer) => np.sum(aug.gridSample(x, g, { padding, alignCorners: true }).mul(ctv));
        const [gx, gg] = grad(f(ct.dev), { argnums: [0, 1] })(x.dev, grid.dev);
        expectOnTestBackend(gx, gg);
        // Central differences in float64 on the CPU. On WebGPU the gradient itself is float32:
        // over these seeds it stays within 5e-7 relative of the differences, inside the same 1e-5.
        const fRef = (a: Tracer, g: Tracer) => onCpu(() => f(ct.ref)(a, g).item() as number);
        const eps = 1e-6;
        for (const [arg, g] of [
          [0, gx],
          [1, gg],
        ] as const) {
          const base = arg === 0 ? x.ref : grid.ref;
          const dir = onCpu(() => rng.array(base.shape));
          const shift = (s: number) => onCpu(() => base.add(dir.mul(s)));
          const plus = arg === 0 ? fRef(shift(eps), grid.ref) : fRef(x.ref, shift(eps));
          const minus = arg === 0 ? fRef(shift(-eps), grid.ref) : fRef(x.ref, shift(-eps));
          const fd = (plus - minus) / (2 * eps);
          const [gv, d] = [await g.data(), dir.dataSync()];
          const an = gv.reduce((acc: number, v: number, i: number) => acc + v * d[i], 0);
          expect(Math.abs(an - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        }
      }),
      { numRuns: 20 },
    );
  });

  it("jit and vmap agree with eager", async () => {
    const rng = new Rng(7);
    const x = rng.array([3, 1, 5, 5], FLOAT);
    const grid = rng.array([3, 4, 4, 2], FLOAT, -1, 1);
    const eager = aug.gridSample(x, grid);
    expect(await maxDiffAsync(jit((a: Tracer, g: Tracer) => aug.gridSample(a, g))(x, grid), eager)).toBeLessThan(EXACT);
    const per = vmap((a: Tracer, g: Tracer) => aug.gridSample(a.reshape([1, 1, 5, 5]), g.reshape([1, 4, 4, 2])).reshape([4, 4]))(x.reshape([3, 5, 5]), grid);
    expect(await maxDiffAsync(per, eager.reshape([3, 4, 4]))).toBeLessThan(EXACT);
  });

  it("transformPoints applies homogeneous 3-D maps", async () => {
    const rng = new Rng(3);
    const pts = rng.array([2, 5, 3], FLOAT);
    const a = rng.array([2, 12], FLOAT).mul(0.3);
    const mats = linalg.expm(np.einsum("nk,kij->nij", a, aug.generators3d().astype(FLOAT)));
    const moved = aug.transformPoints(mats, pts);
    const back = aug.transformPoints(linalg.inv(mats), moved);
    // 1e-10 in float64; on WebGPU float32 expm, inverse and two 4x4 products of entries up to
    // a few units: a few ulp (1.2e-7) of each, 1e-5.
    expect(await maxDiffAsync(back, pts)).toBeLessThan(onWebgpu ? 1e-5 : 1e-10);
  });
});
