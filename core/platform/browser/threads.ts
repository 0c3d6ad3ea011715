/**
 * Web Workers for the wasm kernels' pool (core/backends/cpu/wasm/pool.ts), in a browser.
 * Shared memory reaches a worker only when the page is cross-origin isolated (COOP/COEP
 * headers), so otherwise the pool has one thread: the caller's. Workers wait for jobs with
 * Atomics.waitAsync and so return to their event loop, where fused kernel modules arrive;
 * the page's own thread may not block, so it spins on the few words it waits for, and
 * only while workers finish the blocks they already claimed.
 */
import type * as Node from "../node/threads.ts";
import type { KernelMessage, PoolThread, ThreadInit } from "../threads-types.ts";

/** The parts of the DOM used here (the project does not load TypeScript's DOM lib). */
interface WebWorker {
  postMessage(message: unknown): void;
  addEventListener(type: "message" | "error", listener: (e: { message?: string }) => void, options: { once: boolean }): void;
}
const scope = globalThis as unknown as {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
  Worker: new (url: URL, options: { type: "module" }) => WebWorker;
};

export const cpuCount: typeof Node.cpuCount = () => (scope.crossOriginIsolated ? Math.max(1, scope.navigator?.hardwareConcurrency ?? 1) : 1);

export const startThread: typeof Node.startThread = (init: ThreadInit, onError: (message: string) => void): PoolThread => {
  const worker = new scope.Worker(new URL("./wasm-worker.js", import.meta.url), { type: "module" });
  let alive = true;
  const started = new Promise<boolean>((resolve) => {
    worker.addEventListener("message", () => resolve(true), { once: true });
    worker.addEventListener(
      "error",
      (e) => {
        alive = false;
        onError(e.message ?? "the worker did not start");
        resolve(false);
      },
      { once: true },
    );
  });
  worker.postMessage({ init });
  return { started, alive: () => alive, send: (m: KernelMessage) => worker.postMessage({ kernel: m }), keepProcessAlive: () => {} };
};

export const waitWhile: typeof Node.waitWhile = (ctrl, index, value) => {
  while (Atomics.load(ctrl, index) === value) {
    // Spin: Atomics.wait throws on a page's main thread.
  }
};
