/** The CUDA backend, loaded on first use (it calls the driver through koffi, so Node only). */
import type { Backend } from "../../backend.ts";

export async function startCudaBackend(): Promise<Backend> {
  return (await import("../../backends/cuda/index.ts")).startCudaBackend();
}
