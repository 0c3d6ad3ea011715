/**
 * The CPU backend: buffers are typed arrays drawn from a size-keyed pool. Kernels of the
 * compiler's IR run as WebAssembly (large) or JavaScript (small) loops; routine calls run
 * the CPU routine of their name (./routines/) over the buffers.
 */
import { bytesPer, typedArrayFor, typedArrayFrom, type DType, type TypedArray } from "../../dtype.ts";
import type { Backend, MemoryStats } from "../../backend.ts";
import { BufferPool } from "../pool.ts";
import type { RoutineCall } from "../../routines.ts";
import { runCpuRoutine } from "./routines/registry.ts";
import { cpuDnnl } from "./dnnl/library.ts";
import { sizeOf } from "../../shape.ts";
import type { Kernel } from "../../compiler/ir.ts";
import { jsKernel } from "../../compiler/render-js.ts";
import { heapArray, inHeap, releaseHeapArray, runWasmKernel, wantsWasm } from "./wasm/kernels.ts";
import { wasmEnabled } from "./wasm/webassembly.ts";
import { atExit, envVar, printDiagnostic } from "../../env.ts";

const POOL_LIMIT_BYTES = 256 * 1024 * 1024;
/** Buffers from this size live in the WebAssembly heap, where the wasm kernels use them in place. */
const HEAP_MIN_BYTES = 16384;

/** AUGERINO_PROFILE=1 collects time per primitive; printed at exit. */
const profile = envVar("AUGERINO_PROFILE") ? new Map<string, { ms: number; calls: number }>() : null;
if (profile) {
  atExit(() => {
    const rows = [...profile.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40);
    printDiagnostic(`cpu kernel time by primitive:\n${rows.map(([n, e]) => `  ${n.padEnd(40)} ${e.ms.toFixed(1).padStart(9)} ms ${String(e.calls).padStart(7)} calls`).join("\n")}\n`);
  });
}

/** Runs `work`, adding its time to the profile under `name` when profiling. */
function timed(name: string | null, work: () => void): void {
  if (!profile || name === null) return work();
  const t = performance.now();
  work();
  const e = profile.get(name) ?? { ms: 0, calls: 0 };
  e.ms += performance.now() - t;
  e.calls++;
  profile.set(name, e);
}

export class CpuBackend implements Backend {
  readonly name = "cpu";
  readonly mergesReductions = true;
  /** Kernel gradients read their operands in place only where oneDNN runs them (its float32 convolutions); elsewhere the swapped copies are fused kernels anyway. */
  get swapsConvOperands(): boolean {
    return cpuDnnl() !== null;
  }
  /** Buffers outside the WebAssembly heap, kept by size (the heap's come back to its own allocator). */
  private pool = new BufferPool<ArrayBuffer>(POOL_LIMIT_BYTES);

  /** A buffer of `size` elements: in the WebAssembly heap from HEAP_MIN_BYTES (or when `inWasmHeap`), else from the pool. */
  alloc(dtype: DType, size: number, inWasmHeap = false): TypedArray {
    const bytes = size * bytesPer(dtype);
    this.pool.live(bytes);
    if ((inWasmHeap || bytes >= HEAP_MIN_BYTES) && wasmEnabled()) {
      const a = heapArray(dtype, size);
      if (a) return a;
    }
    const pooled = this.pool.take(bytes);
    return pooled ? typedArrayFrom(dtype, pooled, size) : typedArrayFor(dtype, size);
  }

  upload(data: TypedArray, dtype: DType): TypedArray {
    const out = this.alloc(dtype, data.length);
    out.set(data);
    return out;
  }

  readSync(handle: unknown): TypedArray {
    return (handle as TypedArray).slice();
  }

  async read(handle: unknown): Promise<TypedArray> {
    return this.readSync(handle);
  }

  /** Extra owners of shared buffers (reshape views); absent means one owner. */
  private sharers = new WeakMap<TypedArray, number>();

  share(handle: unknown): TypedArray {
    const a = handle as TypedArray;
    this.sharers.set(a, (this.sharers.get(a) ?? 0) + 1);
    return a;
  }

  free(handle: unknown): void {
    const a = handle as TypedArray;
    const extra = this.sharers.get(a);
    if (extra) {
      if (extra === 1) this.sharers.delete(a);
      else this.sharers.set(a, extra - 1);
      return;
    }
    const heap = inHeap(a);
    // The pool takes back only whole buffers of its own making.
    this.pool.put(a.byteLength, a.buffer as ArrayBuffer, !heap && a.byteLength > 0 && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength);
    if (heap) releaseHeapArray(a);
  }

  execute(call: RoutineCall, ins: unknown[]): TypedArray[] {
    const outs = call.outAvals.map((a) => this.alloc(a.dtype, sizeOf(a.shape)));
    timed(call.routine, () => runCpuRoutine(call, ins as TypedArray[], outs));
    return outs;
  }

  runKernel(kernel: Kernel, ins: unknown[], label?: string): TypedArray {
    const name = profile && (label ?? `fused ${kernel.reduce ? `reduce_${kernel.reduce.op}` : "map"} [${kernel.shape}]`);
    // The wasm kernel writes its output in the heap, also when it is small (a reduction's);
    // when the heap is full (for the output, or for copies of inputs outside it) the JS kernel runs.
    const wasm = wantsWasm(kernel);
    const out = this.alloc(kernel.out.dtype, sizeOf(kernel.out.shape), wasm);
    timed(name, () => {
      if (wasm && inHeap(out) && runWasmKernel(kernel, out, ins as TypedArray[])) return;
      jsKernel(kernel)(out, ...(ins as TypedArray[]));
    });
    return out;
  }

  memoryStats(): MemoryStats {
    return this.pool.stats();
  }
}
