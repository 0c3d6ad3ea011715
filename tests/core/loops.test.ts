/**
 * Loops that stay loops (core/control/): programs whose size does not depend on the trip
 * count, long loops under jit and grad, data-dependent while loops, the errors of bad
 * bodies, and a Lanczos iteration over Hessian-vector products written as a scan.
 */
import { describe, expect, it } from "vitest";
import { np, lax, grad, vmap, jit, jvp, makeJaxpr, type Array } from "../../index.ts";
import { symmetricEigen } from "../../core/lanczos.ts";
import { whileStats } from "../../core/control/while.ts";
import { FLOAT, onCpu, onWebgpu } from "../backend-under-test.ts";
import { scalarOf } from "../helpers.ts";

const f = (xs: number[]) => np.array(xs, { dtype: FLOAT });
const int = (v: number) => np.array(v, { dtype: "int32" });

describe("trip counts", () => {
  it("a loop's program does not grow with its trip count, and stages in well under a second at 100,000 steps", () => {
    const loop = (n: number) => (x: Array) => lax.forLoop(0, n, (i: Array, c: Array) => c.mul(0.5).add(np.sin(i.astype(FLOAT))), x);
    const sizes = [100, 100_000].map((n) => {
      const t = performance.now();
      const jp = makeJaxpr(loop(n))(f([1]));
      return { eqns: jp.jaxpr.eqns.length, text: jp.toString().length, ms: performance.now() - t };
    });
    expect(sizes[1].eqns).toBe(sizes[0].eqns);
    expect(sizes[1].text).toBe(sizes[0].text + 3); // "length=100" vs "length=100000"
  });

  it(`a jitted forLoop of ${onWebgpu ? "2,000" : "100,000"} steps equals the JS loop`, async () => {
    const n = onWebgpu ? 2_000 : 100_000;
    const step = jit((x: Array) => lax.forLoop(0, n, (i: Array, c: Array) => c.mul(0.9999).add(np.sin(i.astype(FLOAT)).mul(1e-4)), x));
    let want = 0.5;
    for (let i = 0; i < n; i++) want = want * 0.9999 + Math.sin(i) * 1e-4;
    expect(Math.abs((await scalarOf(step(f([0.5]).reshape([])))) - want)).toBeLessThan(onWebgpu ? 1e-4 : 1e-12);
  });

  it(`grad through a ${onWebgpu ? "1,000" : "10,000"}-step scan equals finite differences`, async () => {
    const n = onWebgpu ? 1_000 : 10_000;
    const xs = np.sin(np.arange(n).astype(FLOAT)).mul(0.01);
    const loss = (w: Array) => {
      const [c, ys] = lax.scan((c: Array, x: Array) => [c.mul(w).add(x), c.mul(c)], np.zeros([], { dtype: FLOAT }), xs);
      return ys.sum().add(c);
    };
    const w0 = onWebgpu ? Math.fround(0.995) : 0.995;
    const g = await scalarOf(grad(loss)(f([w0]).reshape([])));
    const ref = (w: number) => {
      let c = 0;
      let s = 0;
      for (let i = 0; i < n; i++) {
        s += c * c;
        c = c * w + Math.sin(i) * 0.01;
      }
      return s + c;
    };
    const fd = (ref(w0 + 1e-6) - ref(w0 - 1e-6)) / 2e-6;
    expect(Math.abs(g - fd)).toBeLessThan((onWebgpu ? 1e-3 : 1e-6) * (1 + Math.abs(fd)));
  });

  it("a zero-length scan returns the initial carry and empty stacked outputs", () => {
    const [c, ys] = lax.scan((c: Array, x: Array) => [c.add(x), { a: c.mul(x), b: x.reshape([1, 2]) }], np.zeros([2]), np.zeros([0, 2]));
    expect(c.shape).toEqual([2]);
    expect(ys.a.shape).toEqual([0, 2]);
    expect(ys.b.shape).toEqual([0, 1, 2]);
    expect(jit((x: Array) => lax.scan((cc: Array, xi: Array) => [cc, xi.sum()], x, np.zeros([0, 3]))[1])(np.ones([2])).shape).toEqual([0]);
  });
});

