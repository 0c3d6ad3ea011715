/**
 * The WebGPU runtime: fusion under jit (fewer dispatches than primitives, one command
 * buffer per program), grids over 65535 workgroups, both reduction strategies, dtypes,
 * memory, placement of CPU operands, and clear errors.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { gc, settle } from "../../helpers.ts";
import { getBackend, jit, makeJaxpr, np, setDefaultBackend } from "../../../index.ts";
import { defaultBackendName } from "../../../core/backend.ts";
import { NDArray } from "../../../core/array.ts";
import { gpuStats, WebGpuBackend } from "../../../core/backends/webgpu/index.ts";
import { startGpu } from "../../../core/backends/webgpu/device.ts";
import { setFusion } from "../../../core/compiler/index.ts";
import type { ShapedArray, Tracer } from "../../../core/tracer.ts";
import { literal } from "../../../core/backends/webgpu/wgsl.ts";
import { gpuProgram } from "../../../core/backends/webgpu/program.ts";
import { perElements } from "../../../core/backends/webgpu/kernels/grid.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";
import { runOnGpu } from "./run-program.ts";

const cpuRange = (n: number, scale = 1e-3) => np.mul(np.arange(n, undefined, 1, { dtype: "float32" }), scale) as NDArray;
const chain = (x: Tracer) => np.sum(np.tanh(x.mul(1.5).add(0.25)).mul(np.exp(x.neg())).sub(0.5));

describe.skipIf(gpuSkipReason !== null)("webgpu runtime", () => {
  it("jit fuses a chain: fewer dispatches than primitives, one submit, same values as the CPU", async () => {
    const x = cpuRange(10000);
    const prims = makeJaxpr(chain)(x).jaxpr.eqns.length;
    const f = jit(chain);
    const want = (f(x) as NDArray).dataSync();
    const gx = onGpu(x);
    await (f(gx) as NDArray).data(); // compile
    getBackend("webgpu");
    const before = { ...gpuStats };
    const out = f(gx) as NDArray;
    const mid = { ...gpuStats };
    const got = await out.data();
    expect(mid.dispatches - before.dispatches).toBeLessThan(prims);
    expect(mid.dispatches - before.dispatches).toBe(1);
    expect(mid.submits - before.submits).toBe(0);
    expect(gpuStats.submits - mid.submits).toBe(1);
    expect(compareValues(got, want, true, 1e-4)).toBeNull();
  });

  it("without fusion the same program dispatches one kernel per primitive", async () => {
    setFusion(false);
    try {
      const x = onGpu(cpuRange(1000));
      const f = jit((v: Tracer) => chain(v));
      await (f(x) as NDArray).data();
      const before = gpuStats.dispatches;
      await (f(x) as NDArray).data();
      expect(gpuStats.dispatches - before).toBeGreaterThanOrEqual(6);
    } finally {
      setFusion(undefined);
    }
  });

  it("elementwise kernels cover more than 65535 workgroups", async () => {
    const n = 65536 * 64 + 5;
    const x = cpuRange(n, 1e-6);
    const got = await (np.exp(onGpu(x)) as NDArray).data();
    expect(compareValues(got, (np.exp(x) as NDArray).dataSync(), true, 1e-5)).toBeNull();
  });

  it("fused elementwise kernels are right at sizes their groups cover exactly and just past", async () => {
    // On both sides of the size from which invocations loop over several elements; exact
    // covers leave the bounds test out.
    const f = jit((x: Tracer) => np.add(np.mul(x, 3), np.arange(x.shape[0], undefined, 1, { dtype: "float32" })));
    for (const n of [64 * 5, 64 * 5 + 1, 64 * 1023, 512 * 128, 512 * 130, 512 * 130 - 1, 512 * 130 + 1]) {
      const x = cpuRange(n, 0.5);
      expect(compareValues(await (f(onGpu(x)) as NDArray).data(), (f(x) as NDArray).dataSync(), true, 0), `n = ${n}`).toBeNull();
    }
  });

  it("reductions agree with the CPU for long and short reduced axes", async () => {
    const x = np.reshape(cpuRange(3 * 5000, 1e-4), [3, 5000]) as NDArray;
    for (const axis of [0, 1]) {
      for (const f of [np.sum, np.max, np.min]) {
        const got = await (f(onGpu(x), { axis }) as NDArray).data();
        expect(got.length).toBe(axis === 0 ? 5000 : 3);
        expect(compareValues(got, (f(x, { axis }) as NDArray).dataSync(), true, 1e-4)).toBeNull();
      }
    }
    const all = await (np.sum(onGpu(x)) as NDArray).data();
    expect(compareValues(all, (np.sum(x) as NDArray).dataSync(), true, 1e-5)).toBeNull();
  });

  it("max and min propagate NaN as on the CPU", async () => {
    const x = np.array([1, NaN, 3]);
    expect(Number.isNaN((await (np.max(onGpu(x)) as NDArray).data())[0])).toBe(true);
    expect(Number.isNaN((await (np.maximum(onGpu(x), 2) as NDArray).data())[1])).toBe(true);
  });

  it("float32 literals keep their values at the ends of the range (FLT_MAX, whose 9-digit decimal WGSL rejects; the smallest normal and subnormal)", async () => {
    const values = [3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38, 1e-45, 0.1, 65504];
    const body = values.map((v, i) => `  if (gi == ${i}u) { out[gi] = ${literal(v, "float32")}; }`).join("\n");
    const program = gpuProgram((d) => ({ passes: [{ ...perElements([d.storage(0, "out", "f32", true)], values.length, body), bindings: [{ out: 0 }] }] }));
    const got = await runOnGpu(program, [], { shape: [values.length], dtype: "float32" } as ShapedArray);
    expect(Array.from(got)).toEqual(values.map(Math.fround));
  });

  it("bool, int32 and uint32 round-trip and compute exactly", async () => {
    const b = np.array([true, false, true]);
    expect([...(await (np.logicalNot(onGpu(b)) as NDArray).data())]).toEqual([0, 1, 0]);
    const i = np.array(new Int32Array([2147483647, -5, 7]));
    expect([...(await (onGpu(i).add(1) as NDArray).data())]).toEqual([-2147483648, -4, 8]);
    const u = np.array(new Uint32Array([4294967295, 3]));
    expect([...(await (onGpu(u).add(1) as NDArray).data())]).toEqual([0, 4]);
  });

  it("CPU operands beside WebGPU arrays are moved to the GPU", async () => {
    const x = onGpu(np.array([1, 2, 3]));
    const y = x.add(np.array([10, 20, 30])) as NDArray;
    expect(y.backend).toBe("webgpu");
    expect([...(await y.data())]).toEqual([11, 22, 33]);
  });

  it("numbers follow the arrays they meet: a float64 CPU array times 2 stays on the CPU under a WebGPU default", async () => {
    const before = defaultBackendName();
    setDefaultBackend("webgpu");
    try {
      const x = np.array(new Float64Array([0.1, 0.2, 0.3]), { backend: "cpu" });
      const y = x.mul(2).add(1) as NDArray;
      expect([y.backend, y.dtype]).toEqual(["cpu", "float64"]);
      expect([...y.dataSync()]).toEqual([1.2, 1.4, 1.6]);
      const j = jit((v: Tracer) => np.exp(v.mul(0.5)).sub(1))(x) as NDArray;
      expect([j.backend, j.dtype]).toEqual(["cpu", "float64"]);
      expect([...j.dataSync()]).toEqual([0.1, 0.2, 0.3].map((v) => Math.exp(v * 0.5) - 1));
      // Beside a WebGPU array, or alone, a number lands on the GPU (the default).
      const g = np.array([1, 2]).mul(3) as NDArray;
      expect(g.backend).toBe("webgpu");
      expect([...(await g.data())]).toEqual([3, 6]);
      expect((np.full([2], 7) as NDArray).backend).toBe("webgpu");
    } finally {
      setDefaultBackend(before);
    }
  });

  it("reads are asynchronous: dataSync names the alternative", () => {
    const x = onGpu(np.array([1, 2]));
    expect(() => x.dataSync()).toThrow(/await x.data\(\)/);
  });

  it("float64 is refused with the reason", () => {
    expect(() => onGpu(np.array(new Float64Array([1, 2])))).toThrow(/float64 is not supported/);
  });

  it("arrays over the largest buffer are refused with the primitive, the sizes and the limit", () => {
    const b = getBackend("webgpu") as WebGpuBackend;
    const n = Math.floor(b.ctx.maxBufferBytes / 4) + 1;
    // A broadcast scalar: the output's size is checked before anything is allocated.
    const message = `broadcast_in_dim: an array of ${n} elements (${4 * n} bytes) exceeds this adapter's largest buffer (maxBufferSize, ${b.ctx.maxBufferBytes} bytes)`;
    const zero = onGpu(np.array(0, { dtype: "float32" }));
    const live = b.memoryStats().liveBytes;
    expect(() => np.broadcastTo(zero, [n])).toThrow(message);
    expect(b.memoryStats().liveBytes).toBe(live);
  });

  it.skipIf(!gc)("memory stays flat over many steps (needs node --expose-gc, set in vitest.config.ts)", async () => {
    const b = getBackend("webgpu");
    const x = onGpu(cpuRange(4096));
    const step = (v: Tracer) => np.tanh(v).mul(0.5);
    let y = step(x) as NDArray;
    await settle();
    const start = b.memoryStats().liveBuffers;
    for (let k = 0; k < 2000; k++) {
      const next = step(y) as NDArray;
      y.dispose();
      y = next;
      if (k % 500 === 0) await settle();
    }
    await y.data();
    await settle();
    expect(b.memoryStats().liveBuffers).toBeLessThanOrEqual(start + 2);
  });

  it("a lost device is reported as an error on the next use", async () => {
    const own = new WebGpuBackend(await startGpu());
    const h = own.upload(new Float32Array([1, 2]), "float32");
    own.device.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await expect(own.read(h, { shape: [2], dtype: "float32" })).rejects.toThrow(/device was destroyed|lost/);
  });

  it("the README's WebGPU example is examples/webgpu.ts and prints the fused sum", async () => {
    const root = new URL("../../../", import.meta.url);
    // The README's code block that starts WebGPU (other sections have blocks of their own).
    const block = readFileSync(new URL("README.md", root), "utf8")
      .split("```ts\n")
      .map((b) => b.split("```")[0])
      .find((b) => b.includes('initBackend("webgpu")'));
    const example = readFileSync(new URL("examples/webgpu.ts", root), "utf8").split("\n").slice(1).join("\n");
    expect(block).toBe(example.replace('"../index.ts"', '"augerino"'));
    const logs: unknown[][] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => logs.push(a);
    try {
      await import("../../../examples/webgpu.ts");
    } finally {
      console.log = orig;
    }
    expect(logs[0][0]).toContain("webgpu");
    // sum of tanh(i / 1e6) for i < 1e6 is about 1e6 * log(cosh(1)).
    expect(Math.abs((logs[0][1] as Float32Array)[0] / 1e6 - Math.log(Math.cosh(1)))).toBeLessThan(1e-3);
  });
});
