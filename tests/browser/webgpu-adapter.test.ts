/**
 * In Chromium's WebGPU projects (tests/browser/projects.ts): the backend starts from
 * navigator.gpu on the adapter the project's flags ask for, judges SwiftShader a software
 * adapter although the browser hides its device and description, and picks the compat
 * adapter's product kernel by timing (it reports nothing of itself), keeping the choice in
 * localStorage for the next page load, with products equal to the CPU's; tanh and the
 * logistic match the CPU's over every magnitude.
 */
import { expect, it } from "vitest";
import { getBackend } from "../../core/backend.ts";
import type { NDArray } from "../../core/array.ts";
import { gpuStats, type WebGpuBackend } from "../../core/backends/webgpu/index.ts";
import { STORAGE_PREFIX, tuneProducts, tuningKey } from "../../core/backends/webgpu/autotune.ts";
import { preferredStrategy, productStrategies } from "../../core/backends/webgpu/kernels/dot.ts";
import { lax, np } from "../../index.ts";
import { Rng } from "../cases/types.ts";
import { compareValues, saturatingMismatches } from "../backends/webgpu/gpu.ts";

const adapter = process.env.AUGERINO_BROWSER_ADAPTER;

it(`runs on the ${adapter} adapter and judges whether it is software`, async () => {
  const gpu = getBackend("webgpu") as WebGpuBackend;
  const features = gpu.device.features;
  if (adapter === "swiftshader") {
    expect(gpu.ctx.adapterInfo.architecture).toBe("swiftshader");
    expect(gpu.ctx.software).toBe(true);
    expect(features.has("core-features-and-limits")).toBe(true);
    expect(gpu.tuning).toBeUndefined();
  } else {
    expect(adapter).toBe("compat");
    // Compatibility mode: the device lacks core features (and ANGLE offers no subgroups).
    expect(features.has("core-features-and-limits")).toBe(false);
    expect(features.has("subgroups")).toBe(false);
    // It names nothing, so the product kernel was timed: every candidate ran, the fastest is used.
    expect(gpu.ctx.adapterInfo).toEqual({ vendor: "", architecture: "", device: "", description: "" });
    expect(Object.keys(gpu.tuning!.ms).sort()).toEqual(productStrategies().sort());
    expect(preferredStrategy()).toBe(gpu.tuning!.strategy);
  }
  const x = np.arange(6).reshape([2, 3]);
  expect([...(await np.matmul(x, x.T).data())]).toEqual([5, 14, 14, 50]);
});

it("products and convolutions on the chosen kernel equal the CPU's", async () => {
  const rng = new Rng(3);
  // The project's default backend is WebGPU, so each input is placed on both backends explicitly.
  const pair = async (shape: number[]) => {
    const data = (await rng.array(shape, "float32").data()) as Float32Array;
    return ["cpu", "webgpu"].map((backend) => np.array(data, { backend }).reshape(shape));
  };
  const [a, b, x, w] = await Promise.all([pair([45, 67]), pair([67, 29]), pair([2, 3, 10, 9]), pair([4, 3, 3, 3])]);
  const products = {
    matmul: (k: number) => np.matmul(a[k], b[k]) as NDArray,
    conv: (k: number) => lax.conv(x[k], w[k], { padding: "SAME" }) as NDArray,
  };
  for (const [what, f] of Object.entries(products)) {
    expect(compareValues(await f(1).data(), await f(0).data(), true, 1e-5), `${what} on ${preferredStrategy()}`).toBeNull();
  }
});

// The project compiles without the DOM's types.
const localStorage = (globalThis as unknown as { localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void } }).localStorage;

it("keeps a timed kernel in the page's localStorage and reads it back instead of timing again", async () => {
  const gpu = getBackend("webgpu") as WebGpuBackend;
  const stored = () => Object.keys(localStorage).filter((k) => k.startsWith(STORAGE_PREFIX));
  // The compat adapter was timed when the backend started, and the choice kept.
  if (adapter === "compat") expect(stored().map((k) => JSON.parse(localStorage.getItem(k)!).strategy)).toContain(gpu.tuning!.strategy);
  // Another candidate list is another key; an entry an earlier page load kept under it is used as it is.
  const [first, ...rest] = productStrategies();
  const kept = [...rest, first];
  localStorage.setItem(STORAGE_PREFIX + tuningKey(gpu.ctx, kept), JSON.stringify({ strategy: first, ms: { [first]: 1 } }));
  const before = gpuStats.dispatches;
  expect(await tuneProducts(gpu, kept)).toEqual({ strategy: first, ms: { [first]: 1 } });
  expect(gpuStats.dispatches).toBe(before);
  // A corrupt or foreign entry is ignored: the kernels are timed and the entry replaced.
  const single = [first];
  localStorage.setItem(STORAGE_PREFIX + tuningKey(gpu.ctx, single), "{not json");
  const timed = await tuneProducts(gpu, single);
  expect(gpuStats.dispatches).toBeGreaterThan(before);
  expect(timed.strategy).toBe(first);
  expect(JSON.parse(localStorage.getItem(STORAGE_PREFIX + tuningKey(gpu.ctx, single))!)).toEqual(timed);
});

it("tanh and the logistic match the CPU relative to their values, from 1e-30 to 3e38, at +-Infinity and NaN", async () => {
  expect(await saturatingMismatches(new Rng(5))).toEqual([]);
});
