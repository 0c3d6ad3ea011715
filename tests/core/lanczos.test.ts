import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, linalg, random, hvp, hessian, type Tracer } from "../../index.ts";
import { symmetricEigen } from "../../core/lanczos.ts";
import { Rng } from "../cases/types.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";

/** A symmetric matrix with the given spectrum: Q diag(values) Q^T, Q = expm(S - S^T) orthogonal. */
function withSpectrum(values: number[], seed: number): Tracer {
  const n = values.length;
  const s = new Rng(seed).array([n, n], FLOAT);
  const q = linalg.expm(s.sub(s.T).mul(0.5));
  return np.matmul(q.mul(np.array(values, { dtype: FLOAT }).reshape([1, n])), q.T);
}

// float64 on the CPU; float32 on WebGPU, where the Ritz values of operators of norm <= 5 carry ~1e-6 of rounding.
const tol = onWebgpu ? 2e-4 : 1e-8;

describe("linalg.lanczos", () => {
  it("with k = dim it finds every eigenvalue, largest first, and A u = lambda u for its Ritz vectors", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 10 }), async (seed, n) => {
        const rng = new Rng(seed);
        // Distinct eigenvalues, at least 0.05 apart.
        const values = Array.from({ length: n }, (_, i) => i * 0.3 + 0.05 + 0.2 * rng.next() - 1.5);
        const a = withSpectrum(values, seed);
        const r = await linalg.lanczos((v) => np.matmul(a, v), n, n, random.key(seed % 1000), { vectors: true, dtype: FLOAT });
        expect(r.steps).toBe(n);
        const want = [...values].sort((x, y) => y - x);
        r.values.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(tol * 10));
        const u = r.vectors!;
        const residual = np.matmul(a, u.T).sub(u.T.mul(np.array(r.values, { dtype: FLOAT })));
        expect(Math.max(...Array.from(await np.abs(residual).data(), Number))).toBeLessThan(tol * 100);
      }),
      { numRuns: onWebgpu ? 4 : 20 },
    );
  });

  it("with k much smaller than dim, the extreme eigenvalues converge first", async () => {
    const n = 120;
    // A bulk in [0, 1] and three outliers: 5, 4 at the top and -3 at the bottom.
    const values = [...Array.from({ length: n - 3 }, (_, i) => i / (n - 3)), 5, 4, -3];
    const a = withSpectrum(values, 7);
    const r = await linalg.lanczos((v) => np.matmul(a, v), n, 25, random.key(1), { dtype: FLOAT });
    expect(r.values.length).toBe(25);
    expect(Math.abs(r.values[0] - 5)).toBeLessThan(tol * 100);
    expect(Math.abs(r.values[1] - 4)).toBeLessThan(tol * 100);
    expect(Math.abs(r.values[24] + 3)).toBeLessThan(tol * 100);
  });

  it("stops early, exactly, on an invariant subspace (the identity has one Krylov direction)", async () => {
    const r = await linalg.lanczos((v) => v.mul(2), 30, 10, random.key(0), { dtype: FLOAT });
    expect(r.steps).toBe(1);
    expect(Math.abs(r.values[0] - 2)).toBeLessThan(tol);
  });

  it("on Hessian-vector products of a small network, the extreme Ritz values are the Hessian's extreme eigenvalues", async () => {
    const rng = new Rng(5);
    const x = rng.array([16, 3], FLOAT);
    const y = rng.array([16, 1], FLOAT);
    // A two-layer tanh network on a flat parameter vector of 3*4 + 4 = 16 entries.
    const loss = (w: Tracer) => {
      const w1 = w.slice([0, 12]).reshape([3, 4]);
      const w2 = w.slice([12, 16]).reshape([4, 1]);
      return np.mean(np.square(np.matmul(np.tanh(np.matmul(x, w1)), w2).sub(y)));
    };
    const w = rng.array([16], FLOAT);
    const h = hessian(loss)(w);
    const dense = symmetricEigen((await h.toArray()) as number[][]).values.sort((a, b) => b - a);
    const r = await linalg.lanczos((v) => hvp(loss)([w], [v]) as Tracer, 16, 16, random.key(3), { dtype: FLOAT });
    expect(Math.abs(r.values[0] - dense[0])).toBeLessThan(tol * 100 * Math.max(1, Math.abs(dense[0])));
    expect(Math.abs(r.values[r.values.length - 1] - dense[15])).toBeLessThan(tol * 100 * Math.max(1, Math.abs(dense[0])));
  });

  it("bad arguments are clear errors", async () => {
    const id = (v: Tracer) => v;
    await expect(linalg.lanczos(id, 4, 5, random.key(0))).rejects.toThrow(/linalg\.lanczos: k must be an integer in \[1, dim = 4\], got 5/);
    await expect(linalg.lanczos(id, 4, 2, random.key(0), { vector: true } as never)).rejects.toThrow(/unknown option "vector"/);
    await expect(linalg.lanczos((v) => v.slice([0, 2]), 4, 2, random.key(0))).rejects.toThrow(/matvec must return a vector of length 4, got \[2\]/);
  });
});

