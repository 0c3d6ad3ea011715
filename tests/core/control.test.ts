import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, lax, grad, vmap, jit, type Array } from "../../index.ts";
import { FLOAT, onCpu, onWebgpu } from "../backend-under-test.ts";
import { expectClose, scalarOf } from "../helpers.ts";

/** An array of the widest float of the backend under test (float32 on WebGPU). */
const f64 = (xs: number[]) => np.array(xs, { dtype: FLOAT });
/** The values as the backend holds them, in float64 on the CPU: references at the same point. */
const held = (xs: number[]) => onCpu(() => np.array(onWebgpu ? xs.map(Math.fround) : xs, { dtype: "float64" }));
/**
 * Agreement of two routes to the same values: 1e-9 in float64; WebGPU computes in float32,
 * where a few steps of sin, mul and add (and their reordering between routes) stay inside 1e-5.
 */
const CLOSE = onWebgpu ? 1e-5 : 1e-9;
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

  it("equals a JS loop, forwards and in reverse", async () => {
    await fc.assert(
      fc.asyncProperty(values, async (xs) => {
        const [c, ys] = lax.scan(cumprodSin, f64([1]).reshape([]), f64(xs));
        const [lc, lys] = loop(f64([1]).reshape([]), xs);
        await expectClose(c, lc, CLOSE);
        await expectClose(ys, lys, CLOSE);
        const [rc] = lax.scan(cumprodSin, f64([1]).reshape([]), f64(xs), { reverse: true });
        await expectClose(rc, loop(f64([1]).reshape([]), [...xs].reverse())[0], CLOSE);
      }),
      { numRuns: 20 },
    );
  });

  it("differentiates (grad vs finite differences), batches (vmap vs loop) and stages (jit vs eager)", async () => {
    await fc.assert(
      fc.asyncProperty(values, fc.double({ min: -1, max: 1, noNaN: true }), async (xs, c0) => {
        const f = (c: Array) => np.sum(lax.scan(cumprodSin, c, f64(xs))[1]);
        const g = await scalarOf(grad(f)(f64([c0]).reshape([])));
        // Finite differences in float64 on the CPU, at the point the backend holds.
        const fRef = (c: number) => onCpu(() => np.sum(lax.scan(cumprodSin, held([c]).reshape([]), held(xs))[1]).item() as number);
        const at = onWebgpu ? Math.fround(c0) : c0;
        const eps = 1e-6;
        const fd = (fRef(at + eps) - fRef(at - eps)) / (2 * eps);
        // WebGPU: the float32 gradient of a sum of up to 6 float32 steps, beside a float64 difference quotient.
        expect(Math.abs(g - fd)).toBeLessThan((onWebgpu ? 1e-4 : 1e-5) * (1 + Math.abs(fd)));
        const inits = f64([c0, c0 + 1, -c0]);
        const batched = vmap(f)(inits);
        for (const i of [0, 1, 2]) await expectClose(batched.slice(i), f(inits.slice(i)), CLOSE);
        await expectClose(jit(f)(f64([c0]).reshape([])), f(f64([c0]).reshape([])), CLOSE);
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
  it("runs the body upper-lower times with the index", async () => {
    const out = lax.forLoop(0, 4, (i: Array, c: Array) => c.mul(2).add(i.astype(FLOAT)), f64([1]).reshape([]));
    expect(await scalarOf(out)).toBe(((1 * 2 + 0) * 2 + 1) * 2 * 2 + 2 * 2 + 3);
    const d = grad((x: Array) => lax.forLoop(0, 3, (_i: Array, c: Array) => c.mul(c), x))(f64([1.1]).reshape([]));
    // 8 x^7 at the x the backend holds; float32 (WebGPU) keeps ~7 digits of 15.6.
    const x = onWebgpu ? Math.fround(1.1) : 1.1;
    expect(await scalarOf(d)).toBeCloseTo(8 * x ** 7, onWebgpu ? 4 : 9);
  });
});

describe("lax.cond", () => {
  const branches = [(v: Array) => v.mul(v), (v: Array) => np.sin(v)] as const;
  // Digits: 12 in float64; float32 (WebGPU) values of size up to 4 keep 6.
  const digits = onWebgpu ? 6 : 12;
  const f = (x: Array) => lax.cond(x.greater(0), branches[0], branches[1], x);
  const want = (v: number) => (v > 0 ? v * v : Math.sin(v));
  const point = fc.double({ min: -2, max: 2, noNaN: true }).map((v) => (onWebgpu ? Math.fround(v) : v));

  it("picks a branch for a concrete predicate", async () => {
    await fc.assert(
      fc.asyncProperty(point, async (v) => {
        expect(await scalarOf(f(f64([v]).reshape([])))).toBeCloseTo(want(v), digits);
      }),
      { numRuns: 20 },
    );
  });

  it("picks a branch for traced predicates (jit, grad, vmap)", async () => {
    await fc.assert(
      fc.asyncProperty(point, async (v) => {
        const x = f64([v]).reshape([]);
        expect(await scalarOf(jit(f)(x))).toBeCloseTo(want(v), digits);
        expect(await scalarOf(grad(f)(x))).toBeCloseTo(v > 0 ? 2 * v : Math.cos(v), digits);
        const batched = vmap(f)(f64([v, -v, 0.5]));
        for (const [i, u] of [v, -v, 0.5].entries()) expect(await scalarOf(batched.slice(i))).toBeCloseTo(want(u), digits);
      }),
      { numRuns: 20 },
    );
  });
  it("requires branches with matching outputs under tracing", () => {
    expect(() =>
      jit((x: Array) =>
        lax.cond(
          x.greater(0),
          (v: Array) => v,
          (v: Array) => v.reshape([1]),
          x,
        ),
      )(np.ones([])),
    ).toThrow(/branch outputs differ/);
  });
});
