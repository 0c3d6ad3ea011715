/**
 * Numbers at the edges of a dtype (docs/call-forms.md, "Numbers"): values written in JS that
 * an integer dtype cannot hold are errors, float-to-int casts saturate on every kernel (the
 * eager CPU loop, fused JavaScript, WebAssembly, WGSL), and max/min of nothing is an error.
 */
import { describe, expect, it } from "vitest";
import { jit, np, random, type Array } from "../../index.ts";
import { setWasmKernelMinSize, wasmKernelStats, DEFAULT_WASM_KERNEL_MIN_SIZE } from "../../core/backends/cpu/wasm/kernels.ts";
import { wasmEnabled } from "../../core/backends/cpu/wasm/webassembly.ts";
import { onWebgpu } from "../backend-under-test.ts";

const SOURCE = [3e9, -3e9, NaN, Infinity, -Infinity, 2.7, -2.7, 5e9, 2147483647.5, -2147483648.9, 4294967295.5, -0.5];
// XLA's conversion: truncate toward zero, saturate at the bounds, NaN to 0.
const INT32 = [2147483647, -2147483648, 0, 2147483647, -2147483648, 2, -2, 2147483647, 2147483647, -2147483648, 2147483647, 0];
const UINT32 = [3000000000, 0, 0, 4294967295, 0, 2, 0, 4294967295, 2147483647, 0, 4294967295, 0];

describe("values an integer dtype cannot hold", () => {
  it("are errors when written in JS (np.array, full, arange, linspace), naming the function and the range", () => {
    expect(() => np.array([3e9], { dtype: "int32" })).toThrow("array: 3000000000 is out of range for int32 (valid: -2147483648 to 2147483647)");
    expect(() => np.array([1, -1], "uint32")).toThrow("array: -1 is out of range for uint32 (valid: 0 to 4294967295)");
    expect(() => np.array([NaN], "int32")).toThrow(/array: NaN is out of range for int32/);
    expect(() => np.array(new Float32Array([Infinity]), "int32")).toThrow(/array: Infinity is out of range/);
    expect(() => np.full([2], 2 ** 31, "int32")).toThrow(/full: 2147483648 is out of range for int32/);
    expect(() => np.arange(2 ** 31 - 2, 2 ** 31 + 1, 1, "int32")).toThrow(/arange: 2147483648 is out of range/);
    expect(() => np.linspace(0, 5e9, 3, "uint32")).toThrow(/linspace: 5000000000 is out of range for uint32/);
  });

  it("in range, fractions truncate toward zero as in NumPy, and the bounds themselves are kept", async () => {
    expect(await np.array([1.9, -1.9, 2147483647, -2147483648], "int32").toArray()).toEqual([1, -1, 2147483647, -2147483648]);
    expect(await np.array([4294967295, 0.5], "uint32").toArray()).toEqual([4294967295, 0]);
  });
});

describe("float-to-int casts saturate, NaN to 0, on every kernel", () => {
  const cast = (x: Array, d: "int32" | "uint32") => np.astype(x, d);
  // The float64 source only exists on the CPU; float32 cannot hold 2147483647.5 exactly, so its rows use the float32 values.
  const f32 = Float32Array.from(SOURCE);
  const expected = (d: "int32" | "uint32") =>
    globalThis.Array.from(f32, (v) => (Number.isNaN(v) ? 0 : Math.min(d === "int32" ? 2147483647 : 4294967295, Math.max(d === "int32" ? -2147483648 : 0, Math.trunc(v))) + 0));

  it("eagerly and in a fused kernel (float64 and float32 sources)", async () => {
    for (const d of ["int32", "uint32"] as const) {
      if (!onWebgpu) expect(await cast(np.array(SOURCE, "float64"), d).toArray()).toEqual(d === "int32" ? INT32 : UINT32);
      const x = np.array(f32);
      expect(await cast(x, d).toArray()).toEqual(expected(d));
      expect(await jit((v: Array) => cast(v.mul(1), d))(x).toArray()).toEqual(expected(d));
    }
  });

  it.skipIf(onWebgpu || !wasmEnabled())("in a WebAssembly kernel, the same bits as the JavaScript one", async () => {
    const n = DEFAULT_WASM_KERNEL_MIN_SIZE;
    const big = np.array(Float32Array.from({ length: n }, (_, i) => f32[i % f32.length]));
    for (const d of ["int32", "uint32"] as const) {
      const runs = wasmKernelStats.runs;
      const viaWasm = await jit((v: Array) => cast(v.mul(1), d))(big).data();
      expect(wasmKernelStats.runs).toBeGreaterThan(runs);
      setWasmKernelMinSize(Infinity);
      try {
        expect(globalThis.Array.from(viaWasm)).toEqual(globalThis.Array.from(await jit((v: Array) => cast(v.mul(1), d).add(0))(big).data()));
      } finally {
        setWasmKernelMinSize(DEFAULT_WASM_KERNEL_MIN_SIZE);
      }
      expect(globalThis.Array.from(viaWasm.subarray(0, f32.length))).toEqual(expected(d));
    }
  });
});

describe("max and min of nothing", () => {
  it("are errors, as jnp.max without initial; over a non-empty axis of a zero-size array they are empty", async () => {
    expect(() => np.max(np.zeros([0]))).toThrow("max: zero-size array to reduction operation max which has no identity (axis 0 of [0] has size 0)");
    expect(() => np.min(np.zeros([2, 0]), 1)).toThrow(/min: zero-size array to reduction operation min/);
    expect(() => np.zeros([0, 3]).max()).toThrow(/max: zero-size array/);
    expect(() => jit((x: Array) => np.max(x))(np.zeros([0]))).toThrow(/max: zero-size array/);
    expect(np.max(np.zeros([2, 0]), 0).shape).toEqual([0]);
    expect(() => np.argmax(np.zeros([0]))).toThrow(/argmax: cannot take argmax of an empty axis/);
    expect(() => np.argmin(np.zeros([3, 0]), 1)).toThrow(/argmin: cannot take argmin of an empty axis/);
    // Sums and products have identities.
    expect(await np.sum(np.zeros([0])).toArray()).toBe(0);
    expect(await np.prod(np.zeros([0])).toArray()).toBe(1);
  });
});

describe("sizes no kernel can index", () => {
  it("are refused by the creation functions before anything is allocated", () => {
    const t0 = performance.now();
    expect(() => np.zeros([2 ** 31])).toThrow(/full: \[2147483648\] has 2147483648 elements, more than the 2147483647/);
    expect(() => np.arange(3e9)).toThrow(/arange: \[3000000000\] has 3000000000 elements/);
    expect(() => np.arange(Infinity)).toThrow(/arange: \[Infinity\]/);
    expect(() => np.linspace(0, 1, 3e9)).toThrow(/linspace: \[3000000000\]/);
    expect(() => np.eye(1e5)).toThrow(/eye: \[100000,100000\] has 10000000000 elements/);
    expect(() => random.split(random.key(0), 2 ** 31)).toThrow(/random\.split: \[2147483648,2\]/);
    // Each used to fill gigabytes (np.zeros([2 ** 31]) took 26 s) before failing or succeeding.
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("np.tile takes whole repetition counts only (a fraction gave an array of shape [1.5])", () => {
    expect(() => np.tile(99, 1.5)).toThrow("tile: reps must be a non-negative integer or a list of them, got 1.5");
    expect(() => np.tile(np.ones([2]), [2, -1])).toThrow(/tile: reps must be/);
  });
});
