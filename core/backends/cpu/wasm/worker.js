// A worker of the wasm pool (pool.ts) under Node's worker_threads: it sleeps in
// Atomics.wait until the main thread bumps its wake word and runs blocks of the job
// (worker-job.js). Fused kernels arrive as modules on `port`, read synchronously when a
// job needs one. It is never stopped: the pool unrefs it, and an idle worker costs no CPU.
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { workerJob } from "./worker-job.js";

const { words, port } = workerData;
const job = workerJob(workerData, false);
const receiveKernels = () => {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) job.addKernel(m.message);
};

parentPort.postMessage("ready");
let seen = 0;
for (;;) {
  Atomics.wait(job.ctrl, words.wake, seen);
  const wake = Atomics.load(job.ctrl, words.wake);
  if (wake === seen) continue;
  seen = wake;
  job.runOnce(receiveKernels);
}
