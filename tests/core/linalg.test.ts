import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, linalg, grad, vmap, jit, jvp, vjp, type Array as Arr } from "../../index.ts";
import { fromTyped, type NDArray } from "../../core/array.ts";
import { getPrimitive, UndefinedPrimal } from "../../core/primitive.ts";
import { bind } from "../../core/trace.ts";
import { expmFrechetP, solveP } from "../../core/primitives/linalg.ts";
import { Rng } from "../cases/types.ts";
import { cases } from "../cases/linalg.ts";
import { FLOAT, itOnCpu, onCpu, onWebgpu, pairOf, testBackend, type Pair } from "../backend-under-test.ts";
import { fdGrad, scalarOf } from "../helpers.ts";

/** A float64 array on the CPU (inputs are drawn there, references computed there). */
const f64 = (data: ArrayLike<number>, shape: number[]) => fromTyped(Float64Array.from(data), shape, "float64", "cpu");
/** The same values on the backend under test (float32 on WebGPU, so exact only where float32 holds them). */
const dev = (data: ArrayLike<number>, shape: number[]) => pairOf(f64(data, shape)).dev;
/** The identity in the widest float of the backend under test. */
const eye = (n: number) => np.eye(n, n, { dtype: FLOAT });
/** Of a closure's captured Pair, the form that matches its argument: `ref` for the float64 references on the CPU, `dev` otherwise. */
const sel = (x: Arr, p: Pair) => (x.dtype === "float64" ? p.ref : p.dev);

/** Runs a property over random seeds drawn by fast-check (failures shrink to a seed). */
async function forSeeds(numRuns: number, body: (seed: number) => Promise<void>): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), body), { numRuns: onWebgpu ? Math.ceil(numRuns / 3) : numRuns });
}

/**
 * Tolerances. On the CPU (float64) entrywise: |a - b| <= tol * (1 + |b|), as before.
 * On WebGPU (float32, epsilon 1.2e-7) a case passes `f32Tol`, checked normwise:
 * |a - b| <= f32Tol * (1 + max|b|), since the matrix functions are normwise (not
 * entrywise) accurate and a small entry of a large matrix carries the large entries'
 * rounding. The values, set where each test calls `close`:
 * - 1e-5: expm of small-norm matrices, solve residuals, vmap vs loop, det/inv identities
 *   (a few dozen float32 roundings on well-conditioned n <= 5 matrices);
 * - 1e-4 (2e-4 for grad of grad): float32 results against float64 central differences on
 *   the CPU, and expm of norm up to ~30 (scaling and squaring amplifies the rounding by
 *   about 2^s, s <= 5) or of rotations by up to 20 rad;
 * - exact (0) where float32 holds the answer exactly (permutations, halves, identical
 *   programs), and the float32-vs-float64 comparison of the CPU test keeps its 1e-5.
 * Without `f32Tol`, WebGPU uses `tol` entrywise too.
 */
async function close(a: Arr, b: Arr | ArrayLike<number>, tol = 1e-12, f32Tol?: number): Promise<void> {
  if ("backend" in a) expect((a as NDArray).backend, "computed on the backend under test").toBe(testBackend);
  const x = await a.data();
  const y = "shape" in b ? await (b as Arr).data() : (b as ArrayLike<number>);
  expect(x.length).toBe(y.length);
  const normwise = onWebgpu && f32Tol !== undefined;
  const t = normwise ? f32Tol : tol;
  let scale = 0;
  for (let i = 0; i < y.length; i++) if (Number.isFinite(y[i])) scale = Math.max(scale, Math.abs(y[i]));
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const w = y[i];
    if (!(Math.abs(v - w) <= t * (1 + (normwise ? scale : Math.abs(w))))) throw new Error(`entry ${i}: ${v} vs ${w} (tol ${t}${normwise ? " normwise" : ""})`);
  }
}

