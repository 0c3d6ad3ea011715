/**
 * The kernel builder's index folding and the plan's scalar literals: reshapes that split and
 * merge axes index by loop counters (a division only where an axis is split and the bounds
 * do not fold it), every folded index is the exact multi-index, and one-element constants
 * become literals of the kernel, re-planned when their values change.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { jit, np } from "../../../index.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { KernelBuilder, topoSort, type IRNode } from "../../../core/compiler/ir.ts";
import { posThroughReshape } from "../../../core/compiler/lower.ts";
import { fusionStats, planFor, runFused } from "../../../core/compiler/index.ts";
import { stridesOf, sizeOf } from "../../../core/shape.ts";
import { itOnCpu } from "../../backend-under-test.ts";

/** The value of an index expression at a loop point. */
function evalIndex(n: IRNode, point: number[]): number {
  const [a, b] = n.args.map((x) => evalIndex(x, point));
  switch (n.op) {
    case "const":
      return n.arg!;
    case "idx":
      return point[n.arg!];
    case "iadd":
      return a + b;
    case "imul":
      return a * b;
    case "idiv":
      return Math.floor(a / b);
    case "imod":
      return a % b;
    default:
      throw new Error(`unexpected index op ${n.op}`);
  }
}

/** A shape and a regrouping of it: each output axis a product of consecutive factors. */
const shapes = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 })
  .chain((factors) =>
    fc.tuple(
      fc.constant(factors),
      fc.array(fc.boolean(), { minLength: factors.length - 1, maxLength: factors.length - 1 }),
      fc.array(fc.boolean(), { minLength: factors.length - 1, maxLength: factors.length - 1 }),
    ),
  );
const group = (factors: number[], cuts: boolean[]) => factors.reduce<number[]>((out, f, i) => (i > 0 && !cuts[i - 1] ? [...out.slice(0, -1), out[out.length - 1] * f] : [...out, f]), []);

describe("index folding in the kernel builder", () => {
  it("the input point of any reshape is the exact multi-index of the same flat index", () => {
    fc.assert(
      fc.property(shapes, ([factors, inCuts, outCuts]) => {
        const inShape = group(factors, inCuts);
        const outShape = group(factors, outCuts);
        const b = new KernelBuilder(outShape);
        const pos = posThroughReshape(b, inShape, outShape, { dims: () => outShape.map((_, i) => b.idx(i)), flat: () => b.flat() });
        const dims = pos.dims();
        const [inSt, outSt] = [stridesOf(inShape), stridesOf(outShape)];
        for (let f = 0; f < sizeOf(outShape); f++) {
          const point = outShape.map((n, i) => Math.floor(f / outSt[i]) % n);
          const want = inShape.map((n, i) => Math.floor(f / inSt[i]) % n);
          expect(dims.map((d) => evalIndex(d, point))).toEqual(want);
        }
      }),
      { numRuns: 120 },
    );
  });

  it("a split undone by a merge divides nothing", () => {
    // [A, B*C] read as [A, B, C] and back: both reshapes fold to the loop counters.
    const b = new KernelBuilder([3, 4, 5]);
    const counters = { dims: () => [0, 1, 2].map((i) => b.idx(i)), flat: () => b.flat() };
    const merged = posThroughReshape(b, [3, 20], [3, 4, 5], counters);
    const split = posThroughReshape(b, [3, 4, 5], [3, 20], merged);
    expect(split.dims()).toEqual(counters.dims());
    expect(
      merged
        .dims()
        .flatMap((d) => topoSort(d))
        .some((n) => n.op === "idiv" || n.op === "imod"),
    ).toBe(false);
    // (i * 20 + j * 5 + k) / 5 = i * 4 + j, and % 5 = k.
    const flat = b.iadd(b.iadd(b.imul(b.idx(0), 20), b.imul(b.idx(1), 5)), b.idx(2));
    expect(b.idiv(flat, 5)).toBe(b.iadd(b.imul(b.idx(0), 4), b.idx(1)));
    expect(b.imod(flat, 5)).toBe(b.idx(2));
    // No bound is known through an isub (it may wrap): its division stays.
    expect(b.idiv(b.isub(flat, 1), 5).op).toBe("idiv");
  });
});

describe("scalar constants as kernel literals", () => {
  // Constants on an accelerator stay buffers (their values would need a read back).
  itOnCpu("scalars created on WebGPU stay buffers")("a jitted chain with captured scalars reads only its argument, and = eager", async () => {
    const x = np.array([0.5, -1, 2, 3.25]);
    const f = (x: Tracer) => np.clip(x.add(1.5).mul(np.array(2)), -1, 6);
    const closed = jit(f).lower(x);
    const kernels = planFor(closed.jaxpr, undefined, closed.consts).steps.filter((s) => s.kind === "kernel");
    expect(kernels).toHaveLength(1);
    expect(kernels[0].kind === "kernel" && kernels[0].kernel.inputs.length).toBe(1);
    expect(Array.from(await jit(f)(x).data())).toEqual(Array.from(await f(x).data()));
  });

  it("the same jaxpr with other constant values gets its own plan", async () => {
    const x = np.array([1, 2, 3]);
    const closed = jit((x: Tracer) => x.mul(np.array(2))).lower(x);
    const [c] = closed.consts;
    expect(Array.from(await runFused(closed.jaxpr, [c], [x])![0].data())).toEqual([2, 4, 6]);
    expect(Array.from(await runFused(closed.jaxpr, [np.array(-3)], [x])![0].data())).toEqual([-3, -6, -9]);
  });

  it("past 8 plans per jaxpr its constants are read as buffers, with the same values", async () => {
    const x = np.array([1, 2, 3]);
    const closed = jit((x: Tracer) => x.mul(np.array(2))).lower(x);
    const plans0 = fusionStats.plans;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -100, max: 100 }), async (v) => {
        const out = await runFused(closed.jaxpr, [np.array(v)], [x])![0].data();
        expect(Array.from(out)).toEqual([v, 2 * v, 3 * v]);
      }),
      { numRuns: 12 },
    );
    // One plan per value up to the cap, then one reading the constant as a buffer.
    expect(fusionStats.plans - plans0).toBeLessThanOrEqual(8 + 1);
  });
});
