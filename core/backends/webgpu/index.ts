/**
 * The WebGPU backend. Buffers come from a size-keyed pool; every primitive call encodes
 * compute passes into one open command encoder, which is submitted only when something
 * must be read back (or after many dispatches), so a jitted program is a few command
 * buffers. Pipelines are cached by WGSL source. Readback is asynchronous (`await x.data()`).
 *
 * @example
 * await initBackend("webgpu");
 * const x = np.arange(4, { backend: "webgpu" });
 * await np.exp(x).data();
 */
import type { DType, TypedArray } from "../../dtype.ts";
import type { Backend, MemoryStats } from "../../backend.ts";
import { envVar, printDiagnostic } from "../../env.ts";
import type { Params } from "../../primitive.ts";
import type { RoutineCall } from "../../routines.ts";
import { fmtShape, sizeOf } from "../../shape.ts";
import type { ShapedArray } from "../../tracer.ts";
import { INDEX_OPS, topoSort, type Kernel } from "../../compiler/ir.ts";
import { startGpu, type GpuContext } from "./device.ts";
import { BufferPool, type OwnedBuffer } from "../pool.ts";
import type { GpuProgram, Ref } from "./program.ts";
import { renderWgsl, withEpilogue } from "./render-wgsl.ts";
import { GPU_ELEM_BYTES, GRID_SIDE, wgslType } from "./wgsl.ts";
import { MappingGuard } from "./mappings.ts";
import { bindingCount, windowedPass, windowLimits, type WindowLimits } from "./windows.ts";
import { wgslRule } from "./kernels/index.ts";
import { capsOf, productStrategies } from "./kernels/dot.ts";
import { isAnonymousAdapter, tuneProducts, type ProductTuning } from "./autotune.ts";

export interface GpuBuffer extends OwnedBuffer {
  buffer: GPUBuffer;
}

const POOL_LIMIT_BYTES = 512 * 1024 * 1024;
/** Dispatches per submitted command buffer: bounds latency and the encoder's memory. */
const MAX_DISPATCHES_PER_SUBMIT = 512;

/** Counters for tests and profiling. */
export const gpuStats = { dispatches: 0, submits: 0, pipelinesCompiled: 0, uploads: 0, reads: 0, windowedDispatches: 0 };