describe("whileLoop", () => {
  // Halve until below 1, counting steps: the trip count depends on the data.
  const halvings = (x: Array) =>
    lax.whileLoop(
      ([v]: Array[]) => v.greaterEqual(1),
      ([v, k]: Array[]) => [v.mul(0.5), k.add(int(1))],
      [x, int(0)],
      onWebgpu ? { maxIterations: 16 } : {},
    );
  const want = (v: number) => (v < 1 ? 0 : Math.floor(Math.log2(v)) + 1);

  it("runs a data-dependent number of steps, under jit and vmap (a batched predicate runs until every element is done)", async () => {
    for (const v of [0.5, 1, 3, 100, 1000]) expect(await scalarOf(halvings(f([v]).reshape([]))[1])).toBe(want(v));
    expect(await scalarOf(jit(halvings)(f([37]).reshape([]))[1])).toBe(want(37));
    const [, counts] = vmap(halvings)(f([0.25, 3, 100, 9000]));
    expect([...(await counts.data())]).toEqual([0.25, 3, 100, 9000].map(want));
  });

  it("reads its predicate once per step and once more to stop (on a backend that reads synchronously)", () => {
    if (onWebgpu) return;
    const before = { ...whileStats };
    halvings(f([100]).reshape([]));
    expect(whileStats.steps - before.steps).toBe(want(100));
    expect(whileStats.predicateReads - before.predicateReads).toBe(want(100) + 1);
  });

  it("differentiates in forward mode, and says what to use for reverse mode", async () => {
    const sq = (x: Array) =>
      lax.whileLoop(
        (v: Array) => v.less(100),
        (v: Array) => v.mul(v),
        x,
        onWebgpu ? { maxIterations: 8 } : {},
      );
    const [y, t] = jvp(sq, [f([1.5]).reshape([])], [f([1]).reshape([])]);
    expect(await scalarOf(y)).toBeCloseTo(1.5 ** 16, onWebgpu ? 1 : 8);
    expect((await scalarOf(t)) / (16 * 1.5 ** 15)).toBeCloseTo(1, 5);
    expect(() => grad(sq)(f([1.5]).reshape([]))).toThrow(/reverse-mode .* use lax\.scan or lax\.forLoop/);
  });

  it("traced bounds of forLoop become a while loop", async () => {
    const g = jit((n: Array, x: Array) => lax.forLoop(0, n, (_i: Array, c: Array) => c.mul(2), x));
    expect(await scalarOf(onCpu(() => g(int(5), np.array(1))))).toBe(32);
  });

  it("on a backend that reads asynchronously, asks for maxIterations instead of guessing", () => {
    if (!onWebgpu) return;
    expect(() =>
      lax.whileLoop(
        (v: Array) => v.less(100),
        (v: Array) => v.mul(2),
        f([1]).reshape([]),
      ),
    ).toThrow(/maxIterations/);
  });
});

describe("errors name what was wrong", () => {
  it("a carry whose shape or dtype changes", () => {
    expect(() => lax.scan((c: Array, x: Array) => [c.add(x), x], np.zeros([]), np.ones([3, 2]))).toThrow(
      /initial carry's shapes and dtypes; it started as \(float32\[\]\) and the body returned \(float32\[2\]\)/,
    );
    expect(() => lax.forLoop(0, 3, (_i: Array, c: Array) => c.astype("int32"), np.zeros([2]))).toThrow(/float32\[2\].*int32\[2\]/);
    expect(() =>
      lax.whileLoop(
        (c: Array) => c.sum().less(3),
        (c: Array) => c.reshape([1, 2]),
        np.zeros([2]),
      ),
    ).toThrow(/started as \(float32\[2\]\) and bodyFn returned \(float32\[1,2\]\)/);
    expect(() =>
      lax.whileLoop(
        (c: Array) => c,
        (c: Array) => c,
        np.zeros([2]),
      ),
    ).toThrow(/condFn must return one boolean scalar/);
  });
  it("branches that disagree, under jit or not", () => {
    const bad = (x: Array) =>
      lax.cond(
        x.sum().greater(0),
        (v: Array) => v,
        (v: Array) => v.astype("int32"),
        x,
      );
    expect(() => bad(np.ones([2]))).toThrow(/branch outputs differ at leaf 0: falseFn returns int32\[2\] but trueFn returns float32\[2\]/);
    expect(() => jit(bad)(np.ones([2]))).toThrow(/branch outputs differ/);
    expect(() => lax.switch(int(0), [(v: Array) => [v], (v: Array) => v], np.ones([2]))).toThrow(/different structures/);
  });
});

