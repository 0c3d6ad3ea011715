/** No CUDA in a browser: the backend calls the driver through a native FFI. */
import type * as Node from "../node/cuda.ts";

export const startCudaBackend: typeof Node.startCudaBackend = () =>
  Promise.reject(new Error("cuda: the CUDA backend runs only in Node (it calls the NVIDIA driver through koffi); in a browser use webgpu or cpu"));