export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  readonly device: GPUDevice;
  readonly ctx: GpuContext;
  private pool = new BufferPool<GPUBuffer>(POOL_LIMIT_BYTES);
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private programs = new Map<string, { program: GpuProgram; order?: number[] }>();
  private failure: string | null = null;
  /** Refuses launches near the process's memory-mapping limit instead of letting lavapipe crash. */
  readonly mappings = new MappingGuard();
  private error: string | null = null;

  readonly maxKernelInputs: number;
  /** How arrays over the binding limit are split; tests shrink `windowBytes` to split small arrays. */
  windows: WindowLimits;
  /** The product kernel timed at start, where the adapter does not say what it is (autotune.ts); it overrides the device rule. */
  tuning?: ProductTuning;

  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.device = ctx.device;
    this.windows = windowLimits(this.device.limits);
    // One binding is the output.
    this.maxKernelInputs = this.device.limits.maxStorageBuffersPerShaderStage - 1;
    void this.device.lost.then((info) => {
      this.failure ??= info.reason === "destroyed" ? "webgpu: the device was destroyed" : `webgpu: the device was lost (${info.reason}): ${info.message}`;
    });
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      const e = ev.error;
      const kind = e instanceof GPUOutOfMemoryError ? "out of memory" : "error";
      this.error ??= `webgpu: ${kind}: ${e.message}`;
    };
  }

  /**
   * Throws the device's loss (every later call fails too), or the first error reported
   * asynchronously since the last check (out of memory, an invalid kernel), once.
   */
  private check(): void {
    if (this.failure) throw new Error(this.failure);
    const e = this.error;
    if (e) {
      this.error = null;
      throw new Error(e);
    }
  }

  /** Bytes of a buffer of `elements`; throws, naming `what` and the sizes, past the adapter's largest buffer. */
  private bufferBytes(elements: number, what: string): number {
    const bytes = Math.max(4, elements * GPU_ELEM_BYTES);
    if (bytes > this.ctx.maxBufferBytes) {
      throw new Error(
        `webgpu: ${what}: an array of ${elements} elements (${bytes} bytes) exceeds this adapter's largest buffer (maxBufferSize, ${this.ctx.maxBufferBytes} bytes); split it or keep it on the CPU`,
      );
    }
    return bytes;
  }

  /** A buffer of `elements`, from the pool unless `pooled` is false. */
  private alloc(elements: number, what = "allocating", pooled = true): GpuBuffer {
    const bytes = this.bufferBytes(elements, what);
    this.pool.live(bytes);
    const free = this.pool.take(bytes, pooled);
    if (free) return { buffer: free, bytes, owners: 1 };
    const buffer = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    return { buffer, bytes, owners: 1 };
  }

  upload(data: TypedArray, dtype: DType): GpuBuffer {
    this.check();
    wgslType(dtype);
    const words = dtype === "bool" ? Uint32Array.from(data as Uint8Array) : data;
    gpuStats.uploads++;
    // Work already encoded may still read a pooled buffer, and queue writes run before
    // unsubmitted commands, so writes go to a fresh buffer unless nothing is pending. Not
    // mappedAtCreation: on lavapipe each such buffer holds a memory mapping of its own until
    // Dawn's next tick, while queue writes share Dawn's staging ring (mappings.ts).
    const h = this.alloc(words.length, "upload", this.pending === 0);
    if (words.byteLength > 0) this.device.queue.writeBuffer(h.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
    return h;
  }

  async read(handle: unknown, aval: ShapedArray): Promise<TypedArray> {
    this.check();
    const h = handle as GpuBuffer;
    const n = sizeOf(aval.shape);
    this.flush();
    gpuStats.reads++;
    const staging = this.device.createBuffer({ size: h.bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(h.buffer, 0, staging, 0, h.bytes);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.check();
      throw new Error(`webgpu: reading an array ${fmtShape(aval.shape)} failed: ${(e as Error).message}`, { cause: e });
    }
    this.check();
    const raw = staging.getMappedRange().slice(0, n * GPU_ELEM_BYTES);
    staging.unmap();
    staging.destroy();
    switch (aval.dtype) {
      case "float32":
        return new Float32Array(raw);
      case "int32":
        return new Int32Array(raw);
      case "uint32":
        return new Uint32Array(raw);
      case "bool":
        return Uint8Array.from(new Uint32Array(raw));
      default:
        throw new Error(`webgpu: cannot read dtype ${aval.dtype}`);
    }
  }

  share(handle: unknown): GpuBuffer {
    const h = handle as GpuBuffer;
    h.owners++;
    return h;
  }

  free(handle: unknown): void {
    const h = handle as GpuBuffer;
    if (--h.owners > 0) return;
    if (this.pool.put(h.bytes, h.buffer, !this.failure)) return;
    // Destroying a buffer that encoded work still uses is an error, so submit first.
    this.flush();
    h.buffer.destroy();
  }

  /** Submits the encoded work. */
  flush(): void {
    if (!this.encoder) return;
    this.pass!.end();
    this.device.queue.submit([this.encoder.finish()]);
    gpuStats.submits++;
    this.encoder = null;
    this.pass = null;
    this.pending = 0;
  }

  /** The pipeline of WGSL `code` whose binding k is a buffer of kind `bindings[k]` (inputs read-only), with its bind group layout. */
  private pipeline(code: string, bindings: Ref[]): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    let p = this.pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ code });
      const layout = this.device.createBindGroupLayout({
        entries: bindings.map((r, k) => ({
          binding: k,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: "in" in r ? "read-only-storage" : "storage" } as GPUBufferBindingLayout,
        })),
      });
      const pipeline = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: "main" },
      });
      if (envVar("AUGERINO_WGSL_DEBUG")) {
        void module.getCompilationInfo().then((info) => {
          for (const m of info.messages) if (m.type === "error") printDiagnostic(`WGSL error ${m.lineNum}:${m.linePos} ${m.message}\n${code}\n`);
        });
      }
      p = { pipeline, layout };
      this.pipelines.set(code, p);
      gpuStats.pipelinesCompiled++;
    }
    return p;
  }

  /** Bytes of the buffer each binding of each pass takes (before the outputs and scratch exist). */
  private bindingBytes(program: GpuProgram, ins: GpuBuffer[], outAvals: ShapedArray[], what: string): number[][] {
    const outs = outAvals.map((a) => this.bufferBytes(sizeOf(a.shape), what));
    const temps = (program.temps ?? []).map((t) => this.bufferBytes(t.size, `${what} (scratch)`));
    return program.passes.map((p) => p.bindings.map((r) => ("in" in r ? ins[r.in].bytes : "out" in r ? outs[r.out] : temps[r.tmp])));
  }

  /**
   * Encodes a program's passes over the given buffers; outputs and scratch are allocated
   * here. `what` names the call in errors. Buffers over the binding limit are bound as
   * windows (windows.ts), which is decided before anything is allocated or encoded, so a
   * program that cannot be bound fails cleanly. `sized`: the program's `bindingBytes`, where
   * the caller has them already.
   */
  runProgram(program: GpuProgram, ins: GpuBuffer[], outAvals: ShapedArray[], what = "a kernel", sized?: number[][]): GpuBuffer[] {
    this.check();
    this.mappings.check(what);
    const bytes = sized ?? this.bindingBytes(program, ins, outAvals, what);
    const bound = program.passes.map((pass, i) => (pass.workgroups > 0 ? windowedPass(pass, bytes[i], this.windows, () => what) : null));
    const outs = outAvals.map((a) => this.alloc(sizeOf(a.shape), what));
    if (outAvals.some((a) => sizeOf(a.shape) === 0)) return outs;
    const temps = (program.temps ?? []).map((t) => this.alloc(t.size, what));
    const pick = (r: Ref) => ("in" in r ? ins[r.in] : "out" in r ? outs[r.out] : temps[r.tmp]);
    for (const [i, pass] of program.passes.entries()) {
      const b = bound[i];
      if (!b) continue;
      const { pipeline, layout } = this.pipeline(
        b.code,
        b.slots.map((s) => pass.bindings[s.binding]),
      );
      if (!this.encoder) {
        this.encoder = this.device.createCommandEncoder();
        this.pass = this.encoder.beginComputePass();
      }
      const group = this.device.createBindGroup({
        layout,
        entries: b.slots.map((s, k) => ({ binding: k, resource: { buffer: pick(pass.bindings[s.binding]).buffer, offset: s.offset, size: s.size } })),
      });
      this.mappings.made++;
      this.pass!.setPipeline(pipeline);
      this.pass!.setBindGroup(0, group);
      const x = Math.min(pass.workgroups, GRID_SIDE);
      const y = Math.ceil(pass.workgroups / x);
      if (y > GRID_SIDE) throw new Error(`webgpu: ${pass.workgroups} workgroups exceed the ${GRID_SIDE} x ${GRID_SIDE} grid`);
      this.pass!.dispatchWorkgroups(x, y);
      gpuStats.dispatches++;
      if (b.slots.length > pass.bindings.length) gpuStats.windowedDispatches++;
      this.pending++;
    }
    for (const t of temps) this.free(t);
    if (this.pending >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
    return outs;
  }

  /** Runs one fused kernel of the compiler's IR. */
  runKernel(kernel: Kernel, ins: GpuBuffer[], label?: string): GpuBuffer {
    // Plans keep their kernel objects, so the render is memoised on the object; equal
    // sources from different plans still share one pipeline (keyed by source).
    let entry = kernelPrograms.get(kernel);
    if (!entry) {
      entry = { program: { passes: [renderWgsl(kernel)] }, name: kernelName(kernel) };
      kernelPrograms.set(kernel, entry);
    }
    return this.runProgram(entry.program, ins, [{ shape: kernel.out.shape, dtype: kernel.out.dtype }], label ?? entry.name)[0];
  }

  /** The cached program of one primitive call (the key also names the call for `runEpilogue`); refuses dtypes WGSL lacks. */
  private entryFor({ routine, inAvals, params, outAvals }: RoutineCall): { key: string; program: GpuProgram; order?: number[] } {
    for (const a of [...inAvals, ...outAvals]) wgslType(a.dtype);
    const key = `${routine}|${inAvals.map((a) => `${a.dtype}[${a.shape}]`).join(",")}|${JSON.stringify(params)}`;
    let entry = this.programs.get(key);
    if (!entry) {
      entry = programFor(routine, inAvals, params, outAvals);
      this.programs.set(key, entry);
    }
    return { key, ...entry };
  }

  execute(call: RoutineCall, ins: unknown[]): GpuBuffer[] {
    const entry = this.entryFor(call);
    const bufs = ins as GpuBuffer[];
    return this.runProgram(entry.program, entry.order ? entry.order.map((i) => bufs[i]) : bufs, call.outAvals, call.routine);
  }

  /** Runs a dot or convolution with a fused kernel in its final stores (see `withEpilogue`); null where it cannot. */
  runEpilogue(head: RoutineCall, headIns: unknown[], kernel: Kernel, input: number, others: unknown[]): GpuBuffer | null {
    const entry = this.entryFor(head);
    const headBufs = (entry.order ? entry.order.map((i) => headIns[i]) : headIns) as GpuBuffer[];
    // Plans keep their kernel objects, so the fused program (or the finding that there is none) is cached on the kernel.
    let byHead = epiloguePrograms.get(kernel);
    if (!byHead) epiloguePrograms.set(kernel, (byHead = new Map()));
    const key = `${input}|${entry.key}`;
    let fused = byHead.get(key);
    if (fused === undefined) {
      const rule = wgslRule(head.routine);
      fused = rule ? withEpilogue((out) => rule(head.inAvals, head.outAvals, head.params, out), kernel, input, headBufs.length, this.device.limits.maxStorageBuffersPerShaderStage) : null;
      byHead.set(key, fused);
    }
    if (!fused) return null;
    const ins = [...headBufs, ...(others as GpuBuffer[])];
    const out = [{ shape: kernel.out.shape, dtype: kernel.out.dtype }];
    const what = `${head.routine} with a fused epilogue`;
    // Windows of large arrays take extra bindings; then the product and the kernel run apart.
    const bytes = this.bindingBytes(fused, ins, out, what);
    if (bytes.some((b) => bindingCount(b, this.windows) > this.windows.maxBindings)) return null;
    return this.runProgram(fused, ins, out, what, bytes)[0];
  }

  memoryStats(): MemoryStats {
    return this.pool.stats();
  }
}

