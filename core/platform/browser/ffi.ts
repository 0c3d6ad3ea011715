/** A page cannot load native libraries: the CPU backend's products run on its WebAssembly kernels. */
import type * as Node from "../node/ffi.ts";

export const loadFfi: typeof Node.loadFfi = () => ({ error: "a browser cannot load a native BLAS" });
