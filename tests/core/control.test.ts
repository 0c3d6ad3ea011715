import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, lax, grad, vmap, jit, type Array } from "../../index.ts";

const f64 = (xs: number[]) => np.array(xs, { dtype: "float64" });
const expectClose = (a: Array, b: Array, tol = 1e-9) => {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]))));
};
const values = fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 6 });

describe("lax.scan", () => {
  const cumprodSin = (c: Array, x: Array): [Array, Array] => {
    const next = c.mul(np.sin(x)).add(x);
    return [next, next.mul(2)];
  };
  const loop = (init: Array, xs: number[]) => {
    let c = init;
    const ys: Array[] = [];
    for (const v of xs) {
      [c, ys[ys.length]] = cumprodSin(c, f64([v]).reshape([]));
    }
    return [c, np.stack(ys)] as const;
  };

  it("equals a JS loop, forwards and in reverse", () => {
    fc.assert(
      fc.property(values, (xs) => {
        const [c, ys] = lax.scan(cumprodSin, f64([1]).reshape([]), f64(xs));
        const [lc, lys] = loop(f64([1]).reshape([]), xs);
        expectClose(c, lc);
        expectClose(ys, lys);
        const [rc] = lax.scan(cumprodSin, f64([1]).reshape([]), f64(xs), { reverse: true });
        expectClose(rc, loop(f64([1]).reshape([]), [...xs].reverse())[0]);
      }),
      { numRuns: 20 },
    );
  });

  it("differentiates (grad vs finite differences), batches (vmap vs loop) and stages (jit vs eager)", () => {
    fc.assert(
      fc.property(values, fc.double({ min: -1, max: 1, noNaN: true }), (xs, c0) => {
        const f = (c: Array) => np.sum(lax.scan(cumprodSin, c, f64(xs))[1]);
        const g = grad(f)(f64([c0]).reshape([])).item() as number;
        const eps = 1e-6;
        const fd = ((f(f64([c0 + eps]).reshape([])).item() as number) - (f(f64([c0 - eps]).reshape([])).item() as number)) / (2 * eps);
        expect(Math.abs(g - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        const inits = f64([c0, c0 + 1, -c0]);
        const batched = vmap(f)(inits);
        [0, 1, 2].forEach((i) => expectClose(batched.slice(i), f(inits.slice(i))));
        expectClose(jit(f)(f64([c0]).reshape([])), f(f64([c0]).reshape([])));
      }),
      { numRuns: 10 },
    );
  });

  it("rejects mismatched lengths and a changed carry structure", () => {
    expect(() => lax.scan((c: Array, x: Array) => [c, x], np.zeros([]), { a: np.ones([3]), b: np.ones([4]) })).toThrow(/disagree/);
    expect(() => lax.scan((c: Array, x: Array) => [[c], x], np.zeros([]), np.ones([3]))).toThrow(/structure/);
  });
});

describe("lax.forLoop", () => {
  it("runs the body upper-lower times with the index", () => {
    const out = lax.forLoop(0, 4, (i: Array, c: Array) => c.mul(2).add(i.astype("float64")), f64([1]).reshape([]));
    expect(out.item()).toBe(((1 * 2 + 0) * 2 + 1) * 2 * 2 + 2 * 2 + 3);
    const d = grad((x: Array) => lax.forLoop(0, 3, (_i: Array, c: Array) => c.mul(c), x))(f64([1.1]).reshape([]));
    expect(d.item()).toBeCloseTo(8 * 1.1 ** 7, 9);
  });
});

describe("lax.cond", () => {
  const branches = [(v: Array) => v.mul(v), (v: Array) => np.sin(v)] as const;
  it("picks a branch for concrete and traced predicates alike", () => {
    fc.assert(
      fc.property(fc.double({ min: -2, max: 2, noNaN: true }), (v) => {
        const x = f64([v]).reshape([]);
        const f = (x: Array) => lax.cond(x.greater(0), branches[0], branches[1], x);
        const want = v > 0 ? v * v : Math.sin(v);
        expect(f(x).item()).toBeCloseTo(want, 12);
        expect(jit(f)(x).item()).toBeCloseTo(want, 12);
        expect(grad(f)(x).item()).toBeCloseTo(v > 0 ? 2 * v : Math.cos(v), 12);
        const xs = f64([v, -v, 0.5]);
        const batched = vmap(f)(xs);
        [0, 1, 2].forEach((i) => expect(batched.slice(i).item()).toBeCloseTo(f(xs.slice(i)).item() as number, 12));
      }),
      { numRuns: 20 },
    );
  });
  it("requires branches with matching outputs under tracing", () => {
    expect(() => jit((x: Array) => lax.cond(x.greater(0), (v: Array) => v, (v: Array) => v.reshape([1]), x))(np.ones([]))).toThrow(/branch outputs differ/);
  });
});
