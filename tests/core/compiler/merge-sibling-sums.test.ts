/**
 * Sibling sums (core/compiler/merge-sibling-sums.ts): sums over the same axes of values
 * computed from one buffer (batch norm's statistics and their gradients) run as one sum
 * of the stacked values, each result bit for bit what its own sum gave; a sum that needs
 * another's result, reads nothing in common with it, or runs scalar loops stays on its own.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, makeJaxpr, np, random } from "../../../index.ts";
import * as nn from "../../../nn/index.ts";
import type { Tracer } from "../../../core/tracer.ts";
import type { Jaxpr } from "../../../core/jaxpr.ts";
import { setFusion } from "../../../core/compiler/index.ts";
import { mergeSiblingSums } from "../../../core/compiler/merge-sibling-sums.ts";
import { Rng } from "../../cases/types.ts";
import { maxDiffAsync } from "../../helpers.ts";
import { onWebgpu } from "../../backend-under-test.ts";

// Only float32 sums whose runs go four lanes at a time are merged (the others are compute-bound).
const FLOAT = "float32";

afterEach(() => setFusion(undefined));

const sums = (j: Jaxpr) => j.eqns.filter((e) => e.prim.name === "reduce_sum").length;
const jaxprOf = (f: (...a: Tracer[]) => Tracer | Tracer[], ...shapes: number[][]) => makeJaxpr(f)(...shapes.map((shape) => np.zeros(shape, { dtype: FLOAT }))).jaxpr;

/** Each output of jit(f) equals eager f's element for element (on the CPU both sum each output's elements in one order). */
async function jitMatchesEager(f: (...a: Tracer[]) => Tracer[], args: Tracer[]): Promise<void> {
  setFusion(true);
  const fused = jit(f)(...args);
  setFusion(false);
  const eager = f(...args);
  for (let i = 0; i < eager.length; i++) {
    if (onWebgpu) expect(await maxDiffAsync(fused[i], eager[i])).toBeLessThan(1e-4);
    else expect(Array.from(await fused[i].data())).toEqual(Array.from(await eager[i].data()));
  }
}

describe("merged sibling sums", () => {
  it("batch-norm statistics of [A, N, C, H, W] over N, H and W are one sum, equal to the separate sums (property)", async () => {
    const arb = fc.record({
      a: fc.integer({ min: 1, max: 3 }),
      n: fc.integer({ min: 2, max: 4 }),
      c: fc.integer({ min: 1, max: 5 }),
      h: fc.integer({ min: 1, max: 6 }),
      w: fc.constantFrom(4, 8),
      seed: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ a, n, c, h, w, seed }) => {
        const axis = [1, 3, 4];
        const f = (x: Tracer, s: Tracer) => {
          const d = x.sub(s);
          return [np.sum(d, { axis }), np.sum(np.square(d), { axis }), np.sum(d.mul(x), { axis })];
        };
        const shape = [a, n, c, h, w];
        const j = jaxprOf(f, shape, [1, 1, c, 1, 1]);
        expect(sums(j)).toBe(3);
        expect(sums(mergeSiblingSums(j))).toBe(1);
        const rng = new Rng(seed);
        await jitMatchesEager(f, [rng.array(shape, FLOAT), rng.array([1, 1, c, 1, 1], FLOAT)]);
      }),
      { numRuns: 30 },
    );
  });

  it("a sum that needs another's result, reads nothing in common, or has another form stays on its own", () => {
    const axis = [1, 3];
    const shape = [2, 3, 4, 8];
    // The centred second moment needs the mean first.
    const centred = (x: Tracer) => {
      const mean = np.mean(x, { axis, keepdims: true });
      return [mean, np.sum(np.square(x.sub(mean)), { axis })];
    };
    expect(sums(mergeSiblingSums(jaxprOf(centred, shape)))).toBe(2);
    expect(sums(mergeSiblingSums(jaxprOf((x: Tracer, y: Tracer) => [np.sum(x, { axis }), np.sum(y, { axis })], shape, shape)))).toBe(2);
    // Rows of a matrix: the separate sums already read in order.
    expect(sums(mergeSiblingSums(jaxprOf((x: Tracer) => [np.sum(x, { axis: 1 }), np.sum(np.square(x), { axis: 1 })], [6, 8])))).toBe(2);
    // Runs of 5: scalar loops, where computing both operands at every point costs more than the second read.
    const pair = (x: Tracer) => [np.sum(x, { axis }), np.sum(np.square(x), { axis })];
    expect(sums(mergeSiblingSums(jaxprOf(pair, [2, 3, 4, 5])))).toBe(2);
    expect(sums(mergeSiblingSums(jaxprOf(pair, shape)))).toBe(1);
  });

  it("a result read before the other sum is still computed in order (the merged sum moves up)", async () => {
    const axis = [1, 3];
    const f = (x: Tracer) => {
      const first = np.sum(x, { axis });
      const scaled = x.mul(np.tanh(first).reshape([2, 1, 4, 1]));
      return [first, np.sum(np.abs(x), { axis }).add(np.sum(scaled))];
    };
    const shape = [2, 3, 4, 8];
    expect(sums(mergeSiblingSums(jaxprOf(f, shape)))).toBe(2);
    await jitMatchesEager(f, [new Rng(5).array(shape, FLOAT)]);
  });

  it("a batch-normalised layer's loss and gradient under jit equal eager", async () => {
    const layer = nn.batchNorm();
    const init = layer.init(random.key(0), [4, 3, 6, 4]);
    const x = new Rng(9).array([4, 3, 6, 4], FLOAT);
    const loss = (p: typeof init.params, x: Tracer) => np.sum(np.square(layer.apply(p, init.state, x, { train: true }).y.mul(x)));
    const f = (x: Tracer) => {
      const g = grad(loss)(init.params, x) as { weight: Tracer; bias: Tracer };
      return [loss(init.params, x), g.weight, g.bias];
    };
    const j = jaxprOf(f, [4, 3, 6, 4]);
    expect(sums(mergeSiblingSums(j))).toBeLessThan(sums(j));
    setFusion(true);
    const fused = jit(f)(x);
    setFusion(false);
    const eager = f(x);
    for (let i = 0; i < 3; i++) expect(await maxDiffAsync(fused[i], eager[i])).toBeLessThan(1e-4);
  });
});
