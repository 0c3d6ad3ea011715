/**
 * Choosing the product kernel by timing (autotune.ts), which a backend does at start when its
 * adapter hides what it is (Chromium's compatibility adapter): which adapters count as
 * anonymous, that timing on this adapter picks a kernel it can run and times it only once,
 * and that products follow the timed choice and still equal the CPU's.
 */
import { describe, expect, it } from "vitest";
import type { NDArray } from "../../../core/array.ts";
import { getBackend } from "../../../core/backend.ts";
import { gpuStats, type WebGpuBackend } from "../../../core/backends/webgpu/index.ts";
import { isAnonymousAdapter, tuneProducts } from "../../../core/backends/webgpu/autotune.ts";
import { preferredStrategy, productStrategies } from "../../../core/backends/webgpu/kernels/dot.ts";
import { lax, np } from "../../../index.ts";
import { Rng } from "../../cases/types.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";

const info = (vendor = "", architecture = "", device = "", description = "") => ({ vendor, architecture, device, description });

describe("anonymous adapters", () => {
  it("are those that report nothing and are not flagged as software", () => {
    expect(isAnonymousAdapter({ adapterInfo: info(), software: false })).toBe(true);
    // Chromium on a real GPU names vendor and architecture while hiding the rest.
    expect(isAnonymousAdapter({ adapterInfo: info("nvidia", "ampere"), software: false })).toBe(false);
    expect(isAnonymousAdapter({ adapterInfo: info("", "", "", "llvmpipe"), software: true })).toBe(false);
    // SwiftShader in a page: flagged as the fallback adapter, so judged software without timing.
    expect(isAnonymousAdapter({ adapterInfo: info(), software: true })).toBe(false);
  });
});

describe.skipIf(gpuSkipReason !== null)("webgpu product autotune", () => {
  it("picks a kernel this adapter runs, from timings of every candidate, and times once per adapter", async () => {
    const be = getBackend("webgpu") as unknown as WebGpuBackend;
    const candidates = productStrategies();
    const t = await tuneProducts(be, candidates);
    expect(candidates).toContain(t.strategy);
    expect(Object.keys(t.ms).sort()).toEqual([...candidates].sort());
    for (const ms of Object.values(t.ms)) expect(ms).toBeGreaterThan(0);
    expect(t.ms[t.strategy]).toBe(Math.min(...Object.values(t.ms)));
    const before = gpuStats.dispatches;
    expect(await tuneProducts(be, candidates)).toBe(t);
    expect(gpuStats.dispatches).toBe(before);
  });

  it("products and convolutions follow the timed kernel and equal the CPU", async () => {
    const be = getBackend("webgpu") as unknown as WebGpuBackend;
    const saved = be.tuning;
    // A kernel other than the one the device rule picks, so following the timing is visible.
    const ruled = preferredStrategy();
    const strategy = productStrategies().find((s) => s !== ruled)!;
    const rng = new Rng(7);
    try {
      be.tuning = { strategy, ms: {} };
      expect(preferredStrategy()).toBe(strategy);
      const a = rng.array([33, 70], "float32"),
        b = rng.array([70, 21], "float32");
      const want = (np.matmul(a, b) as NDArray).dataSync();
      const got = await (np.matmul(onGpu(a), onGpu(b)) as NDArray).data();
      expect(compareValues(got, want, true, 1e-5), `matmul, ${strategy}`).toBeNull();
      const x = rng.array([2, 3, 9, 8], "float32"),
        w = rng.array([5, 3, 3, 3], "float32");
      const cw = (lax.conv(x, w, { padding: "SAME" }) as NDArray).dataSync();
      const cg = await (lax.conv(onGpu(x), onGpu(w), { padding: "SAME" }) as NDArray).data();
      expect(compareValues(cg, cw, true, 1e-5), `conv, ${strategy}`).toBeNull();
    } finally {
      be.tuning = saved;
    }
    expect(preferredStrategy()).toBe(ruled);
  });
});
