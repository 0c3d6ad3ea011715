import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, grad, jit, vmap, type Array } from "../../index.ts";
import type { DType } from "../../core/dtype.ts";
import { FLOAT, itOnCpu, onCpu, onWebgpu } from "../backend-under-test.ts";
import { fdGrad, valuesOf } from "../helpers.ts";

/** The elements of `x` (on any backend) as numbers. */
/** JS numbers as the backend under test holds them (float32 on WebGPU). */
const held = (xs: number[]) => (onWebgpu ? xs.map(Math.fround) : xs);
/** A FLOAT array of `xs` (float32 on WebGPU, which has no float64). */
const floats = (xs: number[]) => np.array(onWebgpu ? new Float32Array(xs) : new Float64Array(xs));
/** The reference order: numbers ascending, NaN last; ties (including -0 and +0) keep their order. */
const ascending = (a: number, b: number) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a < b ? -1 : a > b ? 1 : 0);
/** A stable argsort via Array.prototype.sort, which ES2019 requires to be stable. */
const refArgsort = (xs: number[]) => xs.map((_, i) => i).sort((i, j) => ascending(xs[i], xs[j]));

const doubles = fc.array(fc.double(), { minLength: 1, maxLength: 40 });
const smallInts = fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 40 });

describe("np.sort and np.argsort", () => {
  it(`agree with Array.prototype.sort on ${FLOAT} data, including NaN, infinities and -0`, async () => {
    await fc.assert(
      fc.asyncProperty(doubles, async (xs0) => {
        const xs = held(xs0);
        const x = floats(xs);
        const perm = refArgsort(xs);
        expect(await valuesOf(np.argsort(x))).toEqual(perm);
        // Object.is-level equality: -0 and +0 keep their original order.
        expect(await valuesOf(np.sort(x))).toEqual(perm.map((i) => xs[i]));
      }),
      { numRuns: 100 },
    );
  });

  it("are stable: equal keys keep their original order", async () => {
    await fc.assert(
      fc.asyncProperty(smallInts, async (xs) => {
        const x = np.array(new Int32Array(xs));
        expect(await valuesOf(np.argsort(x))).toEqual(refArgsort(xs));
        expect(np.argsort(x).dtype).toBe("int32");
      }),
      { numRuns: 100 },
    );
  });

  for (const dtype of ["float32", "float64", "int32", "uint32"] as DType[]) {
    (dtype === "float64" ? itOnCpu("WebGPU has no float64") : it)(`sort ${dtype} along every axis of a 3-d array`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 24, maxLength: 24 }), fc.integer({ min: -3, max: 2 }), async (data, axis) => {
          const x = np.reshape(np.array(data, { dtype }), [2, 3, 4]);
          const y = np.sort(x, { axis });
          expect(y.dtype).toBe(dtype);
          // Reference: move the axis last, sort each row in JS, move it back.
          const a = axis < 0 ? axis + 3 : axis;
          const moved = (await np.moveaxis(x, a, -1).toArray()) as number[][][];
          const sorted = moved.map((p) => p.map((row) => [...row].sort((u, v) => u - v)));
          expect(await np.moveaxis(y, a, -1).toArray()).toEqual(sorted);
        }),
        { numRuns: 20 },
      );
    });
  }

  it("descending order keeps ties in their original order (as JAX's stable descending argsort)", async () => {
    const x = np.array([3, 1, NaN, 2, 1, 3]);
    expect(await valuesOf(np.argsort(x, { descending: true }))).toEqual([2, 0, 5, 3, 1, 4]);
    expect(await valuesOf(np.sort(np.array([3, 1, 2]), { descending: true }))).toEqual([3, 2, 1]);
    await fc.assert(
      fc.asyncProperty(smallInts, async (xs) => {
        const desc = xs.map((_, i) => i).sort((i, j) => xs[j] - xs[i]);
        expect(await valuesOf(np.argsort(np.array(new Int32Array(xs)), { descending: true }))).toEqual(desc);
      }),
      { numRuns: 50 },
    );
  });

  it("axis: null sorts the flattened array", async () => {
    const x = np.array([
      [3, 0],
      [2, 1],
    ]);
    expect(await valuesOf(np.sort(x, { axis: null }))).toEqual([0, 1, 2, 3]);
    expect(await valuesOf(np.argsort(x, { axis: null }))).toEqual([1, 3, 2, 0]);
  });

  it("errors name the function, the axis and the shape", async () => {
    expect(() => np.sort(np.array(1))).toThrow(/sort: cannot sort a scalar/);
    expect(() => np.argsort(np.zeros([2, 3]), { axis: 2 })).toThrow(/argsort: axis 2 is out of bounds for an array of rank 2/);
  });
});