/** Uniform noise, as a Pair (drawn in float64 on the CPU; see pairOf). */
function noise(rng: Rng, shape: number[], scale = 1): Pair {
  return pairOf(
    f64(
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-scale, scale)),
      shape,
    ),
  );
}

function wellConditioned(rng: Rng, shape: number[]): Pair {
  const n = shape[shape.length - 1];
  const x = noise(rng, shape, 0.5).ref;
  return pairOf(onCpu(() => np.add(x, np.mul(np.eye(n, n, { dtype: "float64" }), n)) as NDArray));
}

/** exp(A) = sum_k A^k / k!, in plain JS (for small norms). */
function powerSeries(a: ArrayLike<number>, n: number, terms = 40): number[] {
  const out = new Array<number>(n * n).fill(0);
  let term: number[] = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  for (let k = 1; k <= terms; k++) {
    out.forEach((_, i) => (out[i] += term[i]));
    const next = new Array<number>(n * n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let l = 0; l < n; l++) next[i * n + j] += (term[i * n + l] * a[l * n + j]) / k;
    term = next;
  }
  return out;
}

describe("expm", () => {
  it("matches its power series for small norms", async () => {
    await forSeeds(15, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const a = noise(rng, [n, n], rng.pick([0.001, 0.05, 0.3]));
      await close(linalg.expm(a.dev), powerSeries(a.ref.dataSync(), n), 1e-14, 1e-5);
    });
  });

  it("squares: expm(A) = expm(A/2)^2 for larger norms, and expm(A) expm(-A) = I", async () => {
    await forSeeds(15, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 6);
      const a = noise(rng, [2, n, n], rng.pick([1, 3, 6])).dev;
      const half = linalg.expm(a.mul(0.5));
      await close(linalg.expm(a), np.matmul(half, half), 1e-10, 1e-4);
      // The product cancels to I with rounding error ~ eps * n * max|e^A| * max|e^-A|, which for
      // norm-6 matrices exceeds 1e-9; scale the tolerance by that error bound (float64: 1e-14,
      // about 45 eps; float32 on WebGPU: 1e-5, about 80 eps, as each factor is itself only
      // normwise accurate to a few dozen eps).
      const ea = linalg.expm(a);
      const eb = linalg.expm(a.neg());
      const bound = n * (await scalarOf(np.max(np.abs(ea)))) * (await scalarOf(np.max(np.abs(eb))));
      await close(np.matmul(ea, eb), await np.broadcastTo(eye(n), [2, n, n]).data(), onWebgpu ? Math.max(1e-5, 1e-5 * bound) : Math.max(1e-12, 1e-14 * bound));
    });
  });

  it("gives rotations for skew generators and exp of the entries for diagonals", async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: -20, max: 20, noNaN: true }), async (t0) => {
        const t = onWebgpu ? Math.fround(t0) : t0;
        const r = linalg.expm(dev([0, -t, t, 0], [2, 2]));
        await close(r, [Math.cos(t), -Math.sin(t), Math.sin(t), Math.cos(t)], 1e-12, 1e-4);
      }),
      { numRuns: onWebgpu ? 10 : 30 },
    );
    const d = [-3, 0.5, 0, 7];
    await close(
      linalg.expm(np.mul(eye(4), dev(d, [4]))),
      d.flatMap((v, i) => d.map((_, j) => (i === j ? Math.exp(v) : 0))),
      1e-14,
      1e-6,
    );
  });

  it("is batched over leading axes and accepts float32 and ints", async () => {
    const rng = new Rng(7);
    const { dev: a, ref: ar } = noise(rng, [2, 3, 3, 3], 2);
    const out = linalg.expm(a);
    expect(out.shape).toEqual([2, 3, 3, 3]);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) await close(out.slice(i, j), linalg.expm(a.slice(i, j)), 0);
    const f32 = linalg.expm(a.astype("float32"));
    expect(f32.dtype).toBe("float32");
    // float32 against the float64 result (computed on the CPU): 1e-5 entrywise on both backends.
    await close(
      f32,
      onCpu(() => linalg.expm(ar)),
      1e-5,
    );
    const ints = linalg.expm(
      np.array(
        [
          [0, 1],
          [0, 0],
        ],
        { dtype: "int32" },
      ),
    );
    expect(ints.dtype).toBe("float32");
    await close(ints, [1, 1, 0, 1], 0);
    // Non-finite input: NaN everywhere rather than a misleading finite matrix.
    expect(Array.from(await linalg.expm(dev([NaN, 0, 0, 1], [2, 2])).data()).every(Number.isNaN)).toBe(true);
  });
});

