import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, grad, jit, vmap, linalg, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import { Rng } from "../cases/types.ts";
import { maxDiff } from "../helpers.ts";


/** PyTorch's grid_sample written directly, one output pixel at a time, in float64. */
function gridSampleRef(x: Tracer, grid: Tracer, mode: "bilinear" | "nearest", padding: "zeros" | "border", alignCorners: boolean): number[] {
  const [n, c, h, w] = x.shape;
  const [, ho, wo] = grid.shape;
  const xs = x.dataSync();
  const gs = grid.dataSync();
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
  it("match a direct reference for every mode, padding and alignCorners", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("bilinear", "nearest"), fc.constantFrom("zeros", "border"), fc.boolean(), (seed, mode, padding, alignCorners) => {
        const rng = new Rng(seed);
        const [n, c, h, w, ho, wo] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 6), rng.int(1, 6), rng.int(1, 5), rng.int(1, 5)];
        const x = rng.array([n, c, h, w]);
        const grid = rng.array([n, ho, wo, 2], "float64", -1.3, 1.3);
        const got = aug.gridSample(x, grid, { mode, padding, alignCorners });
        const want = gridSampleRef(x, grid, mode, padding, alignCorners);
        got.dataSync().forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-12));
      }),
      { numRuns: 60 },
    );
  });

  it("the identity grid returns the input", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.boolean(), (seed, alignCorners) => {
        const rng = new Rng(seed);
        const x = rng.array([2, rng.int(1, 3), rng.int(1, 7), rng.int(1, 7)]);
        const eye = np.broadcastTo(np.array([[1, 0, 0], [0, 1, 0]], { dtype: "float64" }), [2, 2, 3]);
        const y = aug.gridSample(x, aug.affineGrid(eye, x.shape, { alignCorners }), { alignCorners });
        expect(maxDiff(y, x)).toBeLessThan(1e-12);
      }),
      { numRuns: 30 },
    );
  });

  it("a 90-degree rotation of a square image (alignCorners) is the index permutation (to float64 rounding)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 7 }), (seed, s) => {
        const x = new Rng(seed).array([1, 2, s, s]);
        const rot = np.array([[[0, -1, 0], [1, 0, 0]]], { dtype: "float64" });
        const y = aug.gridSample(x, aug.affineGrid(rot, x.shape, { alignCorners: true }), { alignCorners: true });
        // Output (i, j) samples input at x = -y_j-coordinate...: the grid maps (u, v) -> (-v, u), i.e. out[i][j] = in[j][s-1-i].
        const want = np.flip(np.swapaxes(x, 2, 3), { axis: 2 });
        // Normalising and unnormalising pixel coordinates rounds at 1e-16; the permutation is otherwise exact.
        expect(maxDiff(y, want)).toBeLessThan(1e-12);
      }),
      { numRuns: 30 },
    );
  });

  it("is differentiable in the image and the grid (grad vs finite differences)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.constantFrom("zeros", "border"), (seed, padding) => {
        const rng = new Rng(seed);
        const x = rng.array([1, 2, 4, 5]);
        const grid = rng.array([1, 3, 3, 2], "float64", -0.9, 0.9);
        const ct = rng.array([1, 2, 3, 3]);
        const f = (x: Tracer, g: Tracer) => np.sum(aug.gridSample(x, g, { padding, alignCorners: true }).mul(ct));
        const [gx, gg] = grad(f, { argnums: [0, 1] })(x, grid);
        const eps = 1e-6;
        for (const [arg, g] of [[0, gx], [1, gg]] as const) {
          const base = arg === 0 ? x : grid;
          const dir = rng.array(base.shape);
          const plus = f(arg === 0 ? x.add(dir.mul(eps)) : x, arg === 1 ? grid.add(dir.mul(eps)) : grid).item() as number;
          const minus = f(arg === 0 ? x.sub(dir.mul(eps)) : x, arg === 1 ? grid.sub(dir.mul(eps)) : grid).item() as number;
          const fd = (plus - minus) / (2 * eps);
          const an = np.sum(g.mul(dir)).item() as number;
          expect(Math.abs(an - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        }
      }),
      { numRuns: 20 },
    );
  });

  it("jit and vmap agree with eager", () => {
    const rng = new Rng(7);
    const x = rng.array([3, 1, 5, 5]);
    const grid = rng.array([3, 4, 4, 2], "float64", -1, 1);
    const eager = aug.gridSample(x, grid);
    expect(maxDiff(jit((a: Tracer, g: Tracer) => aug.gridSample(a, g))(x, grid), eager)).toBeLessThan(1e-12);
    const per = vmap((a: Tracer, g: Tracer) => aug.gridSample(a.reshape([1, 1, 5, 5]), g.reshape([1, 4, 4, 2])).reshape([4, 4]))(x.reshape([3, 5, 5]), grid);
    expect(maxDiff(per, eager.reshape([3, 4, 4]))).toBeLessThan(1e-12);
  });

  it("transformPoints applies homogeneous 3-D maps", () => {
    const rng = new Rng(3);
    const pts = rng.array([2, 5, 3]);
    const a = rng.array([2, 12]).mul(0.3);
    const mats = linalg.expm(np.einsum("nk,kij->nij", a, aug.generators3d().astype("float64")));
    const moved = aug.transformPoints(mats, pts);
    const back = aug.transformPoints(linalg.inv(mats), moved);
    expect(maxDiff(back, pts)).toBeLessThan(1e-10);
  });
});
