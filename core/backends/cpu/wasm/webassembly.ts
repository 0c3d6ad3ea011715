/**
 * A typed handle on the `WebAssembly` global, limited to what the kernels use. TypeScript
 * declares WebAssembly in its DOM lib, which this project does not load.
 *
 *   const ok = webAssembly.validate(bytes);
 */
import { envVar } from "../../../env.ts";

export interface WasmMemory {
  /** For a shared memory, a SharedArrayBuffer as long as the memory is now. */
  readonly buffer: SharedArrayBuffer;
  /** Adds pages (64 KiB each) and returns the previous size in pages. */
  grow(pages: number): number;
}

/** A compiled module; it can be posted to worker threads and instantiated there. */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
}

export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** Whether the CPU uses its WebAssembly kernels (matmul, conv, fused kernels, the heap); AUGERINO_WASM=0 turns them off. */
export function wasmEnabled(): boolean {
  return envVar("AUGERINO_WASM") !== "0";
}