describe("expm derivatives", () => {
  it("expmFrechet matches finite differences of expm and is linear in E", async () => {
    await forSeeds(15, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const a = noise(rng, [n, n], rng.pick([0.1, 1, 3]));
      const e = noise(rng, [n, n]);
      const h = 1e-6;
      const fd = onCpu(() =>
        linalg
          .expm(a.ref.add(e.ref.mul(h)))
          .sub(linalg.expm(a.ref.sub(e.ref.mul(h))))
          .div(2 * h),
      );
      await close(linalg.expmFrechet(a.dev, e.dev), fd, 1e-7, 1e-4);
      await close(linalg.expmFrechet(a.dev, e.dev.mul(1e8)), linalg.expmFrechet(a.dev, e.dev).mul(1e8), 1e-12, 1e-5);
      const [, t] = jvp(linalg.expm, [a.dev], [e.dev]);
      await close(t, linalg.expmFrechet(a.dev, e.dev), 0);
    });
  });

  it("transposes in E: <L(A, E), C> = <E, L(A^T, C)>", async () => {
    const rng = new Rng(3);
    const [a, e, c] = [noise(rng, [4, 4], 2).dev, noise(rng, [4, 4]).dev, noise(rng, [4, 4]).dev];
    const [, back] = vjp((x: Arr) => linalg.expmFrechet(a, x), e);
    // On WebGPU relative to the sum of |terms| (the inner products may cancel).
    const terms = await scalarOf(np.sum(np.abs(linalg.expmFrechet(a, e).mul(c))));
    await close(np.sum(linalg.expmFrechet(a, e).mul(c)), np.sum(back(c)[0].mul(e)), 1e-12, 1e-5 * terms);
    expect(() => expmFrechetP.transpose!([c], [new UndefinedPrimal(a.aval), e], {})).toThrow(/expm_frechet: not linear in A/);
  });

  it("grad of sum(expm(A) * W) matches finite differences", async () => {
    await forSeeds(10, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const [a, w] = [noise(rng, [n, n], rng.pick([0.3, 2])), noise(rng, [n, n])];
      const f = (x: Arr) => np.sum(linalg.expm(x).mul(sel(x, w)));
      await close(grad(f)(a.dev), fdGrad(f, a.ref, 1e-5), 1e-7, 1e-4);
    });
  });

  it("grad of grad through expm is finite and matches finite differences of the gradient", async () => {
    await forSeeds(5, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 4);
      const [a, w, v] = [noise(rng, [n, n], 1), noise(rng, [n, n]), noise(rng, [n, n])];
      const g = (x: Arr) => np.sum(grad((y: Arr) => np.sum(linalg.expm(y).mul(sel(x, w))))(x).mul(sel(x, v)));
      const gg = grad(g)(a.dev);
      expect(Array.from(await gg.data()).every(Number.isFinite)).toBe(true);
      await close(gg, fdGrad(g, a.ref, 1e-5), 1e-6, 2e-4);
    });
  });

  it("vmap of grad through expm equals a loop (per-sample Augerino gradients)", async () => {
    const rng = new Rng(11);
    const as = noise(rng, [4, 3, 3], 1.5).dev;
    const w = noise(rng, [3, 3]).dev;
    const g = grad((x: Arr) => np.sum(linalg.expm(x).mul(w)));
    const batched = vmap(g)(as);
    for (let i = 0; i < 4; i++) await close(batched.slice(i), g(as.slice(i)), 1e-12, 1e-5);
  });
});

