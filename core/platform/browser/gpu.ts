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

/** The part of the DOM's Storage used here (the project compiles without the DOM's types). */
interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
const storage = () => (globalThis as { localStorage?: KeyValueStore }).localStorage;

/**
 * Small settings kept across page loads (the product kernel timed on an anonymous adapter):
 * the origin's localStorage, where the page may use it (not in workers, nor where storage is
 * blocked; then nothing is kept and the backend times again on the next load).
 */
export const savedSetting: typeof Node.savedSetting = (key) => {
  try {
    return storage()?.getItem(key) ?? null;
  } catch {
    return null;
  }
};

export const saveSetting: typeof Node.saveSetting = (key, value) => {
  try {
    storage()?.setItem(key, value);
  } catch {
    // Storage full or blocked: the setting lives for this page only.
  }
};
