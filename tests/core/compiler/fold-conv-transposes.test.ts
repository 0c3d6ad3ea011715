/**
 * Kernel gradients without transposed copies (core/compiler/fold-conv-transposes.ts): the
 * transpose rule's float32 convolution of the swapped forward input and cotangent becomes
 * conv_swapped_operands of the arrays as they are, only there; on the CPU jit(grad) then
 * equals the eager gradient (on oneDNN where it loads), and the routine itself, run eagerly,
 * equals the convolution of the swapped arrays in float64 (its swapped copies, where oneDNN
 * does not run).
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, lax, makeJaxpr, np, type Tracer } from "../../../index.ts";
import { bind1 } from "../../../core/trace.ts";
import { convSwappedP, type ConvParams } from "../../../core/primitives/conv.ts";
import type { Jaxpr } from "../../../core/jaxpr.ts";
import { setFusion } from "../../../core/compiler/index.ts";
import { foldConvTransposes } from "../../../core/compiler/fold-conv-transposes.ts";
import { Rng } from "../../cases/types.ts";
import { maxDiffAsync } from "../../helpers.ts";
import { onWebgpu } from "../../backend-under-test.ts";

afterEach(() => setFusion(undefined));
if (onWebgpu) console.log("[fold-conv-transposes] the numeric cases are skipped on webgpu: only the CPU's plan folds the transposes, and the routine is the CPU's");

const count = (j: Jaxpr, name: string) => j.eqns.filter((e) => e.prim.name === name).length;
type ConvOpts = Parameters<typeof lax.conv>[2];

describe("kernel gradients read their operands unswapped", () => {
  it("grad of a convolution's kernel is one conv_swapped_operands, without the transposes", () => {
    const loss = (w: Tracer, x: Tracer) => np.sum(np.tanh(lax.conv(x, w, { padding: "SAME" })));
    const { jaxpr } = makeJaxpr(grad(loss))(np.zeros([4, 3, 3, 3]), np.zeros([2, 3, 8, 8]));
    const folded = foldConvTransposes(jaxpr);
    expect(count(folded, "conv_swapped_operands")).toBe(1);
    expect(count(folded, "conv_general_dilated")).toBe(count(jaxpr, "conv_general_dilated") - 1);
    // The swaps of the input and the cotangent are gone; the result's [C, O] to [O, C] swap stays.
    expect(count(folded, "transpose")).toBe(count(jaxpr, "transpose") - 2);
  });

  it("forward passes, input gradients and grouped kernel gradients keep conv_general_dilated", () => {
    const grouped = (w: Tracer, x: Tracer) => np.sum(lax.conv(x, w, { padding: "SAME", groups: 2 }));
    const { jaxpr } = makeJaxpr(grad(grouped))(np.zeros([4, 2, 3, 3]), np.zeros([2, 4, 8, 8]));
    expect(foldConvTransposes(jaxpr)).toBe(jaxpr);
    const input = (x: Tracer, w: Tracer) => np.sum(lax.conv(x, w, { padding: "SAME" }));
    const j2 = makeJaxpr(grad(input))(np.zeros([2, 3, 8, 8]), np.zeros([4, 3, 3, 3])).jaxpr;
    expect(foldConvTransposes(j2)).toBe(j2);
  });

  it.skipIf(onWebgpu)("the routine equals conv_general_dilated of the swapped arrays, float64 (its swapped copies)", async () => {
    const rng = new Rng(4);
    const [x, ct] = [rng.array([3, 2, 7, 6], "float64"), rng.array([3, 4, 5, 4], "float64")];
    const p: ConvParams = {
      strides: [1, 1],
      padding: [
        [1, 0],
        [0, 1],
      ],
      lhsDilation: [1, 1],
      rhsDilation: [1, 1],
      groups: 1,
    };
    const got = bind1(convSwappedP, [x, ct], p);
    const want = lax.convGeneralDilated(np.transpose(x, [1, 0, 2, 3]), np.transpose(ct, [1, 0, 2, 3]), p);
    expect(got.shape).toEqual([2, 4, 4, 4]);
    expect(await maxDiffAsync(got, want)).toBeLessThan(1e-12);
  });

  it.skipIf(onWebgpu)("jit(grad) equals the eager gradient over strides, padding and dilation, float32 and float64 (property)", async () => {
    const arb = fc.record({
      n: fc.integer({ min: 1, max: 3 }),
      c: fc.integer({ min: 1, max: 4 }),
      o: fc.integer({ min: 1, max: 4 }),
      h: fc.integer({ min: 4, max: 9 }),
      k: fc.integer({ min: 1, max: 3 }),
      stride: fc.integer({ min: 1, max: 2 }),
      dilation: fc.integer({ min: 1, max: 2 }),
      same: fc.boolean(),
      dtype: fc.constantFrom("float32" as const, "float64" as const),
      seed: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ n, c, o, h, k, stride, dilation, same, dtype, seed }) => {
        const opts: ConvOpts = { padding: same ? "SAME" : "VALID", strides: [stride, stride], dilation: [dilation, dilation] };
        if (!same && (k - 1) * dilation + 1 > h) return;
        const rng = new Rng(seed);
        const [w, x] = [rng.array([o, c, k, k], dtype), rng.array([n, c, h, h], dtype)];
        const g = grad((w: Tracer, x: Tracer) => np.sum(np.square(lax.conv(x, w, opts))));
        setFusion(true);
        const fused = jit(g)(w, x);
        setFusion(false);
        const eager = g(w, x);
        expect(await maxDiffAsync(fused, eager)).toBeLessThan(dtype === "float64" ? 1e-10 : 1e-3);
      }),
      { numRuns: 40 },
    );
  });
});
