import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, grad, vmap, jit, jvp, vjp, valueAndGrad, jacfwd, jacrev, hessian, makeJaxpr, customVjp, type Array } from "../../index.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";

/** Elementwise |a - b| <= tol * (1 + |b|), reading arrays on any backend. */
const close = async (a: Array, b: Array | number, tol = 1e-5) => {
  const x = await a.data();
  const y = typeof b === "number" ? [b] : await b.data();
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]))));
};
/**
 * Agreement of two routes to the same O(1) values: 1e-12 in float64 on the CPU; WebGPU
 * computes in float32 (epsilon 1.2e-7), where a few ops' rounding and WGSL's sin and cos
 * stay well inside 1e-5.
 */
const TIGHT = onWebgpu ? 1e-5 : 1e-12;
const scalar = (v: number) => np.array(v, { dtype: FLOAT });

describe("compositions of transformations", () => {
  it("grad of grad of grad of sin is -cos", async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: -3, max: 3, noNaN: true }), async (v) => {
        const d3 = grad(grad(grad((x: Array) => np.sin(x))))(scalar(v));
        // The point as the backend holds it (float32 on WebGPU).
        const at = FLOAT === "float32" ? Math.fround(v) : v;
        await close(d3, -Math.cos(at), TIGHT);
      }),
      { numRuns: 20 },
    );
  });

  it("has no perturbation confusion: d/dx (x * d/dy (x + y)) = 1", async () => {
    const f = (x: Array) => x.mul(grad((y: Array) => x.add(y))(scalar(1)));
    await close(grad(f)(scalar(2.5)), 1);
  });

  it("vmap of grad gives per-example gradients equal to a loop", async () => {
    const w = np.array(
      [
        [0.5, -1],
        [2, 0.25],
      ],
      { dtype: FLOAT },
    );
    const xs = np.array(
      [
        [1, 2],
        [3, -4],
        [0.5, 0.5],
      ],
      { dtype: FLOAT },
    );
    const loss = (w: Array, x: Array) => np.sum(np.tanh(np.matmul(x, w)));
    const batched = vmap(grad(loss), { inAxes: [null, 0] })(w, xs);
    for (let i = 0; i < 3; i++) await close(batched.slice(i), grad(loss)(w, xs.slice(i)), TIGHT);
  });

  it("grad of vmap, jit of grad of vmap, grad of jit and vmap of jit agree with eager", async () => {
    const W = np.array(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { dtype: FLOAT },
    );
    const f = (w: Array) => np.sum(vmap((r: Array) => np.sin(np.dot(r, w)))(W));
    const w = np.array([0.3, -0.2], { dtype: FLOAT });
    const eager = grad(f)(w);
    await close(jit(grad(f))(w), eager, TIGHT);
    await close(grad((w: Array) => jit(f)(w))(w), eager, TIGHT);
    await close(vmap(jit((r: Array) => np.sum(np.square(r))))(W), np.sum(np.square(W), { axis: 1 }), TIGHT);
  });

  it("valueAndGrad with argnums and hasAux", async () => {
    const f = (a: Array, b: Array) => [np.sum(a.mul(b)), { prod: a.mul(b) }];
    const a = np.array([1, 2], { dtype: FLOAT });
    const b = np.array([3, 4], { dtype: FLOAT });
    const [[v, aux], [ga, gb]] = valueAndGrad(f, { argnums: [0, 1], hasAux: true })(a, b);
    await close(v, 11);
    await close((aux as { prod: Array }).prod, np.array([3, 8]));
    await close(ga, b);
    await close(gb, a);
  });

  it("jvp and vjp agree through <J t, c> = <t, J^T c>", async () => {
    const f = (x: Array) => np.exp(x).mul(np.roll(x, 1));
    const x = np.array([0.1, -0.5, 0.7], { dtype: FLOAT });
    const t = np.array([1, 2, -1], { dtype: FLOAT });
    const c = np.array([0.5, -1, 3], { dtype: FLOAT });
    const [, jt] = jvp(f, [x], [t]);
    const [, back] = vjp(f, x);
    await close(np.sum(jt.mul(c)), np.sum(back(c)[0].mul(t)), TIGHT);
  });

  it("jacfwd, jacrev and hessian", async () => {
    const x = np.array([0.2, 0.4, -0.3], { dtype: FLOAT });
    await close(jacfwd(np.sin)(x), jacrev(np.sin)(x), TIGHT);
    const h = hessian((x: Array) => np.sum(x.mul(x).mul(x)))(x);
    await close(h, np.mul(np.eye(3, 3, { dtype: FLOAT }), x.mul(6)), TIGHT);
  });

  it("customVjp replaces the reverse rule and keeps the forward value", async () => {
    const clipGrad = customVjp(
      (x: Array) => x.mul(2),
      (x: Array) => [x.mul(2), null],
      (_r: unknown, g: Array) => [np.clip(g, -0.5, 0.5)],
    );
    const x = np.array([1, -3], { dtype: FLOAT });
    await close(clipGrad(x), np.array([2, -6]));
    await close(grad((x: Array) => np.sum(clipGrad(x).mul(3)))(x), np.array([0.5, 0.5]));
  });

  it("jit caches per signature and prints a readable jaxpr", () => {
    const f = jit((x: Array) => np.sin(x).mul(2));
    f(np.ones([3]));
    f(np.zeros([3]));
    expect(f.cacheSize()).toBe(1);
    f(np.ones([4]));
    expect(f.cacheSize()).toBe(2);
    const text = makeJaxpr((x: Array) => np.sum(np.sin(x)))(np.ones([3])).toString();
    expect(text).toContain("sin");
    expect(text).toContain("reduce_sum");
  });
});

describe("errors that say what to do", () => {
  it("grad of a non-scalar output", () => {
    expect(() => grad((x: Array) => x.mul(2))(np.ones([3]))).toThrow(/must return a scalar.*np\.sum/);
  });
  it("vmap with mismatched axis sizes", () => {
    expect(() => vmap((a: Array, b: Array) => a.add(b))(np.ones([3]), np.ones([4]))).toThrow(/inconsistent sizes/);
  });
  it("jit of a function that branches on a traced value", () => {
    const f = jit((x: Array) => ((x as unknown as number) > 0 ? x : x.neg()));
    expect(() => f(np.ones([]))).toThrow(/np\.where, lax\.cond/);
  });
  it("reading data of a traced value inside jit", () => {
    expect(() => jit((x: Array) => x.dataSync())(np.ones([2]))).toThrow(/abstract here/);
  });
});
