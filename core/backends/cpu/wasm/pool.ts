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
 * Threads are worker_threads in Node and Web Workers in a cross-origin isolated page
 * (core/platform/{node,browser}/threads.ts); elsewhere in a browser only the calling thread.
 *
 * Thread count: the platform's CPU count, capped by env AUGERINO_THREADS or
 * `setCpuThreads(n)`; it counts the main thread.
 *
 *   setCpuThreads(1);   // single-threaded from here on
 */
import { cpuCount, startThread, waitWhile } from "#platform/threads";
import type { PoolThread } from "../../../platform/threads-types.ts";
import { envVar, warn } from "../../../env.ts";
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
  thread: PoolThread;
  wake: number;
  ready: number;
  /** The fused kernel modules sent to it. */
  known: Set<number>;
}
const workers: PoolWorker[] = [];
let threads = initialThreads();

function initialThreads(): number {
  const avail = cpuCount();
  const env = Number(envVar("AUGERINO_THREADS"));
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
  for (let r = Atomics.load(ctrl, word.running); r !== 0; r = Atomics.load(ctrl, word.running)) waitWhile(ctrl, word.running, r);
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
    h.thread.send({ id, module, heap });
    h.known.add(id);
  }
  const { ctrl } = wasmRuntime();
  const words: [number, number][] = [[word.fusedId, id], [word.fusedOuter, outer], [word.fusedPtrs, ptrs.length], ...ptrs.map((p, i): [number, number] => [word.fusedPtr0 + i, p])];
  runJob(
    true,
    () => ({ kind: jobKind.fused, words, blocks }),
    () => {
      for (let b = Atomics.add(ctrl, word.next, 1); b < blocks; b = Atomics.add(ctrl, word.next, 1)) {
        run(Math.floor((b * outer) / blocks), Math.floor(((b + 1) * outer) / blocks), ...ptrs);
      }
    },
    helpers,
  );
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
  for (const w of mine) w.thread.keepProcessAlive(true);
  const ok = await Promise.all(mine.map((w) => w.thread.started));
  for (const w of mine) w.thread.keepProcessAlive(false);
  return ok.filter(Boolean).length;
}

/** Up to n workers ready for a job; starts missing ones, which join later jobs once ready. */
function readyWorkers(n: number): PoolWorker[] {
  spawnWorkers(n);
  const { ctrl } = wasmRuntime();
  return workers.slice(0, n).filter((w) => w.thread.alive() && Atomics.load(ctrl, w.ready) === 1);
}

function spawnWorkers(n: number): void {
  const { memory, module } = wasmRuntime();
  while (workers.length < n) {
    const slot = word.workers + workers.length * WORDS_PER_WORKER;
    const words = {
      controlWords: CONTROL_BYTES / 4,
      wake: slot,
      ready: slot + 1,
      running: word.running,
      failed: word.failed,
      helped: word.helped,
      kind: word.kind,
      next: word.next,
      blocks: word.blocks,
      fusedKind: jobKind.fused,
      fusedId: word.fusedId,
      fusedOuter: word.fusedOuter,
      fusedPtrs: word.fusedPtrs,
      fusedPtr0: word.fusedPtr0,
    };
    const thread = startThread({ module, memory, words }, (message) => warn(`augerino: a wasm matmul worker failed (${message}); continuing with fewer threads`));
    workers.push({ thread, wake: words.wake, ready: words.ready, known: new Set() });
  }
}