describe("Lanczos over Hessian-vector products, as one jitted scan", () => {
  it("its tridiagonal matrix's extreme eigenvalues match the Hessian's on a small network", async () => {
    // A 3-4-1 tanh network on 8 points; the parameters are one flat vector of 21.
    const x = np.sin(np.arange(24).astype(FLOAT).reshape([8, 3]).mul(0.7));
    const y = np.cos(np.arange(8).astype(FLOAT));
    const loss = (w: Array) => {
      const W1 = w.slice([0, 12]).reshape([3, 4]);
      const h = np.tanh(np.matmul(x, W1).add(w.slice([12, 16])));
      const out = np.matmul(h, w.slice([16, 20])).add(w.slice(20));
      return np.mean(np.square(out.sub(y)));
    };
    const n = 21;
    const k = 12;
    const w0 = np.cos(np.arange(n).astype(FLOAT).mul(1.3)).mul(0.8);
    const hvpOf = (w: Array, v: Array) => jvp(grad(loss), [w], [v])[1] as Array;
    const tridiagonal = jit((w: Array, v0: Array) => {
      const body = ([V, v, vPrev, beta, i]: Array[]): [Array[], Array[]] => {
        V = V.add(np.equal(np.arange(k), i).astype(FLOAT).reshape([k, 1]).mul(v));
        let r = hvpOf(w, v);
        const alpha = np.dot(r, v);
        r = r.sub(v.mul(alpha)).sub(vPrev.mul(beta));
        // Full reorthogonalisation against the vectors so far (twice is enough in floating point).
        r = r.sub(np.matmul(np.matmul(V, r), V));
        r = r.sub(np.matmul(np.matmul(V, r), V));
        const b = np.sqrt(np.dot(r, r));
        return [
          [V, r.div(b.add(1e-30)), v, b, i.add(int(1))],
          [alpha, b],
        ];
      };
      return lax.scan(body, [np.zeros([k, n], { dtype: FLOAT }), v0.div(np.sqrt(np.dot(v0, v0))), np.zeros([n], { dtype: FLOAT }), np.zeros([], { dtype: FLOAT }), int(0)], null, { length: k })[1];
    });
    const [alphas, betas] = tridiagonal(w0, np.ones([n], { dtype: FLOAT }));
    const [a, b] = [[...(await alphas.data())], [...(await betas.data())]];
    const T = a.map((ai, i) => a.map((_, j) => (i === j ? ai : Math.abs(i - j) === 1 ? b[Math.min(i, j)] : 0)));
    const ritz = symmetricEigen(T).values.sort((p, q) => p - q);
    const H = await Promise.all(globalThis.Array.from({ length: n }, (_, i) => i).map(async (i) => [...(await hvpOf(w0, np.equal(np.arange(n), i).astype(FLOAT)).data())]));
    const eig = symmetricEigen(H.map((row, i) => row.map((v, j) => (v + H[j][i]) / 2))).values.sort((p, q) => p - q);
    const tol = onWebgpu ? 1e-3 : 1e-8;
    expect(Math.abs(ritz[k - 1] - eig[n - 1])).toBeLessThan(tol * (1 + Math.abs(eig[n - 1])));
    expect(Math.abs(ritz[0] - eig[0])).toBeLessThan(Math.max(tol, 1e-6) * 10 * (1 + Math.abs(eig[n - 1])));
  });
});
