/**
 * Worker threads for the wasm kernels' pool (core/backends/cpu/wasm/pool.ts), in Node:
 * worker_threads running worker.js, which sleeps in Atomics.wait and reads fused kernel
 * modules synchronously from its port.
 */
import os from "node:os";
import { MessageChannel, Worker } from "node:worker_threads";
import type { KernelMessage, PoolThread, ThreadInit } from "../threads-types.ts";

export function cpuCount(): number {
  return os.availableParallelism();
}

export function startThread(init: ThreadInit, onError: (message: string) => void): PoolThread {
  const { port1, port2 } = new MessageChannel();
  // execArgv: [] because the worker is plain JS; inheriting a TypeScript loader only slows its start.
  const worker = new Worker(new URL("../../backends/cpu/wasm/worker.js", import.meta.url), { workerData: { ...init, port: port2 }, transferList: [port2], execArgv: [] });
  port1.unref();
  let alive = true;
  const started = new Promise<boolean>((resolve) => {
    worker.once("message", () => resolve(true));
    worker.once("error", (e) => {
      alive = false;
      onError(e.message);
      resolve(false);
    });
    worker.once("exit", () => {
      alive = false;
      resolve(false);
    });
  });
  // Unref'ed: an idle pool never keeps the process alive.
  worker.unref();
  return {
    started,
    alive: () => alive,
    send: (m: KernelMessage) => port1.postMessage(m),
    keepProcessAlive: (on: boolean) => (on ? worker.ref() : worker.unref()),
  };
}

/** Waits while `ctrl[index] === value`; Node's main thread may block. */
export function waitWhile(ctrl: Int32Array, index: number, value: number): void {
  Atomics.wait(ctrl, index, value);
}
