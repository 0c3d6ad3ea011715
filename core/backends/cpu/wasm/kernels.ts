/**
 * Runs the compiler's fused kernels as WebAssembly on the CPU heap (heap.ts): each
 * kernel is rendered once (render-wasm.ts), compiled and instantiated on the heap's
 * memory. Outputs live in the heap; inputs outside it (small arrays) are copied into
 * temporary blocks for the call. Large kernels split their outer loop over the worker
 * threads of pool.ts; small ones run on the calling thread.
 *
 * AUGERINO_WASM=0 turns the path off; `setWasmKernelMinSize(n)` sets the smallest loop
 * space that uses it (tests set 0 to run every kernel through WebAssembly).
 */
import { bytesPer, typedArrayFrom, type DType, type TypedArray } from "../../../dtype.ts";
import { sizeOf } from "../../../shape.ts";
import type { Kernel } from "../../../compiler/ir.ts";
import { Heap } from "./heap.ts";
import { renderWasm, WASM_IMPORTS } from "./render-wasm.ts";
import { wasmEnabled, webAssembly, type WasmModule } from "./webassembly.ts";
import { runKernelJob } from "./pool.ts";

/** Loop points from which a kernel runs as WebAssembly (below, the JS kernel's call is cheaper than the copies). */
export const DEFAULT_WASM_KERNEL_MIN_SIZE = 1 << 14;
let minSize = DEFAULT_WASM_KERNEL_MIN_SIZE;
/** Loop points per thread block; below twice this a kernel stays on the calling thread. */
const BLOCK_POINTS = 1 << 16;

export function setWasmKernelMinSize(n: number): void {
  if (!(Number.isInteger(n) || n === Infinity) || n < 0) throw new Error(`setWasmKernelMinSize: expected a non-negative integer, got ${n}`);
  minSize = n;
}

let heap: Heap | null = null;
/** The heap, made on first use. */
export function cpuHeap(): Heap {
  return (heap ??= new Heap());
}

/** Whether `a` lives in the heap (false before the heap exists). */
export function inHeap(a: ArrayBufferView): boolean {
  return heap !== null && heap.owns(a);
}

/** Returns a heap array's block to the heap. */
export function releaseHeapArray(a: ArrayBufferView): void {
  cpuHeap().release(a.byteOffset, a.byteLength);
}

/** A typed array of `size` elements in the heap, or null when the heap is full. */
export function heapArray(dtype: DType, size: number): TypedArray | null {
  const h = cpuHeap();
  const at = h.alloc(size * bytesPer(dtype));
  return at === null ? null : typedArrayFrom(dtype, h.buffer as ArrayBuffer, size, at);
}

interface Compiled {
  module: WasmModule;
  run: (lo: number, hi: number, out: number, ...ins: number[]) => void;
  outer: number;
  splittable: boolean;
  /** Loop points per outer iteration. */
  perOuter: number;
  /** Bytes of scratch the kernel takes as its last pointer (render-wasm.ts); 0 for none. */
  scratchBytes: number;
  id: number;
}

const compiled = new WeakMap<Kernel, Compiled>();
const bySource = new Map<string, Compiled>();
let nextId = 0;
/**
 * `vectorized`: compiled kernels whose innermost loop runs four float32 elements at a time
 * (simd-plan.ts); `interleaved`: compiled sums that walk their input in memory order (loop-plan.ts).
 */
export const wasmKernelStats = { compiled: 0, runs: 0, threaded: 0, vectorized: 0, interleaved: 0 };

/**
 * Runs `run` (a module's `kernel(lo, hi, out, ...)`, module id from `newKernelId`) over the
 * outer range [0, outer) on this thread and the workers when the work (`points`) is large.
 */
export function runOuterLoop(module: WasmModule, id: number, run: (lo: number, hi: number, ...ptrs: number[]) => void, outer: number, points: number, ptrs: number[]): void {
  const blocks = Math.min(outer, Math.floor(points / BLOCK_POINTS));
  if (blocks >= 2 && runKernelJob(module, id, outer, blocks, ptrs, cpuHeap().memory, run)) return;
  run(0, outer, ...ptrs);
}

/** An id for a module run through `runOuterLoop` (worker threads keep modules by id). */
export function newKernelId(): number {
  return nextId++;
}

/** The bytes as a string, one character per byte (a map key; Buffer is Node-only). */
function bytesKey(bytes: Uint8Array): string {
  let out = "";
  // Chunks keep the argument count of fromCharCode within engines' limits.
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

function compile(k: Kernel): Compiled {
  let c = compiled.get(k);
  if (c) return c;
  const code = renderWasm(k);
  // Kernels from different plans are often the same code: key the module by its bytes and
  // the outer loop's length, which the code does not contain (the caller passes the range).
  const key = `${code.outer}:${bytesKey(code.bytes)}`;
  c = bySource.get(key);
  if (!c) {
    const module = new webAssembly.Module(code.bytes);
    const instance = new webAssembly.Instance(module, { env: { memory: cpuHeap().memory, ...WASM_IMPORTS } });
    const run = (instance.exports as unknown as { kernel: Compiled["run"] }).kernel;
    c = { module, run, outer: code.outer, splittable: code.splittable, perOuter: sizeOf(k.shape) / Math.max(1, code.outer), scratchBytes: code.scratchBytes, id: nextId++ };
    bySource.set(key, c);
    wasmKernelStats.compiled++;
    if (code.vectorized) wasmKernelStats.vectorized++;
    if (code.scratchBytes > 0) wasmKernelStats.interleaved++;
  }
  compiled.set(k, c);
  return c;
}

/** Whether `runWasmKernel` should take this kernel. */
export function wantsWasm(k: Kernel): boolean {
  const points = sizeOf(k.shape);
  // The size test first: reading the environment costs more than a small kernel (a loop body runs many).
  return points >= minSize && points > 0 && wasmEnabled();
}

/**
 * Runs kernel k into `out` (a heap array) from `ins`; false, having run nothing, when an
 * input outside the heap finds no room there (the caller then runs the JavaScript kernel).
 */
export function runWasmKernel(k: Kernel, out: TypedArray, ins: TypedArray[]): boolean {
  const h = cpuHeap();
  const c = compile(k);
  const temps: [number, number][] = [];
  try {
    const ptrs: number[] = [];
    for (const a of ins) {
      if (h.owns(a)) {
        ptrs.push(a.byteOffset);
        continue;
      }
      const at = h.alloc(a.byteLength);
      if (at === null) return false;
      temps.push([at, a.byteLength]);
      new Uint8Array(h.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      ptrs.push(at);
    }
    if (c.scratchBytes > 0) {
      const at = h.alloc(c.scratchBytes);
      if (at === null) return false;
      temps.push([at, c.scratchBytes]);
      ptrs.push(at);
    }
    wasmKernelStats.runs++;
    const blocks = c.splittable ? Math.min(c.outer, Math.floor((c.outer * c.perOuter) / BLOCK_POINTS)) : 1;
    if (blocks >= 2 && runKernelJob(c.module, c.id, c.outer, blocks, [out.byteOffset, ...ptrs], h.memory, c.run)) {
      wasmKernelStats.threaded++;
      return true;
    }
    c.run(0, c.outer, out.byteOffset, ...ptrs);
    return true;
  } finally {
    for (const [at, bytes] of temps) h.release(at, bytes);
  }
}