describe("solve and inv", () => {
  it("leaves a small residual A X - B, for vector and matrix right-hand sides", async () => {
    await forSeeds(15, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 6);
      const a = wellConditioned(rng, [2, n, n]).dev;
      const b = noise(rng, [2, n, rng.int(1, 4)]).dev;
      await close(np.matmul(a, linalg.solve(a, b)), b, 1e-12, 1e-5);
      const v = noise(rng, [n]).dev;
      const x = linalg.solve(a, v);
      expect(x.shape).toEqual([2, n]);
      await close(np.matmul(a, np.expandDims(x, -1)), np.broadcastTo(np.expandDims(v, -1), [2, n, 1]), 1e-12, 1e-5);
      await close(np.matmul(linalg.inv(a), a), np.broadcastTo(eye(n), [2, n, n]), 1e-12, 1e-5);
    });
  });

  it("broadcasts batch axes of A and b and pivots where the diagonal is zero", async () => {
    const a = dev([0, 1, 1, 0], [2, 2]);
    await close(linalg.solve(a, dev([2, 3], [2])), [3, 2], 0);
    const bs = dev([1, 2, 3, 4, 5, 6], [3, 2, 1]);
    await close(linalg.solve(a, bs), [2, 1, 4, 3, 6, 5], 0);
  });

  it("gradients in A and B match finite differences; the transpose in B is solve(A^T, ct)", async () => {
    await forSeeds(10, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const [a, b, w] = [wellConditioned(rng, [n, n]), noise(rng, [n, 2]), noise(rng, [n, 2])];
      const fa = (x: Arr) => np.sum(linalg.solve(x, sel(x, b)).mul(sel(x, w)));
      const fb = (x: Arr) => np.sum(linalg.solve(a.dev, x).mul(w.dev));
      await close(grad(fa)(a.dev), fdGrad(fa, a.ref, 1e-5), 1e-8, 1e-4);
      await close(grad(fb)(b.dev), linalg.solve(np.swapaxes(a.dev, -1, -2), w.dev), 1e-13, 1e-5);
      const r = noise(new Rng(seed), [n, n]);
      const fi = (x: Arr) => np.sum(linalg.inv(x).mul(sel(x, r)));
      await close(grad(fi)(a.dev), fdGrad(fi, a.ref, 1e-5), 1e-8, 1e-4);
    });
    const a = eye(2);
    expect(() => solveP.transpose!([a], [new UndefinedPrimal(a.aval), a], {})).toThrow(/solve: not linear in A/);
  });

  it("gives NaN for a singular matrix instead of throwing", async () => {
    const x = linalg.solve(dev([1, 2, 2, 4], [2, 2]), dev([1, 1], [2]));
    expect(Array.from(await x.data()).every(Number.isNaN)).toBe(true);
    const both = linalg.inv(dev([1, 2, 2, 4, 2, 0, 0, 2], [2, 2, 2]));
    expect(Array.from(await both.slice(0).data()).every(Number.isNaN)).toBe(true);
    await close(both.slice(1), [0.5, 0, 0, 0.5], 0);
  });
});

