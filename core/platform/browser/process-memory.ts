/**
 * In a browser the page cannot see its process's memory mappings (and the GPU driver runs
 * in another process), so webgpu/mappings.ts's guard has nothing to watch.
 */
import type * as Node from "../node/process-memory.ts";

export const processMappings: typeof Node.processMappings = () => null;
export const mappingLimit: typeof Node.mappingLimit = () => null;
export const fullCollection: typeof Node.fullCollection = () => null;
