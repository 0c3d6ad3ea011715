import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, grad, vmap, jit, jvp, vjp, valueAndGrad, jacfwd, jacrev, hessian, makeJaxpr, customVjp, type Array } from "../../index.ts";

const close = (a: Array, b: Array | number, tol = 1e-5) => {
  const x = a.dataSync();
  const y = typeof b === "number" ? [b] : b.dataSync();
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]))));
};
const scalar = (v: number) => np.array(v, { dtype: "float64" });

describe("compositions of transformations", () => {
  it("grad of grad of grad of sin is -cos", () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), (v) => {
        const d3 = grad(grad(grad((x: Array) => np.sin(x))))(scalar(v));
        close(d3, -Math.cos(v), 1e-12);
      }),
      { numRuns: 20 },
    );
  });

  it("has no perturbation confusion: d/dx (x * d/dy (x + y)) = 1", () => {
    const f = (x: Array) => x.mul(grad((y: Array) => x.add(y))(scalar(1)));
    close(grad(f)(scalar(2.5)), 1);
  });

  it("vmap of grad gives per-example gradients equal to a loop", () => {
    const w = np.array([[0.5, -1], [2, 0.25]], { dtype: "float64" });
    const xs = np.array([[1, 2], [3, -4], [0.5, 0.5]], { dtype: "float64" });
    const loss = (w: Array, x: Array) => np.sum(np.tanh(np.matmul(x, w)));
    const batched = vmap(grad(loss), { inAxes: [null, 0] })(w, xs);
    for (let i = 0; i < 3; i++) close(batched.slice(i), grad(loss)(w, xs.slice(i)), 1e-12);
  });

  it("grad of vmap, jit of grad of vmap, grad of jit and vmap of jit agree with eager", () => {
    const W = np.array([[1, 2], [3, 4], [5, 6]], { dtype: "float64" });
    const f = (w: Array) => np.sum(vmap((r: Array) => np.sin(np.dot(r, w)))(W));
    const w = np.array([0.3, -0.2], { dtype: "float64" });
    const eager = grad(f)(w);
    close(jit(grad(f))(w), eager, 1e-12);
    close(grad((w: Array) => jit(f)(w))(w), eager, 1e-12);
    close(vmap(jit((r: Array) => np.sum(np.square(r))))(W), np.sum(np.square(W), { axis: 1 }), 1e-12);
  });

  it("valueAndGrad with argnums and hasAux", () => {
    const f = (a: Array, b: Array) => [np.sum(a.mul(b)), { prod: a.mul(b) }];
    const a = np.array([1, 2], { dtype: "float64" });
    const b = np.array([3, 4], { dtype: "float64" });
    const [[v, aux], [ga, gb]] = valueAndGrad(f, { argnums: [0, 1], hasAux: true })(a, b);
    close(v, 11);
    close((aux as { prod: Array }).prod, np.array([3, 8]));
    close(ga, b);
    close(gb, a);
  });

  it("jvp and vjp agree through <J t, c> = <t, J^T c>", () => {
    const f = (x: Array) => np.exp(x).mul(np.roll(x, 1));
    const x = np.array([0.1, -0.5, 0.7], { dtype: "float64" });
    const t = np.array([1, 2, -1], { dtype: "float64" });
    const c = np.array([0.5, -1, 3], { dtype: "float64" });
    const [, jt] = jvp(f, [x], [t]);
    const [, back] = vjp(f, x);
    close(np.sum(jt.mul(c)), np.sum(back(c)[0].mul(t)), 1e-12);
  });

  it("jacfwd, jacrev and hessian", () => {
    const x = np.array([0.2, 0.4, -0.3], { dtype: "float64" });
    close(jacfwd(np.sin)(x), jacrev(np.sin)(x), 1e-12);
    const h = hessian((x: Array) => np.sum(x.mul(x).mul(x)))(x);
    close(h, np.mul(np.eye(3, 3, { dtype: "float64" }), x.mul(6)), 1e-12);
  });

  it("customVjp replaces the reverse rule and keeps the forward value", () => {
    const clipGrad = customVjp((x: Array) => x.mul(2), (x: Array) => [x.mul(2), null], (_r: unknown, g: Array) => [np.clip(g, -0.5, 0.5)]);
    const x = np.array([1, -3], { dtype: "float64" });
    close(clipGrad(x), np.array([2, -6]));
    close(grad((x: Array) => np.sum(clipGrad(x).mul(3)))(x), np.array([0.5, 0.5]));
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