describe("det and slogdet", () => {
  it("is the product of the diagonal for triangular matrices", async () => {
    await forSeeds(15, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 6);
      const a = noise(rng, [n, n], 2).ref;
      const upper = a.dataSync().map((v, i) => (Math.floor(i / n) <= i % n ? v : 0));
      const diag = Array.from({ length: n }, (_, i) => upper[i * n + i]);
      const prod = diag.reduce((p, v) => p * v, 1);
      // float32: n <= 5 correctly rounded products, entrywise 1e-6.
      const tol = onWebgpu ? 1e-6 : 1e-13;
      await close(linalg.det(dev(upper, [n, n])), [prod], tol);
      await close(linalg.det(np.swapaxes(dev(upper, [n, n]), 0, 1)), [prod], tol);
    });
  });

  it("matches the 2x2 and 3x3 formulas, and slogdet agrees with det", async () => {
    await forSeeds(15, async (seed) => {
      const rng = new Rng(seed);
      // Drawn in float64; on WebGPU the formulas use the float32 values the backend holds.
      const [p, q, r, s] = pairOf(
        f64(
          [0, 0, 0, 0].map(() => rng.uniform(-3, 3)),
          [4],
        ),
      ).ref.dataSync();
      // float32 (WebGPU): the error is a few eps times the terms' magnitudes, not |det|, so the
      // tolerance scales with sum |terms| / (1 + |det|) (and sum |terms| / |det| for log|det|).
      const t2 = onWebgpu ? (1e-6 * (1 + Math.abs(p * s) + Math.abs(q * r))) / (1 + Math.abs(p * s - q * r)) : 1e-13;
      await close(linalg.det(dev([p, q, r, s], [2, 2])), [p * s - q * r], t2);
      const m = Array.from(
        pairOf(
          f64(
            Array.from({ length: 9 }, () => rng.uniform(-3, 3)),
            [9],
          ),
        ).ref.dataSync(),
      );
      const [a, b, c, d, e, f, g, h, i] = m;
      const d3 = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
      const s3 = [a * e * i, a * f * h, b * d * i, b * f * g, c * d * h, c * e * g].reduce((acc, v) => acc + Math.abs(v), 0);
      const t3 = onWebgpu ? (1e-6 * (1 + s3)) / (1 + Math.abs(d3)) : 1e-12;
      const tlog = onWebgpu ? (1e-6 * s3) / Math.abs(d3) : 1e-12;
      await close(linalg.det(dev(m, [3, 3])), [d3], t3);
      const [sign, logabs] = linalg.slogdet(dev(m, [3, 3]));
      await close(sign, [Math.sign(d3)], 0);
      await close(logabs, [Math.log(Math.abs(d3))], tlog);
    });
    await close(linalg.det(dev([1, 2, 2, 4], [2, 2])), [0], 0);
    const [sign, logabs] = linalg.slogdet(dev([1, 2, 2, 4], [2, 2]));
    await close(sign, [0], 0);
    expect(await scalarOf(logabs)).toBe(-Infinity);
  });

  it("grad of det is det * inv(A)^T; grad of logabsdet is inv(A)^T; second derivatives match finite differences", async () => {
    await forSeeds(10, async (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const a = wellConditioned(rng, [n, n]);
      const invT = np.swapaxes(linalg.inv(a.dev), 0, 1);
      await close(grad((x: Arr) => linalg.det(x))(a.dev), linalg.det(a.dev).mul(invT), 1e-11, 1e-5);
      await close(grad((x: Arr) => linalg.slogdet(x)[1])(a.dev), invT, 1e-12, 1e-5);
      const v = noise(rng, [n, n]);
      const g = (x: Arr) => np.sum(grad((y: Arr) => linalg.det(y))(x).mul(sel(x, v)));
      await close(grad(g)(a.dev), fdGrad(g, a.ref, 1e-5), 1e-6, 1e-4);
    });
  });
});