describe("symmetricEigen (the tridiagonal solver)", () => {
  it("A V = V diag(values) for random symmetric matrices", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 9 }), (seed, n) => {
        const rng = new Rng(seed);
        const b = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.uniform()));
        const a = b.map((row, i) => row.map((v, j) => v + b[j][i]));
        const { values, vectors } = symmetricEigen(a);
        for (let i = 0; i < n; i++)
          for (let c = 0; c < n; c++) {
            const av = a[i].reduce((s, v, j) => s + v * vectors[j][c], 0);
            expect(Math.abs(av - values[c] * vectors[i][c])).toBeLessThan(1e-12);
          }
      }),
    );
  });
});

describe("hvp", () => {
  it("equals the Hessian times v (float64), for every argument's tangent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), async (seed) => {
        const rng = new Rng(seed);
        const [w, v, c] = [rng.array([5], FLOAT), rng.array([5], FLOAT), rng.array([5], FLOAT)];
        const f = (x: Tracer, k: Tracer) => np.sum(np.sin(x.mul(k)).mul(np.square(x)));
        const got = hvp(f)([w, c], [v, np.zerosLike(c)]) as Tracer;
        const want = np.matmul(hessian((x: Tracer) => f(x, c))(w), v);
        const gap = Math.max(...Array.from(await np.abs(got.sub(want)).data(), Number));
        expect(gap).toBeLessThan(onWebgpu ? 1e-4 : 1e-12);
      }),
      { numRuns: onWebgpu ? 4 : 20 },
    );
  });

  it("rejects other call forms", () => {
    expect(() => hvp(3 as never)).toThrow(/hvp: expected a function/);
    expect(() => hvp((x: Tracer) => np.sum(x))(np.ones([2]) as never, np.ones([2]) as never)).toThrow(/call as hvp\(f\)\(\[args\.\.\.\], \[tangents\.\.\.\]\)/);
  });
});

describe("linalg.effectiveDimension", () => {
  it("counts each eigenvalue lambda / (lambda + alpha): near 1 far above alpha, 1/2 at alpha, near 0 far below, 0 when negative", () => {
    expect(linalg.effectiveDimension([1e9, 1, 1e-9, -5], 1)).toBeCloseTo(1 + 0.5 + 0, 6);
    expect(linalg.effectiveDimension([], 0.1)).toBe(0);
  });

  it("is the trace of H (H + alpha I)^-1 for a positive semi-definite H, falls as alpha grows, and counts at most the rank", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 8 }), fc.double({ min: 1e-3, max: 10, noNaN: true }), async (seed, n, alpha) => {
        const rng = new Rng(seed);
        const values = Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 5 * rng.next()));
        const h = withSpectrum(values, seed);
        const trace = np.trace(np.matmul(h, linalg.inv(h.add(np.eye(n, null, { dtype: FLOAT }).mul(alpha)))));
        const want = Number((await trace.data())[0]);
        const got = linalg.effectiveDimension(values, alpha);
        expect(Math.abs(got - want)).toBeLessThan(onWebgpu ? 1e-4 * n : 1e-9 * n);
        expect(linalg.effectiveDimension(values, alpha * 2)).toBeLessThanOrEqual(got);
        expect(got).toBeLessThan(n - 1 + 1e-12);
      }),
      { numRuns: onWebgpu ? 2 : 30 },
    );
  });

  it("bad arguments are clear errors", () => {
    expect(() => linalg.effectiveDimension(np.ones([3]) as never, 1)).toThrow(/linalg\.effectiveDimension: eigs must be an array/);
    expect(() => linalg.effectiveDimension([1, NaN], 1)).toThrow(/eigs\[1\] must be a finite number, got NaN/);
    expect(() => linalg.effectiveDimension([1], 0)).toThrow(/alpha must be a positive finite number, got 0/);
  });
});