const kernelPrograms = new WeakMap<Kernel, { program: GpuProgram; name: string }>();
const epiloguePrograms = new WeakMap<Kernel, Map<string, GpuProgram | null>>();

/** IR nodes that are index arithmetic or leaves, not operations worth naming. */
const PLUMBING = new Set(["const", "idx", "flat", "load", ...INDEX_OPS]);

/** A fused kernel as errors name it: its ops and loop space. */
function kernelName(k: Kernel): string {
  const ops = new Set(
    topoSort(k.body)
      .map((n) => n.op)
      .filter((op) => !PLUMBING.has(op)),
  );
  if (k.reduce) ops.add(`reduce_${k.reduce.op}`);
  return `a fused kernel (${[...ops].join(", ") || "copy"}) over [${k.shape.join(", ")}]`;
}

/**
 * The program for one primitive call: its family's WGSL rule, or, for primitives the
 * compiler can lower (elementwise, broadcasts, transposes, reductions), the kernel of a
 * one-equation group, so eager calls and fused jit kernels share the renderer.
 */
function programFor(name: string, inAvals: ShapedArray[], params: Params, outAvals: ShapedArray[]): { program: GpuProgram; order?: number[] } {
  const rule = wgslRule(name);
  if (rule) return { program: rule(inAvals, outAvals, params) };
  throw new Error(`${name}: no WebGPU kernel`);
}

/** Whether WebGPU has a program for routine `name` (kernels of the IR run everywhere). */
export function hasWebGpuRoutine(name: string): boolean {
  return wgslRule(name) !== undefined;
}

let backend: Promise<WebGpuBackend> | undefined;

/**
 * The backend, started on first call (core/backend.ts loads this module when "webgpu" is
 * asked for). An adapter that hides what it is gets its product kernel by timing first.
 */
export function startWebGpu(): Promise<WebGpuBackend> {
  backend ??= (async () => {
    const be = new WebGpuBackend(await startGpu());
    if (isAnonymousAdapter(be.ctx)) be.tuning = await tuneProducts(be, productStrategies(capsOf(be.ctx)));
    return be;
  })();
  // A failed start may be retried (another flag, another browser setting).
  backend.catch(() => (backend = undefined));
  return backend;
}
