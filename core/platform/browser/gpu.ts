/** The WebGPU entry point in a browser: `navigator.gpu`. */
import type * as Node from "../node/gpu.ts";

export const gpuEntry: typeof Node.gpuEntry = async () => {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    throw new Error("webgpu: this browser has no navigator.gpu (WebGPU needs a secure context: https or localhost, and a browser that ships it)");
  }
  return gpu;
};

export const noAdapterHint: typeof Node.noAdapterHint = "the browser offers none: WebGPU may be off or blocked for this GPU (chrome://gpu says why)";
