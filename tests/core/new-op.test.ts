/**
 * Adding an elementwise primitive is one entry (docs/internals.md): a primitive defined here,
 * in the test, runs eagerly, fused under jit, on the WebAssembly and JavaScript CPU kernels,
 * under grad and vmap, and renders to WGSL and CUDA C, with nothing registered anywhere else.
 */
import { describe, expect, it } from "vitest";
import "../../index.ts";
import { grad, jit, np, vmap } from "../../index.ts";
import { fromTyped } from "../../core/array.ts";
import { bind1 } from "../../core/trace.ts";
import type { Tracer } from "../../core/tracer.ts";
import { elementwise } from "../../core/primitives/elementwise/define.ts";
import { eagerKernel } from "../../core/compiler/eager.ts";
import { renderWgsl } from "../../core/backends/webgpu/render-wgsl.ts";
import { renderCuda } from "../../core/backends/cuda/render-cuda.ts";
import { onWebgpu } from "../backend-under-test.ts";
import { fdGrad, valuesOf } from "../helpers.ts";

const cubeP = elementwise({
  name: "test_cube",
  arity: 1,
  dtypes: "float",
  alu: {
    js: ([a]) => `${a} * ${a} * ${a}`,
    wasm: { emit: (w) => (w.arg(0), w.arg(0), w.f.op("f64.mul"), w.arg(0), w.f.op("f64.mul")) },
    wgsl: ([a]) => `(${a} * ${a} * ${a})`,
    cuda: ([a], t) => (t.from === "float32" ? `__fmul_rn(__fmul_rn(${a}, ${a}), ${a})` : `(${a} * ${a} * ${a})`),
  },
  jvp: ([x], [t]) => [[cube(x)], [np.mul(t, np.mul(np.mul(x, x), 3))]],
});
const cube = (x: Tracer) => bind1(cubeP, [x]);

/** x^3 as the float32 CPU kernel computes it: in float64, rounded once. */
const want = (x: Float32Array) => Array.from(x, (v) => Math.fround(v * v * v));

describe("an elementwise primitive defined in one place", () => {
  const small = Float32Array.from({ length: 37 }, (_, i) => (i - 18) / 7);
  // Large enough for the WebAssembly kernels (threads included).
  const large = Float32Array.from({ length: 1 << 17 }, (_, i) => Math.sin(i) * 3);

  it("runs eagerly and under jit with the CPU's float32 rounding, on the JS and the WebAssembly kernels", async () => {
    for (const data of [small, large]) {
      const x = fromTyped(data.slice(), [data.length], "float32");
      const fused = jit((y: Tracer) => cube(np.add(y, 0)));
      const expected = want(data);
      for (const got of [await valuesOf(cube(x)), await valuesOf(fused(x))]) {
        // The CPU rounds once (bit for bit); WebGPU rounds each f32 product.
        if (onWebgpu) expect(got.reduce((m, v, k) => Math.max(m, Math.abs(v - expected[k]) / Math.max(Math.abs(expected[k]), 1e-30)), 0)).toBeLessThanOrEqual(1e-6);
        else expect(got).toEqual(expected);
      }
    }
  });

  // Finite differences need float64, which WGSL lacks; the CPU project runs this.
  it.skipIf(onWebgpu)("differentiates (grad against finite differences) and batches (vmap against a loop)", async () => {
    const x = fromTyped(Float64Array.from([0.3, -1.2, 2.0]), [3], "float64");
    const f = (y: Tracer) => np.sum(cube(y));
    const g = await valuesOf(grad(f)(x));
    const fd = await valuesOf(fdGrad(f, x));
    g.forEach((v, i) => expect(v).toBeCloseTo(fd[i], 5));
    const rows = fromTyped(Float32Array.from([1, 2, 3, -1, -2, -3]), [2, 3], "float32");
    const batched = await valuesOf(vmap(cube)(rows));
    expect(batched).toEqual(want(Float32Array.from([1, 2, 3, -1, -2, -3])));
  });

  it.skipIf(onWebgpu)("renders to WGSL and CUDA C from its spellings", () => {
    const { kernel } = eagerKernel(cubeP, [{ shape: [8], dtype: "float32" }], {}, [{ shape: [8], dtype: "float32" }]);
    expect(renderWgsl(kernel).code).toMatch(/\((\w+) \* \1 \* \1\)/);
    expect(renderCuda(kernel).code).toMatch(/__fmul_rn\(__fmul_rn\((\w+), \1\), \1\)/);
  });
});
