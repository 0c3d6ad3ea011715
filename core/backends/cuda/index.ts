/**
 * The CUDA backend: the driver API through koffi (driver.ts), kernels as CUDA C compiled at
 * run time by NVRTC or nvcc (nvrtc.ts) and cached per source. Buffers come from a
 * size-keyed pool; uploads, launches and reads are queued on one stream in program order,
 * so a jitted program runs without host synchronisation until something is read. Each
 * primitive runs its family's kernel rule (kernels/, most of them written once for CUDA and
 * WebGPU in ../clike/kernels), or, for what the compiler lowers (elementwise, broadcasts,
 * transposes, reductions), the CUDA C rendering of its kernel IR; fused jit kernels take
 * the same renderer. Every primitive with a kernel on another backend has one here; a
 * primitive with neither would run on the host: inputs read back, the CPU kernel run,
 * outputs uploaded (counted in cudaStats.hostFallbacks).
 *
 * @example
 * await initBackend("cuda");
 * const x = np.arange(4, { backend: "cuda" });
 * np.exp(x).dataSync(); // reads synchronise the stream, so dataSync works too
 */
import { bytesPer, typedArrayFor, type DType, type TypedArray } from "../../dtype.ts";
import type { Backend, MemoryStats } from "../../backend.ts";
import type { Params } from "../../primitive.ts";
import type { RoutineCall } from "../../routines.ts";
import { runCpuRoutine } from "../cpu/routines/registry.ts";
import { fmtShape, sizeOf } from "../../shape.ts";
import type { ShapedArray } from "../../tracer.ts";
import type { Kernel } from "../../compiler/ir.ts";
import { CUDA_ERROR_OUT_OF_MEMORY, CudaDriver, CudaError, loadKoffi, type CudaDeviceInfo } from "./driver.ts";
import { chooseTarget, compileCached, findCompiler, type CudaCompiler, type Target } from "./nvrtc.ts";
import { BufferPool, type OwnedBuffer } from "../pool.ts";
import type { CudaProgram, Pass, Ref } from "./program.ts";
import { renderCuda } from "./render-cuda.ts";
import { ENTRY, MAX_ELEMENTS } from "./cuda-c.ts";
import { cudaRule } from "./kernels/index.ts";

export interface CudaBuffer extends OwnedBuffer {
  ptr: bigint;
}

const POOL_LIMIT_BYTES = 1024 * 1024 * 1024;
/** Allocations are rounded up to this many bytes, so the pool finds more matches. */
const GRANULE = 256;

/** Counters for tests and profiling. */
export const cudaStats = { launches: 0, modulesLoaded: 0, uploads: 0, reads: 0, hostFallbacks: 0 };

/** What the backend needs from a started device. */
export interface CudaContext {
  driver: CudaDriver;
  device: CudaDeviceInfo;
  context: bigint;
  stream: bigint;
  compiler: CudaCompiler;
  target: Target;
}

/**
 * Starts CUDA on device `ordinal` ($AUGERINO_CUDA_DEVICE, default 0), or throws one line
 * saying why not: no koffi, no libcuda (no NVIDIA driver), cuInit failing, no device, no
 * compiler.
 */
export async function startCuda(ordinal = Number(process.env.AUGERINO_CUDA_DEVICE ?? 0)): Promise<CudaContext> {
  const koffi = await loadKoffi();
  const driver = await CudaDriver.load(koffi);
  driver.init();
  const count = driver.deviceCount();
  if (count === 0) throw new Error("cuda: the driver reports no CUDA device");
  if (!(ordinal >= 0 && ordinal < count)) throw new Error(`cuda: device ${ordinal} does not exist (${count} device${count > 1 ? "s" : ""})`);
  const device = driver.device(ordinal);
  const context = driver.primaryContext(device);
  const stream = driver.createStream();
  const compiler = findCompiler(koffi, process.env, driver.version()[0]);
  const [major, minor] = device.computeCapability;
  const prefer = process.env.AUGERINO_CUDA_TARGET === "ptx" ? "ptx" : "cubin";
  return { driver, device, context, stream, compiler, target: chooseTarget(compiler, major * 10 + minor, prefer) };
}

export class CudaBackend implements Backend {
  readonly name = "cuda";
  readonly ctx: CudaContext;
  private readonly driver: CudaDriver;
  private readonly stream: bigint;
  /** What kernels compile to; switches to PTX if the driver rejects a cubin. */
  private target: Target;
  private pool = new BufferPool<bigint>(POOL_LIMIT_BYTES);
  private functions = new Map<string, bigint>();
  private programs = new Map<string, { program: CudaProgram; order?: number[] } | null>();
  /** A sticky device error (e.g. an illegal address): the context cannot be used after it. */
  private failure: string | null = null;

