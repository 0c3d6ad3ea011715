/**
 * In Chromium's WebGPU projects (tests/browser/projects.ts): the backend starts from
 * navigator.gpu on the adapter the project's flags ask for, and judges SwiftShader a
 * software adapter although the browser hides its device and description.
 */
import { expect, it } from "vitest";
import { getBackend } from "../../core/backend.ts";
import type { WebGpuBackend } from "../../core/backends/webgpu/index.ts";
import { np } from "../../index.ts";

const adapter = process.env.AUGERINO_BROWSER_ADAPTER;

it(`runs on the ${adapter} adapter and judges whether it is software`, async () => {
  const gpu = getBackend("webgpu") as WebGpuBackend;
  const features = gpu.device.features;
  if (adapter === "swiftshader") {
    expect(gpu.ctx.adapterInfo.architecture).toBe("swiftshader");
    expect(gpu.ctx.software).toBe(true);
    expect(features.has("core-features-and-limits")).toBe(true);
  } else {
    expect(adapter).toBe("compat");
    // Compatibility mode: the device lacks core features (and ANGLE offers no subgroups).
    expect(features.has("core-features-and-limits")).toBe(false);
    expect(features.has("subgroups")).toBe(false);
  }
  const x = np.arange(6).reshape([2, 3]);
  expect([...(await np.matmul(x, x.T).data())]).toEqual([5, 14, 14, 50]);
});
