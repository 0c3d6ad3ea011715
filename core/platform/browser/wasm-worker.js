// A Web Worker of the wasm pool (core/backends/cpu/wasm/pool.ts, started by threads.ts):
// the same job runner as Node's worker (worker-job.js), but it waits with
// Atomics.waitAsync, so fused kernel modules posted to it arrive between jobs; a job
// whose module has not arrived yet is left to the other threads.
import { workerJob } from "../../backends/cpu/wasm/worker-job.js";

let job = null;
self.onmessage = ({ data }) => {
  if (data.kernel) {
    job.addKernel(data.kernel);
    return;
  }
  job = workerJob(data.init, true);
  self.postMessage("ready");
  void serve(data.init.words);
};

async function serve(words) {
  let seen = 0;
  for (;;) {
    const w = Atomics.waitAsync(job.ctrl, words.wake, seen);
    if (w.async) await w.value;
    const wake = Atomics.load(job.ctrl, words.wake);
    if (wake === seen) continue;
    seen = wake;
    job.runOnce();
  }
}