  constructor(ctx: CudaContext) {
    this.ctx = ctx;
    this.driver = ctx.driver;
    this.stream = ctx.stream;
    this.target = ctx.target;
  }

  private check(): void {
    if (this.failure) throw new Error(this.failure);
  }

  /** Runs a driver call, remembering errors that leave the context unusable. */
  private guard<T>(what: string, f: () => T): T {
    this.check();
    try {
      return f();
    } catch (e) {
      if (e instanceof CudaError && /ILLEGAL_ADDRESS|LAUNCH_FAILED|ILLEGAL_INSTRUCTION|MISALIGNED_ADDRESS|HARDWARE_STACK_ERROR|INVALID_PC|ECC_UNCORRECTABLE|ASSERT/.test(e.codeName)) {
        this.failure = `${e.message} (while ${what}; the CUDA context is unusable after this error)`;
        throw new Error(this.failure, { cause: e });
      }
      throw new Error(`${(e as Error).message} (while ${what})`, { cause: e });
    }
  }

  private alloc(elements: number, dtype: DType): CudaBuffer {
    if (elements > MAX_ELEMENTS) throw new Error(`cuda: an array of ${elements} elements exceeds the ${MAX_ELEMENTS} elements kernels can index`);
    const bytes = Math.max(GRANULE, Math.ceil((elements * bytesPer(dtype)) / GRANULE) * GRANULE);
    let ptr = this.pool.take(bytes);
    if (ptr === undefined) {
      try {
        ptr = this.driver.alloc(bytes);
      } catch (e) {
        if (!(e instanceof CudaError && e.code === CUDA_ERROR_OUT_OF_MEMORY) || this.pool.pooledBytes === 0) throw e;
        // Give the pool back to the driver and try once more.
        this.releasePool();
        ptr = this.driver.alloc(bytes);
      }
    }
    this.pool.live(bytes);
    return { ptr, bytes, owners: 1 };
  }

  /** Frees every pooled buffer (after the stream's work, which may still use them). */
  releasePool(): void {
    this.driver.synchronize(this.stream);
    for (const p of this.pool.drain()) this.driver.free(p);
  }

  upload(data: TypedArray, dtype: DType): CudaBuffer {
    this.check();
    const h = this.alloc(data.length, dtype);
    cudaStats.uploads++;
    this.guard(`uploading ${data.length} ${dtype} elements`, () => this.driver.copyToDevice(h.ptr, data, this.stream));
    return h;
  }

  readSync(handle: unknown, aval: ShapedArray): TypedArray {
    const h = handle as CudaBuffer;
    const out = typedArrayFor(aval.dtype, sizeOf(aval.shape));
    cudaStats.reads++;
    this.guard(`reading an array ${aval.dtype}${fmtShape(aval.shape)}`, () => this.driver.copyToHost(out, h.ptr, this.stream));
    return out;
  }

  async read(handle: unknown, aval: ShapedArray): Promise<TypedArray> {
    return this.readSync(handle, aval);
  }

  share(handle: unknown): CudaBuffer {
    const h = handle as CudaBuffer;
    h.owners++;
    return h;
  }

  free(handle: unknown): void {
    const h = handle as CudaBuffer;
    if (--h.owners > 0) return;
    // After a context failure the buffer is gone with the context.
    if (this.pool.put(h.bytes, h.ptr, !this.failure) || this.failure) return;
    // Work already queued may still read it.
    this.driver.synchronize(this.stream);
    this.driver.free(h.ptr);
  }

  /** Waits for all queued work. */
  synchronize(): void {
    this.guard("synchronising", () => this.driver.synchronize(this.stream));
  }

  /** The compiled entry point of a module, compiling and loading it once per source. */
  private fn(code: string): bigint {
    let f = this.functions.get(code);
    if (f !== undefined) return f;
    const { compiler } = this.ctx;
    let module: bigint;
    try {
      module = this.driver.loadModule(compileCached(compiler, code, this.target));
    } catch (e) {
      if (this.target.kind !== "cubin" || !(e instanceof CudaError)) throw e;
      // A cubin the driver rejects (e.g. from a newer toolkit): PTX for the driver's JIT, from now on.
      const ptx: Target = { arch: this.target.arch, kind: "ptx" };
      try {
        module = this.driver.loadModule(compileCached(compiler, code, ptx));
      } catch (e2) {
        throw new Error(`${(e as Error).message}; as PTX: ${(e2 as Error).message}`, { cause: e2 });
      }
      this.target = ptx;
    }
    cudaStats.modulesLoaded++;
    f = this.driver.getFunction(module, ENTRY);
    this.functions.set(code, f);
    return f;
  }

