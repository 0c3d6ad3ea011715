/**
 * Chained reductions (core/compiler/merge-reductions.ts): reduce(reduce(x, A), B) runs as
 * one reduction of x when nothing else reads the inner result, and jit still agrees with
 * eager on random shapes, axes and reduction kinds.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, makeJaxpr, np, vmap } from "../../../index.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { setFusion } from "../../../core/compiler/index.ts";
import { mergeReductions } from "../../../core/compiler/merge-reductions.ts";
import { Rng } from "../../cases/types.ts";
import { maxDiffAsync } from "../../helpers.ts";
import { FLOAT } from "../../backend-under-test.ts";

afterEach(() => setFusion(undefined));

const reductions = { sum: np.sum, max: np.max, min: np.min } as const;
const reductionNames = (f: (...a: Tracer[]) => Tracer | Tracer[], ...shapes: number[][]) => reductionsOf(f, shapes, true);
function reductionsOf(f: (...a: Tracer[]) => Tracer | Tracer[], shapes: number[][], merge: boolean): string[] {
  const { jaxpr } = makeJaxpr(f)(...shapes.map((shape) => np.zeros(shape, { dtype: FLOAT })));
  return (merge ? mergeReductions(jaxpr) : jaxpr).eqns.filter((e) => e.prim.reduceOp !== undefined).map((e) => `${e.prim.name}[${e.params.axes}]`);
}

describe("merged reductions", () => {
  it("reduce(reduce(x, A), B) is one reduction over A and B, and jit equals eager", async () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 4 }),
      innerBits: fc.nat(),
      outerBits: fc.nat(),
      kind: fc.constantFrom("sum", "max", "min" as const),
      seed: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ shape, innerBits, outerBits, kind, seed }) => {
        const inner = shape.map((_, i) => i).filter((i) => (innerBits >> i) & 1);
        if (inner.length === 0 || inner.length === shape.length) return;
        const rest = shape.length - inner.length;
        const outer = [...Array(rest).keys()].filter((i) => (outerBits >> i) & 1);
        if (outer.length === 0) return;
        const red = reductions[kind];
        const f = (x: Tracer) => red(red(x, { axis: inner }), { axis: outer });
        expect(reductionNames(f, shape)).toHaveLength(1);
        const x = new Rng(seed).array(shape, FLOAT);
        expect(await maxDiffAsync(jit(f)(x), f(x))).toBeLessThan(FLOAT === "float64" ? 1e-12 : 1e-5);
      }),
      { numRuns: 40 },
    );
  });

  it("keeps the inner reduction when something else reads it, or when the kinds differ", () => {
    const shape = [3, 4, 5];
    expect(reductionNames((x) => np.sum(np.sum(x, { axis: 0 }), { axis: 1 }), shape)).toEqual(["reduce_sum[0,2]"]);
    expect(reductionNames((x) => np.sum(np.sum(np.sum(x, { axis: 2 }), { axis: 0 }), { axis: 0 }), shape)).toEqual(["reduce_sum[0,1,2]"]);
    expect(reductionNames((x) => [np.sum(np.sum(x, { axis: 0 }), { axis: 1 }), np.sum(x, { axis: 0 })], shape)).toHaveLength(2);
    expect(reductionNames((x) => np.sum(x, { axis: 0 }).mul(np.sum(np.sum(x, { axis: 0 }), { axis: 1, keepdims: true })), shape)).toHaveLength(2);
    expect(reductionNames((x) => np.max(np.sum(x, { axis: 0 }), { axis: 1 }), shape)).toEqual(["reduce_sum[0]", "reduce_max[1]"]);
  });

  it("the gradient of a bias broadcast over a vmapped batch sums once", async () => {
    setFusion(true);
    const rng = new Rng(3);
    const x = rng.array([4, 6, 3, 5], FLOAT);
    const b = rng.array([3], FLOAT);
    const f = grad((b: Tracer, x: Tracer) => np.sum(np.square(vmap((xi: Tracer) => xi.add(b.reshape([1, 3, 1])))(x))));
    // The transposed broadcasts sum over the vmapped axis, then over the rest.
    expect(reductionsOf(f, [[3], [4, 6, 3, 5]], true).length).toBeLessThan(reductionsOf(f, [[3], [4, 6, 3, 5]], false).length);
    expect(await maxDiffAsync(jit(f)(b, x), f(b, x))).toBeLessThan(FLOAT === "float64" ? 1e-12 : 1e-4);
  });
});