describe("linalg under transformations", () => {
  const rng = new Rng(5);
  const A = wellConditioned(rng, [3, 3]).dev;
  const As = pairOf(onCpu(() => np.add(noise(rng, [4, 3, 3], 0.5).ref, np.mul(np.eye(3, 3, { dtype: "float64" }), 3)) as NDArray)).dev;
  const Es = noise(rng, [4, 3, 3]).dev;
  const Bs = noise(rng, [3, 4, 2]).dev; // mapped along axis 1
  const fns: [string, (...xs: Arr[]) => Arr, Arr[], (number | null)[]][] = [
    ["expm", (a) => linalg.expm(a), [As], [0]],
    ["expmFrechet", (a, e) => linalg.expmFrechet(a, e), [As, Es], [0, 0]],
    ["expmFrechet, unbatched A", (a, e) => linalg.expmFrechet(a, e), [A, Es], [null, 0]],
    ["solve", (a, b) => linalg.solve(a, b), [As, Bs], [0, 1]],
    ["solve, unbatched A", (a, b) => linalg.solve(a, b), [A, Bs], [null, 1]],
    ["det", (a) => linalg.det(a), [As], [0]],
    ["slogdet", (a) => linalg.slogdet(a)[1].add(linalg.slogdet(a)[0]), [As], [0]],
    ["inv", (a) => linalg.inv(a), [As], [0]],
  ];
  for (const [name, f, args, inAxes] of fns) {
    it(`${name}: vmap equals a loop and jit equals eager`, async () => {
      const out = vmap(f, { inAxes })(...args);
      for (let i = 0; i < 4; i++) {
        const sliced = args.map((x, k) => (inAxes[k] === null ? x : inAxes[k] === 0 ? x.slice(i) : np.take(x, i, { axis: inAxes[k]! })));
        await close(out.slice(i), f(...sliced), 1e-13, 1e-5);
        await close(jit(f)(...sliced), f(...sliced), 0);
      }
    });
  }

  it("every primitive case builds valid inputs on which jit equals eager", async () => {
    for (const c of cases) {
      const prim = getPrimitive(c.prim);
      for (let seed = 1; seed < 6; seed++) {
        const made = onCpu(() => c.make(new Rng(seed)));
        const args = made.args.map((x) => pairOf(x as NDArray).dev);
        const eager = bind(prim, args, made.params)[0];
        expect(Array.from(await eager.data()).every(Number.isFinite)).toBe(true);
        await close(jit((...xs: Arr[]) => bind(prim, xs, made.params)[0])(...args), eager, 0);
      }
    }
    expect(cases.map((c) => c.prim).sort()).toEqual(["det", "det_sign", "expm", "expm_frechet", "log_abs_det", "solve"]);
  });
});

describe("linalg input checks", () => {
  it("rejects non-square and mismatched shapes with the function's name", () => {
    const r = dev([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => linalg.expm(r)).toThrow(/linalg.expm: expected a square matrix .* got \[2, ?3\]/);
    expect(() => linalg.det(dev([1, 2], [2]))).toThrow(/linalg.det: expected a square matrix/);
    expect(() => linalg.inv(r)).toThrow(/linalg.inv/);
    expect(() => linalg.slogdet(r)).toThrow(/linalg.slogdet/);
    expect(() => linalg.solve(eye(3), dev([1, 2], [2]))).toThrow(/linalg.solve: b \[2\] does not match A \[3, ?3\]/);
    expect(() => linalg.solve(eye(2), dev([1, 2, 3, 4, 5, 6], [3, 2]))).toThrow(/np.expandDims\(b, -1\)/);
    expect(() => linalg.solve(np.zeros([2, 2, 2], { dtype: FLOAT }), np.zeros([3, 2, 1], { dtype: FLOAT }))).toThrow(/linalg.solve/);
    expect(() => linalg.expmFrechet(eye(2), eye(3))).toThrow(/linalg.expmFrechet: the direction E/);
  });

  it("promotes integer inputs to float32", async () => {
    const a = np.array(
      [
        [2, 1],
        [1, 3],
      ],
      { dtype: "int32" },
    );
    expect(linalg.det(a).dtype).toBe("float32");
    expect(linalg.inv(a).dtype).toBe("float32");
    expect(linalg.solve(a, np.array([1, 2], { dtype: "int32" })).dtype).toBe("float32");
    await close(linalg.det(a), [5], 1e-6);
  });

  itOnCpu("WebGPU has no float64")("promotes integer with float64 inputs to float64", () => {
    const a = np.array(
      [
        [2, 1],
        [1, 3],
      ],
      { dtype: "int32" },
    );
    expect(linalg.solve(a, f64([1, 2], [2])).dtype).toBe("float64");
  });
});