  /** Launches a program's passes over the given buffers; outputs and scratch are allocated here. */
  runProgram(program: CudaProgram, ins: CudaBuffer[], outAvals: ShapedArray[], what: string): CudaBuffer[] {
    this.check();
    const outs = outAvals.map((a) => this.alloc(sizeOf(a.shape), a.dtype));
    if (outAvals.some((a) => sizeOf(a.shape) === 0)) return outs;
    const temps = (program.temps ?? []).map((t) => this.alloc(t.size, t.dtype));
    const pick = (r: Ref) => ("in" in r ? ins[r.in] : "out" in r ? outs[r.out] : temps[r.tmp]);
    try {
      for (const pass of program.passes) {
        if (pass.blocks <= 0) continue;
        this.launch(
          pass,
          pass.bindings.map((r) => pick(r).ptr),
          what,
        );
      }
    } finally {
      for (const t of temps) this.free(t);
    }
    return outs;
  }

  private launch(pass: Pass, args: bigint[], what: string): void {
    if (pass.blocks > 0x7fffffff) throw new Error(`cuda: ${what} needs ${pass.blocks} blocks, over the grid limit of 2^31 - 1`);
    this.guard(`running ${what}`, () => {
      const f = this.fn(pass.code);
      this.driver.launch(f, pass.blocks, pass.threads, this.stream, args);
    });
    cudaStats.launches++;
  }

  /** Runs one fused kernel of the compiler's IR. */
  runKernel(kernel: Kernel, ins: CudaBuffer[], label?: string): CudaBuffer {
    let program = kernelPrograms.get(kernel);
    if (!program) {
      program = { passes: [renderCuda(kernel)] };
      kernelPrograms.set(kernel, program);
    }
    const out = { shape: kernel.out.shape, dtype: kernel.out.dtype };
    return this.runProgram(program, ins, [out], label ?? `a fused kernel over [${kernel.shape.join(",")}]`)[0];
  }

  execute(call: RoutineCall, ins: unknown[]): CudaBuffer[] {
    const { routine, inAvals, params, outAvals } = call;
    const key = `${routine}|${inAvals.map((a) => `${a.dtype}[${a.shape}]`).join(",")}|${JSON.stringify(params)}`;
    let entry = this.programs.get(key);
    if (entry === undefined) {
      entry = programFor(routine, inAvals, params, outAvals);
      this.programs.set(key, entry);
    }
    const bufs = ins as CudaBuffer[];
    if (entry === null) return this.onHost(call, bufs);
    return this.runProgram(entry.program, entry.order ? entry.order.map((i) => bufs[i]) : bufs, outAvals, routine);
  }

  /** Runs a primitive's CPU kernel on copies of its inputs and uploads the results. */
  private onHost(call: RoutineCall, ins: CudaBuffer[]): CudaBuffer[] {
    cudaStats.hostFallbacks++;
    const hostIns = ins.map((h, i) => this.readSync(h, call.inAvals[i]));
    const outs = call.outAvals.map((a) => typedArrayFor(a.dtype, sizeOf(a.shape)));
    runCpuRoutine(call, hostIns, outs);
    return outs.map((o, i) => this.upload(o, call.outAvals[i].dtype));
  }

  memoryStats(): MemoryStats {
    return this.pool.stats();
  }
}

const kernelPrograms = new WeakMap<Kernel, CudaProgram>();

/**
 * The program for one primitive call: its family's CUDA rule, or, for primitives the
 * compiler can lower, the kernel of a one-equation group, so eager calls and fused jit
 * kernels share the renderer; null when the call runs on the host.
 */
export function programFor(name: string, inAvals: ShapedArray[], params: Params, outAvals: ShapedArray[]): { program: CudaProgram; order?: number[] } | null {
  const rule = cudaRule(name);
  if (rule) {
    const program = rule(inAvals, outAvals, params);
    return program ? { program } : null;
  }
  return null;
}

/** Whether CUDA has a program for routine `name` (kernels of the IR run everywhere); other routines run on the host. */
export function hasCudaRoutine(name: string): boolean {
  return cudaRule(name) !== undefined;
}

let backend: CudaBackend | undefined;

/** The backend, started on first call (core/backend.ts loads this module, in Node only, when "cuda" is asked for). */
export async function startCudaBackend(): Promise<CudaBackend> {
  backend ??= new CudaBackend(await startCuda());
  return backend;
}
