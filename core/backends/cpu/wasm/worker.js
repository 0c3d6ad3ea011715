// A worker of the wasm pool (pool.ts). Plain JavaScript so that it loads without a
// TypeScript loader: it instantiates the matmul module on the shared memory, then sleeps
// in Atomics.wait until the main thread bumps its wake word, runs blocks of the job, and
// reports back through the `running` word. Fused kernels (kernels.ts) arrive as modules
// on `port`, read synchronously when a job needs one; their imports are the builtins of
// render-wasm.ts's MATH_IMPORTS, defined the same way here. It is never stopped: the
// pool unrefs it, and an idle worker costs no CPU.
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";

const { module, memory, words, port } = workerData;
const ctrl = new Int32Array(memory.buffer, 0, words.controlWords);
const { run } = new WebAssembly.Instance(module, { env: { memory } }).exports;

const MATH_IMPORTS = {
  exp: Math.exp, log: Math.log, log1p: Math.log1p, expm1: Math.expm1,
  sin: Math.sin, cos: Math.cos, tan: Math.tan, tanh: Math.tanh, atan2: Math.atan2, pow: Math.pow,
  fmod: (a, b) => a % b,
  toInt32: (a) => a,
};
const kernels = new Map();

/** Blocks of a fused kernel job; returns how many this thread ran. */
function runFused() {
  const id = ctrl[words.fusedId];
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const { id: k, module: mod, heap } = m.message;
    kernels.set(k, new WebAssembly.Instance(mod, { env: { memory: heap, ...MATH_IMPORTS } }).exports.kernel);
  }
  const kernel = kernels.get(id);
  if (!kernel) throw new Error(`fused kernel ${id} was never sent to this worker`);
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

Atomics.store(ctrl, words.ready, 1);
parentPort.postMessage("ready");
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, words.wake, seen);
  const wake = Atomics.load(ctrl, words.wake);
  if (wake === seen) continue;
  seen = wake;
  try {
    Atomics.add(ctrl, words.helped, ctrl[words.kind] === words.fusedKind ? runFused() : run());
  } catch (e) {
    // The main thread throws for us once the job is over; a worker must not die mid-job.
    Atomics.store(ctrl, words.failed, 1);
    console.error("augerino wasm worker:", e);
  } finally {
    if (Atomics.sub(ctrl, words.running, 1) === 1) Atomics.notify(ctrl, words.running);
  }
}