describe("sort under transformations", () => {
  it("grad of a weighted sum of sort(x) sends each weight back to its element's position", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 20 }), async (xs) => {
        const w = xs.map((_, i) => i + 1);
        const f = (x: Array) => np.sum(np.mul(np.sort(x), floats(w)));
        const g = await valuesOf(grad(f)(floats(xs)) as Array);
        const perm = refArgsort(held(xs));
        const expected = new globalThis.Array<number>(xs.length);
        perm.forEach((src, k) => (expected[src] = w[k]));
        expect(g).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });

  it("grad of a nonlinear function of sort matches central finite differences", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 2, maxLength: 12 }), async (ints) => {
        // Distinct values spaced >= 1e-3 apart, so a 1e-6 step never reorders them.
        const xs = held(ints.map((v) => v / 1000));
        const f = (x: Array) => np.sum(np.sin(np.mul(np.sort(np.reshape(x, [2, -1]).T, { axis: 0 }), np.arange(1, 3).astype(x.dtype))));
        const n = xs.length - (xs.length % 2);
        const x = floats(xs.slice(0, n));
        const g = await valuesOf(grad(f)(x) as Array);
        // Finite differences in float64 on the CPU; float32 gradients (WebGPU) of O(1) keep 5 digits.
        const fd = fdGrad(
          f,
          onCpu(() => np.array(new Float64Array(xs.slice(0, n)))),
        ).dataSync();
        for (let i = 0; i < n; i++) expect(g[i]).toBeCloseTo(fd[i], onWebgpu ? 5 : 6);
      }),
      { numRuns: 30 },
    );
  });

  it("vmap of sort and argsort equals a loop; jit equals eager", async () => {
    const xs = np.array(
      [
        [3, 1, 2, 2],
        [0, -1, 5, 4],
        [7, 7, 7, 1],
      ],
      { dtype: FLOAT },
    );
    for (const f of [(x: Array) => np.sort(x), (x: Array) => np.argsort(x), (x: Array) => np.argsort(x, { descending: true })]) {
      const loop = await Promise.all([0, 1, 2].map((i) => valuesOf(f(xs.slice(i)))));
      expect(await valuesOf(vmap(f)(xs))).toEqual(loop.flat());
      // Mapping axis 1: each column is one example.
      const cols = await Promise.all([0, 1, 2, 3].map((j) => valuesOf(f(np.take(xs, [j], { axis: 1 }).reshape([3])))));
      expect(await (vmap(f, { inAxes: 1, outAxes: 0 })(xs) as Array).toArray()).toEqual(cols);
      expect(await valuesOf(jit(f)(xs))).toEqual(await valuesOf(f(xs)));
    }
  });

  it("vmap of grad of sort equals per-example grads", async () => {
    const xs = np.array(
      [
        [3, 1, 2],
        [0, -1, 5],
      ],
      { dtype: FLOAT },
    );
    const w = np.array([1, 10, 100], { dtype: FLOAT });
    const f = (x: Array) => np.sum(np.sort(x).mul(w));
    const batched = vmap(grad(f))(xs) as Array;
    expect(await batched.toArray()).toEqual([
      [100, 1, 10],
      [10, 1, 100],
    ]);
    expect(await valuesOf(jit(vmap(grad(f)))(xs) as Array)).toEqual(await valuesOf(batched));
  });
});
