/**
 * Elementwise kernels in blocks of trailing axes (ir-kernel.ts `blockAxis`, the WGSL
 * dialect's `perBlock`): where some loads read only leading axes (a batch norm's
 * per-channel parameters), each group stays in one block and those loads run once per
 * invocation. The values are the CPU's whatever the shape: ragged blocks, blocks smaller
 * than a group's span, grids past 65535 groups.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { jit, np } from "../../../index.ts";
import type { NDArray } from "../../../core/array.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { planFor } from "../../../core/compiler/index.ts";
import { renderWgsl } from "../../../core/backends/webgpu/render-wgsl.ts";
import type { Kernel } from "../../../core/compiler/ir.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";
import { Rng } from "../../cases/types.ts";

/** x · p + p², with p broadcast over the trailing axes from `t` on. */
const affine = (x: Tracer, p: Tracer) => x.mul(p).add(p.mul(p));

/** The one kernel jit makes of `affine` for these shapes. */
function kernelOf(xShape: number[], pShape: number[]): Kernel {
  const closed = jit(affine).lower(np.zeros(xShape), np.zeros(pShape));
  const kernels = planFor(closed.jaxpr).steps.flatMap((s) => (s.kind === "kernel" ? [s.kernel] : []));
  expect(kernels).toHaveLength(1);
  return kernels[0];
}

async function expectAffine(rng: Rng, xShape: number[], pShape: number[]): Promise<void> {
  const x = rng.array(xShape, "float32") as NDArray,
    p = rng.array(pShape, "float32") as NDArray;
  const want = (jit(affine)(x, p) as NDArray).dataSync();
  const got = await (jit(affine)(onGpu(x), onGpu(p)) as NDArray).data();
  expect(compareValues(got, want, true, 1e-5), `${xShape} with ${pShape}`).toBeNull();
}

describe.skipIf(gpuSkipReason !== null)("webgpu elementwise blocks", { timeout: 120_000 }, () => {
  it("a per-channel kernel over [N, C, H, W] runs in blocks of H·W, its parameters' loads before the element loop", () => {
    const code = renderWgsl(kernelOf([4, 8, 28, 28], [1, 8, 1, 1])).code;
    expect(code).toMatch(/let gb = \(grp \/ 2u\) \* 784u;/);
    // The parameter's load reads gb's channel, once, before the loop over elements.
    const load = code.indexOf("in1[");
    expect(load).toBeGreaterThan(0);
    expect(load).toBeLessThan(code.indexOf("for (var aug_i"));
  });

  it("no block where no load reads only leading axes, or the trailing block is under a group", () => {
    expect(renderWgsl(kernelOf([64, 1024], [64, 1024])).code).not.toMatch(/let gb =/);
    expect(renderWgsl(kernelOf([1024, 7], [1024, 1])).code).not.toMatch(/let gb =/);
  });

  it("blocks = the CPU: ragged and small blocks, parameters over some leading axes", async () => {
    const rng = new Rng(7);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 2 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 2 }),
        fc.boolean(),
        async (lead, trail, partial) => {
          // A trailing block of at least 64 elements, so the kernel takes the block layout.
          if (trail.reduce((a, b) => a * b, 1) < 64) trail[trail.length - 1] += 64;
          const shape = [...lead, ...trail];
          // Parameters over all leading axes, or over the last one only.
          const pShape = shape.map((n, a) => (a < lead.length && (!partial || a === lead.length - 1) ? n : 1));
          await expectAffine(rng, shape, pShape);
        },
      ),
      { numRuns: 12 },
    );
  });

  it("more than 65535 blocks (a two-dimensional grid) = the CPU", async () => {
    await expectAffine(new Rng(3), [70000, 64], [70000, 1]);
  });
});
