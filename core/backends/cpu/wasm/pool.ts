/**
 * The threads behind the wasm kernels: one shared `WebAssembly.Memory`, the kernel module
 * instantiated on it in the main thread and in `threads - 1` worker threads, and a
 * synchronous `runJob` in which the main thread works alongside the workers.
 *
 * Workers sleep in `Atomics.wait` on a word of their own; `runJob` writes the job into the
 * control block (control.ts), bumps the wake words, runs blocks itself, then waits on the
 * `running` word. Blocks are claimed from an atomic counter, so a late or slow worker only
 * takes fewer. Workers start on the first large job and join once ready (until then the
 * main thread does all the work); they are unref()ed, so they never keep a process alive.
 *
 * Thread count: `os.availableParallelism()`, capped by env AUGERINO_THREADS or
 * `setCpuThreads(n)`; it counts the main thread.
 *
 *   setCpuThreads(1);   // single-threaded from here on
 */
import os from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { CONTROL_BYTES, jobKind, word } from "./control.ts";
import { sgemmModule, type SgemmExports } from "./matmul.ts";
import { webAssembly, type WasmMemory, type WasmModule } from "./webassembly.ts";

const PAGE_BYTES = 65536;
const MAX_PAGES = 65536;

/** Per worker: [wake counter, ready flag], from control word `workers` on. */
const WORDS_PER_WORKER = 2;
const MAX_WORKERS = (CONTROL_BYTES / 4 - word.workers) / WORDS_PER_WORKER;

/** A job for `runJob`: its kind (control.ts), its words, and how many blocks it splits into. */
export interface Job {
  kind: number;
  words: [number, number][];
  blocks: number;
}

interface Runtime {
  memory: WasmMemory;
  module: WasmModule;
  kernel: SgemmExports;
  ctrl: Int32Array;
}

let runtime: Runtime | null = null;
interface PoolWorker {
  worker: Worker;
  wake: number;
  ready: number;
  alive: boolean;
  started: Promise<boolean>;
  /** Where fused kernel modules go (the worker reads them synchronously when a job needs one), and the ids sent. */
  port: MessagePort;
  known: Set<number>;
}
const workers: PoolWorker[] = [];
let threads = initialThreads();

function initialThreads(): number {
  const avail = os.availableParallelism();
  const env = Number(process.env.AUGERINO_THREADS);
  return Number.isInteger(env) && env >= 1 ? Math.min(env, avail) : avail;
}

