/**
 * Backends own device memory and run kernels of the compiler's IR and a fixed list of
 * routines (core/routines.ts); they never see primitives or jaxprs. The CPU backend always
 * exists; others register a starter and appear in `devices()` once they can start.
 */
import type { DType, TypedArray } from "./dtype.ts";
import type { ShapedArray } from "./tracer.ts";
import type { Kernel } from "./compiler/ir.ts";
import type { RoutineCall } from "./routines.ts";
import { CpuBackend } from "./backends/cpu/index.ts";

export type Handle = unknown;

export interface MemoryStats {
  /** Buffers held by live arrays. */
  liveBuffers: number;
  liveBytes: number;
  /** Bytes kept in the pool for reuse. */
  pooledBytes: number;
}

export interface Backend {
  readonly name: string;
  upload(data: TypedArray, dtype: DType): Handle;
  read(handle: Handle, aval: ShapedArray): Promise<TypedArray>;
  readSync?(handle: Handle, aval: ShapedArray): TypedArray;
  free(handle: Handle, aval: ShapedArray): void;
  /**
   * Another owner for a buffer (e.g. a reshape's output viewing its input); the buffer is
   * released when every owner has freed it. Backends without it copy instead.
   */
  share?(handle: Handle): Handle;
  /** Runs one routine (a product, convolution, pooling, sort, small linalg, random bits, ...) over input buffers. */
  execute(call: RoutineCall, ins: Handle[]): Handle[];
  /**
   * Runs one kernel of the compiler's IR over input buffers; backends without it run jit
   * programs op by op. `label` names the work in errors (an eager call's primitive).
   */
  runKernel?(kernel: Kernel, ins: Handle[], label?: string): Handle;
  /**
   * Runs product `head` (a dot_general or conv_general_dilated call, over `headIns`) with
   * `kernel` applied in its final stores, so the product is never materialised: the kernel's
   * input `input` is the head's output, read at the kernel's own loop point, and `others`
   * are its other inputs in order. Returns the kernel's output, or null where this program
   * cannot take the epilogue (the caller then runs the head and the kernel separately).
   */
  runEpilogue?(head: RoutineCall, headIns: Handle[], kernel: Kernel, input: number, others: Handle[]): Handle | null;
  /** The most input buffers one kernel may read (WebGPU's storage-buffer limit); larger groups run op by op. */
  readonly maxKernelInputs?: number;
  /**
   * Whether a reduction of a reduction's sole output should run as one reduction (the CPU:
   * one pass over memory). GPU kernels give each output one thread, so they keep the two
   * stages, whose first has many outputs to spread over the device.
   */
  readonly mergesReductions?: boolean;
  /** Whether it runs conv_swapped_operands, so kernel gradients read their operands unswapped (core/compiler/fold-conv-transposes.ts). */
  readonly swapsConvOperands?: boolean;
  memoryStats(): MemoryStats;
}

type Starter = () => Promise<Backend>;

const starters = new Map<string, Starter>();
const started = new Map<string, Backend>();
let defaultName = "cpu";

started.set("cpu", new CpuBackend());
// Accelerators load on first initBackend, so importing the library pulls in neither their
// code nor the Node-only modules behind them (Dawn, koffi); CUDA exists only in Node.
starters.set("webgpu", async () => (await import("./backends/webgpu/index.ts")).startWebGpu());
starters.set("cuda", async () => (await import("#platform/cuda")).startCudaBackend());

export function registerBackend(name: string, start: Starter | Backend): void {
  if (typeof start === "function") starters.set(name, start);
  else started.set(name, start);
}

/** Names of the backends that have started in this process (the CPU always has). */
export function devices(): string[] {
  return [...started.keys()];
}

/** Starts a backend, or throws an Error whose message says why it cannot start here. */
export async function initBackend(name: string): Promise<Backend> {
  const have = started.get(name);
  if (have) return have;
  const start = starters.get(name);
  if (!start) {
    throw new Error(`initBackend: unknown backend "${name}"; known: ${[...new Set([...started.keys(), ...starters.keys()])].join(", ")}`);
  }
  const b = await start();
  started.set(name, b);
  return b;
}

export function getBackend(name?: string): Backend {
  const n = name ?? defaultName;
  const b = started.get(n);
  if (!b) throw new Error(`backend "${n}" has not been started; call await initBackend("${n}") first`);
  return b;
}

export function setDefaultBackend(name: string): void {
  if (!started.has(name)) {
    throw new Error(`setDefaultBackend: backend "${name}" has not been started; call await initBackend("${name}") first`);
  }
  defaultName = name;
}

export function defaultBackendName(): string {
  return defaultName;
}

/**
 * Runs `fn` (synchronous, so no other code sees the switch) with `name` as the default
 * backend: arrays it creates, scalars inside library ops included, live there.
 */
export function withDefaultBackend<T>(name: string, fn: () => T): T {
  const previous = defaultName;
  setDefaultBackend(name);
  try {
    return fn();
  } finally {
    defaultName = previous;
  }
}
