/**
 * Starting a WebGPU device: `navigator.gpu` in a browser, Dawn's Node binding (npm
 * `webgpu`) in Node (core/platform/{browser,node}/gpu.ts). Each failure becomes one line
 * saying why: no entry point, no adapter, or the device request fails.
 */
import { gpuEntry, noAdapterHint } from "#platform/gpu";

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

export async function startGpu(): Promise<GpuContext> {
  const gpu = await gpuEntry();
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new Error(`webgpu: no GPU adapter found (${noAdapterHint})`);
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
    software: isSoftwareAdapter(adapter),
    maxBindingBytes: Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize),
    // Kernels index elements in u32, and some run past the element count (sort pads lines to
    // a power of two, grids round up), so arrays stop at 2^30 elements whatever the adapter allows.
    maxBufferBytes: Math.min(device.limits.maxBufferSize, 2 ** 32),
    gpu,
  };
}

/**
 * Whether the adapter runs on the CPU. Dawn in Node names the driver (lavapipe, llvmpipe);
 * a browser hides device and description but flags its own fallback (SwiftShader) and may
 * still say the architecture.
 */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacyFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (info.isFallbackAdapter || legacyFallback) return true;
  return /^(software|swiftshader)$/i.test(info.architecture) || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`);
}
