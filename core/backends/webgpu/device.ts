/**
 * Starting a WebGPU device through Dawn's Node binding (npm `webgpu`). Each failure
 * becomes one line saying why: the package does not load, no adapter (no Vulkan driver),
 * or the device request fails.
 */

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** Software rasteriser (lavapipe): kernels prefer register blocking to workgroup memory there. */
  software: boolean;
  /** The largest storage buffer binding; larger arrays are bound as several windows (windows.ts). */
  maxBindingBytes: number;
  /** The largest buffer, so the largest array. */
  maxBufferBytes: number;
  /** Kept alive with the device: Dawn frees its instance when this object is collected. */
  gpu: unknown;
}

/** Also kept here, process-wide, so the instance outlives every device made from it. */
let instance: unknown;

export async function startGpu(): Promise<GpuContext> {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = "/tmp";
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import("webgpu")) as unknown as typeof mod;
  } catch (e) {
    throw new Error(`webgpu: the "webgpu" package (Dawn for Node) did not load: ${(e as Error).message.split("\n")[0]}`, { cause: e });
  }
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = (instance ??= mod.create([])) as GPU;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new Error("webgpu: no GPU adapter found (Dawn needs a Vulkan driver: a GPU driver, or Mesa 25's lavapipe from Debian bookworm-backports' mesa-vulkan-drivers)");
  }
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    // Subgroup broadcasts let lavapipe's lanes share loads in the matmul and conv kernels (about 1.8x there).
    requiredFeatures: adapter.features.has("subgroups") ? ["subgroups" as GPUFeatureName] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxComputeWorkgroupSizeX: Math.min(1024, lim.maxComputeWorkgroupSizeX),
      maxComputeInvocationsPerWorkgroup: Math.min(1024, lim.maxComputeInvocationsPerWorkgroup),
      maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
      // Arrays over the binding limit are bound as windows at multiples of this (windows.ts).
      minStorageBufferOffsetAlignment: lim.minStorageBufferOffsetAlignment,
    },
  });
  const info = adapter.info;
  return {
    device,
    adapterInfo: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    software: info.architecture === "software" || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`),
    maxBindingBytes: Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize),
    // Kernels index elements in u32, and some run past the element count (sort pads lines to
    // a power of two, grids round up), so arrays stop at 2^30 elements whatever the adapter allows.
    maxBufferBytes: Math.min(device.limits.maxBufferSize, 2 ** 32),
    gpu,
  };
}