/** Threads that work on a large float32 matmul or convolution, counting the calling thread (>= 1). */
export function setCpuThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setCpuThreads: expected a positive integer, got ${n}`);
  threads = Math.min(n, MAX_WORKERS + 1);
}

export function cpuThreads(): number {
  return threads;
}

/** The module, its main-thread instance and the shared memory, made on first use. */
export function wasmRuntime(): Runtime {
  if (runtime) return runtime;
  const memory = new webAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const module = new webAssembly.Module(sgemmModule().bytes);
  const kernel = new webAssembly.Instance(module, { env: { memory } }).exports as unknown as SgemmExports;
  runtime = { memory, module, kernel, ctrl: new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4) };
  return runtime;
}

/** Grows the shared memory to at least `bytes`; false if that is beyond wasm32's 4 GiB. */
export function reserveBytes(bytes: number): boolean {
  const { memory } = wasmRuntime();
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (pages > MAX_PAGES) return false;
  const have = memory.buffer.byteLength / PAGE_BYTES;
  if (pages > have) memory.grow(pages - have);
  return true;
}

/** Blocks of all jobs so far that worker threads ran (the rest ran on the calling thread). */
export function workerBlockCount(): number {
  return runtime ? Atomics.load(runtime.ctrl, word.helped) : 0;
}

/**
 * Runs a job to completion on this thread and, when `parallel`, on the workers that are
 * ready; `describe` gets the number of threads taking part and returns the job. This
 * thread claims blocks with the sgemm module's `run`, or with `work` when given.
 */
export function runJob(parallel: boolean, describe: (team: number) => Job, work?: () => void, helpers?: PoolWorker[]): void {
  const { kernel, ctrl } = wasmRuntime();
  helpers ??= parallel && threads > 1 ? readyWorkers(threads - 1) : [];
  const job = describe(helpers.length + 1);
  for (const [w, v] of job.words) ctrl[w] = v;
  ctrl[word.kind] = job.kind;
  ctrl[word.blocks] = job.blocks;
  ctrl[word.next] = 0;
  // The atomic writes below publish the plain ones above to the workers.
  Atomics.store(ctrl, word.running, helpers.length);
  for (const h of helpers) {
    Atomics.add(ctrl, h.wake, 1);
    Atomics.notify(ctrl, h.wake, 1);
  }
  let failure: unknown = null;
  try {
    if (work) work();
    else kernel.run();
  } catch (e) {
    // Let the workers finish (they stop once the counter runs out) before rethrowing.
    Atomics.store(ctrl, word.next, job.blocks);
    failure = e;
  }
  for (let r = Atomics.load(ctrl, word.running); r !== 0; r = Atomics.load(ctrl, word.running)) Atomics.wait(ctrl, word.running, r);
  if (failure) throw failure;
  if (Atomics.exchange(ctrl, word.failed, 0) !== 0) throw new Error("wasm kernels: a worker thread failed (its error is on stderr)");
}

/**
 * Runs a fused kernel (kernels.ts) in `blocks` blocks of its outer loop on this thread
 * and the ready workers, sending each worker the module the first time. False when no
 * worker is ready or the pointers do not fit the control block (the caller runs it alone).
 */
export function runKernelJob(module: WasmModule, id: number, outer: number, blocks: number, ptrs: number[], heap: WasmMemory, run: (lo: number, hi: number, ...ptrs: number[]) => void): boolean {
  if (threads <= 1 || word.fusedPtr0 + ptrs.length > word.workers) return false;
  const helpers = readyWorkers(threads - 1);
  if (helpers.length === 0) return false;
  for (const h of helpers) {
    if (h.known.has(id)) continue;
    h.port.postMessage({ id, module, heap });
    h.known.add(id);
  }
  const { ctrl } = wasmRuntime();
  const words: [number, number][] = [[word.fusedId, id], [word.fusedOuter, outer], [word.fusedPtrs, ptrs.length], ...ptrs.map((p, i): [number, number] => [word.fusedPtr0 + i, p])];
  runJob(true, () => ({ kind: jobKind.fused, words, blocks }), () => {
    for (let b = Atomics.add(ctrl, word.next, 1); b < blocks; b = Atomics.add(ctrl, word.next, 1)) {
      run(Math.floor((b * outer) / blocks), Math.floor(((b + 1) * outer) / blocks), ...ptrs);
    }
  }, helpers);
  return true;
}

/**
 * Starts the workers for the current thread count and resolves with how many are ready
 * (benchmarks and tests call it so that the first timed job already runs on all threads).
 */
export async function startWorkers(): Promise<number> {
  spawnWorkers(threads - 1);
  const mine = workers.slice(0, threads - 1);
  // Unref'ed workers would let the process exit while we wait for them.
  for (const w of mine) w.worker.ref();
  const ok = await Promise.all(mine.map((w) => w.started));
  for (const w of mine) w.worker.unref();
  return ok.filter(Boolean).length;
}

/** Up to n workers ready for a job; starts missing ones, which join later jobs once ready. */
function readyWorkers(n: number): PoolWorker[] {
  spawnWorkers(n);
  const { ctrl } = wasmRuntime();
  return workers.slice(0, n).filter((w) => w.alive && Atomics.load(ctrl, w.ready) === 1);
}

function spawnWorkers(n: number): void {
  const { memory, module } = wasmRuntime();
  while (workers.length < n) {
    const slot = word.workers + workers.length * WORDS_PER_WORKER;
    const words = {
      controlWords: CONTROL_BYTES / 4, wake: slot, ready: slot + 1, running: word.running, failed: word.failed, helped: word.helped,
      kind: word.kind, next: word.next, blocks: word.blocks, fusedKind: jobKind.fused,
      fusedId: word.fusedId, fusedOuter: word.fusedOuter, fusedPtrs: word.fusedPtrs, fusedPtr0: word.fusedPtr0,
    };
    const { port1, port2 } = new MessageChannel();
    // execArgv: [] because the worker is plain JS; inheriting a TypeScript loader only slows its start.
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: { module, memory, words, port: port2 }, transferList: [port2], execArgv: [] });
    port1.unref();
    const started = new Promise<boolean>((resolve) => {
      worker.once("message", () => resolve(true));
      worker.once("error", (e) => {
        entry.alive = false;
        process.emitWarning(`augerino: a wasm matmul worker failed (${e.message}); continuing with fewer threads`);
        resolve(false);
      });
      worker.once("exit", () => {
        entry.alive = false;
        resolve(false);
      });
    });
    const entry: PoolWorker = { worker, wake: words.wake, ready: words.ready, alive: true, started, port: port1, known: new Set() };
    worker.unref();
    workers.push(entry);
  }
}
