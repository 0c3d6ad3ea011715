/** What the wasm pool (core/backends/cpu/wasm/pool.ts) asks of a platform's threads. */
import type { WasmMemory, WasmModule } from "../backends/cpu/wasm/webassembly.ts";

/** What a thread starts from: the kernel module, the shared memory, and where its words are in the control block. */
export interface ThreadInit {
  module: WasmModule;
  memory: WasmMemory;
  words: Record<string, number>;
}

/** A fused kernel's module, sent once to each thread that runs it. */
export interface KernelMessage {
  id: number;
  module: WasmModule;
  heap: WasmMemory;
}

export interface PoolThread {
  /** True once the thread waits for jobs; false if it failed to start. */
  started: Promise<boolean>;
  alive(): boolean;
  send(message: KernelMessage): void;
  /** Whether the thread keeps the process alive (Node; a no-op in a browser). */
  keepProcessAlive(on: boolean): void;
}
