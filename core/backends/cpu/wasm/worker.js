// A worker of the wasm matmul pool (pool.ts). Plain JavaScript so that it loads without
// a TypeScript loader: it only instantiates the kernel module on the shared memory, then
// sleeps in Atomics.wait until the main thread bumps its wake word, runs blocks of the
// job with the module's `run`, and reports back through the `running` word. It is never
// stopped: the pool unrefs it, and an idle worker costs no CPU.
import { parentPort, workerData } from "node:worker_threads";

const { module, memory, words } = workerData;
const ctrl = new Int32Array(memory.buffer, 0, words.controlWords);
const { run } = new WebAssembly.Instance(module, { env: { memory } }).exports;

Atomics.store(ctrl, words.ready, 1);
parentPort.postMessage("ready");
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, words.wake, seen);
  const wake = Atomics.load(ctrl, words.wake);
  if (wake === seen) continue;
  seen = wake;
  try {
    Atomics.add(ctrl, words.helped, run());
  } catch (e) {
    // The main thread throws for us once the job is over; a worker must not die mid-job.
    Atomics.store(ctrl, words.failed, 1);
    console.error("augerino wasm worker:", e);
  } finally {
    if (Atomics.sub(ctrl, words.running, 1) === 1) Atomics.notify(ctrl, words.running);
  }
}
