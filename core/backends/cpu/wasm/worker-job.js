// One pool thread's side of a job (pool.ts), shared by Node's worker.js and the browser's
// wasm-worker.js: it instantiates the matmul module on the shared memory, keeps the fused
// kernel modules it was sent, and runs blocks of a job when woken. Plain JavaScript so
// that it loads without a TypeScript loader. Fused kernels' imports are math-imports.js's.

import { MATH_IMPORTS } from "./math-imports.js";

/**
 * The job runner of one thread. `skipUnknown`: a fused kernel whose module has not arrived
 * yet is left to the other threads (a browser worker receives modules asynchronously);
 * otherwise that is an error.
 */
export function workerJob({ module, memory, words }, skipUnknown) {
  const ctrl = new Int32Array(memory.buffer, 0, words.controlWords);
  const { run } = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = new Map();

  function addKernel({ id, module: mod, heap }) {
    kernels.set(id, new WebAssembly.Instance(mod, { env: { memory: heap, ...MATH_IMPORTS } }).exports.kernel);
  }

  /** Blocks of a fused kernel job; returns how many this thread ran. */
  function runFused() {
    const id = ctrl[words.fusedId];
    const kernel = kernels.get(id);
    if (!kernel) {
      if (skipUnknown) return 0;
      throw new Error(`fused kernel ${id} was never sent to this worker`);
    }
    const outer = ctrl[words.fusedOuter];
    const blocks = ctrl[words.blocks];
    const ptrs = Array.from({ length: ctrl[words.fusedPtrs] }, (_, i) => ctrl[words.fusedPtr0 + i]);
    let done = 0;
    for (let b = Atomics.add(ctrl, words.next, 1); b < blocks; b = Atomics.add(ctrl, words.next, 1)) {
      kernel(Math.floor((b * outer) / blocks), Math.floor(((b + 1) * outer) / blocks), ...ptrs);
      done++;
    }
    return done;
  }

  /** Runs the job the main thread posted, then reports back through the `running` word. */
  function runOnce(beforeFused) {
    try {
      const fused = ctrl[words.kind] === words.fusedKind;
      if (fused) beforeFused?.();
      Atomics.add(ctrl, words.helped, fused ? runFused() : run());
    } catch (e) {
      // The main thread throws for us once the job is over; a worker must not die mid-job.
      Atomics.store(ctrl, words.failed, 1);
      console.error("augerino wasm worker:", e);
    } finally {
      if (Atomics.sub(ctrl, words.running, 1) === 1) Atomics.notify(ctrl, words.running);
    }
  }

  Atomics.store(ctrl, words.ready, 1);
  return { ctrl, addKernel, runOnce };
}
