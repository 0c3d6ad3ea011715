/**
 * The CUDA driver API (libcuda.so.1) through koffi: just the calls the backend needs.
 * Handles (contexts, streams, modules, functions) and device pointers are BigInts; output
 * parameters are one-element typed arrays, which koffi passes as pointers to their memory.
 * Every failing call throws `cuda: <call> failed: CUDA_ERROR_X (message)`; a library that
 * cannot be found or loaded throws one line saying so and where it looked.
 *
 * @example
 * const drv = await loadDriver();
 * drv.init();
 * const dev = drv.device(0); // { name, computeCapability: [9, 0], ... }
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The part of koffi 3's API used here (declared locally so koffi stays an optional dependency). */
export interface Koffi {
  load(path: string): { func(prototype: string): (...args: unknown[]) => unknown };
  alloc(type: string, length: number): bigint;
  view(ptr: bigint, length: number): ArrayBuffer;
}

/** Loads koffi, or throws the one-line reason. */
export async function loadKoffi(): Promise<Koffi> {
  try {
    const mod = (await import("koffi" as string)) as { default?: Koffi } & Koffi;
    return mod.default ?? mod;
  } catch (e) {
    throw new Error(`cuda: the optional FFI package koffi did not load (npm install koffi@3.3.4): ${(e as Error).message.split("\n")[0]}`, { cause: e });
  }
}

// CUdevice_attribute values (cuda.h).
const ATTR = { multiprocessors: 16, sharedPerBlock: 8, ccMajor: 75, ccMinor: 76 } as const;

/** A driver call failed; `code` is its CUresult. */
export class CudaError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly codeName: string,
  ) {
    super(message);
  }
}

export const CUDA_ERROR_OUT_OF_MEMORY = 2;

export interface CudaDeviceInfo {
  ordinal: number;
  handle: number;
  name: string;
  computeCapability: [number, number];
  multiprocessors: number;
  sharedBytesPerBlock: number;
  totalBytes: number;
}

/** Directories searched for libcuda.so.1, in order (the dynamic loader's own path comes last). */
export function libcudaDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const multiarch = process.arch === "arm64" ? "/usr/lib/aarch64-linux-gnu" : "/usr/lib/x86_64-linux-gnu";
  const dirs = [env.CUDA_PATH ? join(env.CUDA_PATH, "lib64") : "", multiarch, "/usr/local/cuda/lib64", "/usr/lib64", "/usr/lib/wsl/lib"];
  return dirs.filter(Boolean);
}

const PROTOTYPES = {
  cuInit: "int cuInit(unsigned int flags)",
  cuDriverGetVersion: "int cuDriverGetVersion(void *version)",
  cuDeviceGetCount: "int cuDeviceGetCount(void *count)",
  cuDeviceGet: "int cuDeviceGet(void *device, int ordinal)",
  cuDeviceGetAttribute: "int cuDeviceGetAttribute(void *value, int attrib, int device)",
  cuDeviceGetName: "int cuDeviceGetName(void *name, int len, int device)",
  cuDeviceTotalMem_v2: "int cuDeviceTotalMem_v2(void *bytes, int device)",
  cuDevicePrimaryCtxRetain: "int cuDevicePrimaryCtxRetain(void *pctx, int device)",
  cuCtxSetCurrent: "int cuCtxSetCurrent(void *ctx)",
  cuMemGetInfo_v2: "int cuMemGetInfo_v2(void *free, void *total)",
  cuMemAlloc_v2: "int cuMemAlloc_v2(void *dptr, size_t bytes)",
  cuMemFree_v2: "int cuMemFree_v2(uint64_t dptr)",
  cuMemcpyHtoD_v2: "int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)",
  cuMemcpyDtoH_v2: "int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes)",
  cuMemcpyHtoDAsync_v2: "int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream)",
  cuMemcpyDtoHAsync_v2: "int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *stream)",
  cuMemcpyDtoDAsync_v2: "int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)",
  cuStreamCreate: "int cuStreamCreate(void *pstream, unsigned int flags)",
  cuStreamSynchronize: "int cuStreamSynchronize(void *stream)",
  cuModuleLoadData: "int cuModuleLoadData(void *pmodule, const void *image)",
  cuModuleGetFunction: "int cuModuleGetFunction(void *pfunc, void *module, const char *name)",
  cuLaunchKernel:
    "int cuLaunchKernel(void *f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int sharedMemBytes, void *stream, void *kernelParams, void *extra)",
  cuGetErrorName: "int cuGetErrorName(int error, _Out_ const char **str)",
  cuGetErrorString: "int cuGetErrorString(int error, _Out_ const char **str)",
} as const;

type Fn = (...args: unknown[]) => number;

/** Most kernel parameters one launch takes (each a 64-bit device pointer). */
export const MAX_KERNEL_ARGS = 64;

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class CudaDriver {
  /** Where libcuda was loaded from. */
  readonly path: string;
  private readonly fn: Record<keyof typeof PROTOTYPES, Fn>;
  /** Launch arguments live in native memory: values, and the array of pointers to them that cuLaunchKernel reads. */
  private readonly argValues: BigUint64Array;
  private readonly argPointers: bigint;

  private constructor(koffi: Koffi, lib: ReturnType<Koffi["load"]>, path: string) {
    this.path = path;
    const fn = {} as Record<keyof typeof PROTOTYPES, Fn>;
    for (const [name, proto] of Object.entries(PROTOTYPES)) {
      try {
        fn[name as keyof typeof PROTOTYPES] = lib.func(proto) as Fn;
      } catch (e) {
        throw new Error(`cuda: ${path} lacks ${name} (driver too old?): ${(e as Error).message.split("\n")[0]}`, { cause: e });
      }
    }
    this.fn = fn;
    const values = koffi.alloc("uint64_t", MAX_KERNEL_ARGS);
    this.argValues = new BigUint64Array(koffi.view(values, 8 * MAX_KERNEL_ARGS));
    this.argPointers = koffi.alloc("uint64_t", MAX_KERNEL_ARGS);
    const pointers = new BigUint64Array(koffi.view(this.argPointers, 8 * MAX_KERNEL_ARGS));
    for (let i = 0; i < MAX_KERNEL_ARGS; i++) pointers[i] = values + BigInt(8 * i);
  }

  /** Finds and binds libcuda.so.1, or throws the one-line reason. */
  static async load(koffi?: Koffi): Promise<CudaDriver> {
    const k = koffi ?? (await loadKoffi());
    const dirs = libcudaDirs();
    const override = process.env.AUGERINO_LIBCUDA;
    const candidates = [...(override ? [override] : []), ...dirs.map((d) => join(d, "libcuda.so.1")), "libcuda.so.1"];
    const failures: string[] = [];
    for (const path of candidates) {
      if (path.includes("/") && !existsSync(path)) continue;
      try {
        return new CudaDriver(k, k.load(path), path);
      } catch (e) {
        const msg = (e as Error).message.split("\n")[0];
        if (msg.startsWith("cuda:")) throw e;
        // The bare soname failing just means the loader's path has no driver either.
        if (!path.includes("/") && /cannot open shared object|No such file/i.test(msg)) continue;
        failures.push(`${path}: ${msg}`);
      }
    }
    if (failures.length > 0) throw new Error(`cuda: libcuda.so.1 could not be loaded (${failures.join("; ")})`);
    throw new Error(`cuda: libcuda.so.1 not found (no NVIDIA driver); searched ${[...(override ? [override] : []), ...dirs].join(", ")} and the dynamic loader's path`);
  }

  /** `CUDA_ERROR_X (message)` for a CUresult. */
  errorText(code: number): string {
    const name: (string | null)[] = [null];
    const text: (string | null)[] = [null];
    const okName = this.fn.cuGetErrorName(code, name) === 0 && name[0];
    const okText = this.fn.cuGetErrorString(code, text) === 0 && text[0];
    return `${okName ? name[0] : `CUresult ${code}`}${okText ? ` (${text[0]})` : ""}`;
  }

  private check(call: string, code: number): void {
    if (code === 0) return;
    const name: (string | null)[] = [null];
    this.fn.cuGetErrorName(code, name);
    throw new CudaError(`cuda: ${call} failed: ${this.errorText(code)}`, code, name[0] ?? `CUresult ${code}`);
  }

  init(): void {
    this.check("cuInit", this.fn.cuInit(0));
  }

  /** The driver's CUDA version as [major, minor] (e.g. 12040 -> [12, 4]). */
  version(): [number, number] {
    const v = new Int32Array(1);
    this.check("cuDriverGetVersion", this.fn.cuDriverGetVersion(v));
    return [Math.floor(v[0] / 1000), Math.floor((v[0] % 1000) / 10)];
  }

  deviceCount(): number {
    const n = new Int32Array(1);
    this.check("cuDeviceGetCount", this.fn.cuDeviceGetCount(n));
    return n[0];
  }

  device(ordinal: number): CudaDeviceInfo {
    const h = new Int32Array(1);
    this.check(`cuDeviceGet(${ordinal})`, this.fn.cuDeviceGet(h, ordinal));
    const handle = h[0];
    const attr = (a: number) => {
      const v = new Int32Array(1);
      this.check("cuDeviceGetAttribute", this.fn.cuDeviceGetAttribute(v, a, handle));
      return v[0];
    };
    const nameBuf = new Uint8Array(256);
    this.check("cuDeviceGetName", this.fn.cuDeviceGetName(nameBuf, nameBuf.length, handle));
    const end = nameBuf.indexOf(0);
    const total = new BigUint64Array(1);
    this.check("cuDeviceTotalMem", this.fn.cuDeviceTotalMem_v2(total, handle));
    return {
      ordinal,
      handle,
      name: new TextDecoder().decode(nameBuf.subarray(0, end < 0 ? nameBuf.length : end)),
      computeCapability: [attr(ATTR.ccMajor), attr(ATTR.ccMinor)],
      multiprocessors: attr(ATTR.multiprocessors),
      sharedBytesPerBlock: attr(ATTR.sharedPerBlock),
      totalBytes: Number(total[0]),
    };
  }

  /** Retains the device's primary context and makes it current on this thread. */
  primaryContext(device: CudaDeviceInfo): bigint {
    const ctx = new BigUint64Array(1);
    this.check("cuDevicePrimaryCtxRetain", this.fn.cuDevicePrimaryCtxRetain(ctx, device.handle));
    this.check("cuCtxSetCurrent", this.fn.cuCtxSetCurrent(ctx[0]));
    return ctx[0];
  }

  memInfo(): { free: number; total: number } {
    const free = new BigUint64Array(1),
      total = new BigUint64Array(1);
    this.check("cuMemGetInfo", this.fn.cuMemGetInfo_v2(free, total));
    return { free: Number(free[0]), total: Number(total[0]) };
  }

  alloc(bytes: number): bigint {
    const p = new BigUint64Array(1);
    this.check(`cuMemAlloc(${bytes} bytes)`, this.fn.cuMemAlloc_v2(p, bytes));
    return p[0];
  }

  free(ptr: bigint): void {
    this.check("cuMemFree", this.fn.cuMemFree_v2(ptr));
  }

  /** Queues a host-to-device copy; pageable sources are staged before the call returns, so `src` may change afterwards. */
  copyToDevice(dst: bigint, src: ArrayBufferView, stream: bigint): void {
    if (src.byteLength === 0) return;
    this.check("cuMemcpyHtoDAsync", this.fn.cuMemcpyHtoDAsync_v2(dst, bytesOf(src), src.byteLength, stream));
  }

  /** Copies device memory into `dst` after the stream's earlier work; returns when the data has arrived. */
  copyToHost(dst: ArrayBufferView, src: bigint, stream: bigint): void {
    if (dst.byteLength === 0) return;
    this.check("cuMemcpyDtoHAsync", this.fn.cuMemcpyDtoHAsync_v2(bytesOf(dst), src, dst.byteLength, stream));
    this.synchronize(stream);
  }

  /** Synchronous copies on the legacy default stream (which waits for blocking streams). */
  copyToDeviceSync(dst: bigint, src: ArrayBufferView): void {
    if (src.byteLength > 0) this.check("cuMemcpyHtoD", this.fn.cuMemcpyHtoD_v2(dst, bytesOf(src), src.byteLength));
  }

  copyToHostSync(dst: ArrayBufferView, src: bigint): void {
    if (dst.byteLength > 0) this.check("cuMemcpyDtoH", this.fn.cuMemcpyDtoH_v2(bytesOf(dst), src, dst.byteLength));
  }

  copyDeviceToDevice(dst: bigint, src: bigint, bytes: number, stream: bigint): void {
    if (bytes > 0) this.check("cuMemcpyDtoDAsync", this.fn.cuMemcpyDtoDAsync_v2(dst, src, bytes, stream));
  }

  createStream(): bigint {
    const s = new BigUint64Array(1);
    this.check("cuStreamCreate", this.fn.cuStreamCreate(s, 0));
    return s[0];
  }

  synchronize(stream: bigint): void {
    this.check("cuStreamSynchronize", this.fn.cuStreamSynchronize(stream));
  }

  /** Loads a module from PTX (NUL-terminated) or a cubin. */
  loadModule(image: Uint8Array): bigint {
    const m = new BigUint64Array(1);
    this.check("cuModuleLoadData", this.fn.cuModuleLoadData(m, image));
    return m[0];
  }

  getFunction(module: bigint, name: string): bigint {
    const f = new BigUint64Array(1);
    this.check(`cuModuleGetFunction(${name})`, this.fn.cuModuleGetFunction(f, module, name));
    return f[0];
  }

  /** Launches `fn` on a 1-D grid; `args` are the kernel's parameters, each a device pointer. */
  launch(fn: bigint, blocks: number, threads: number, stream: bigint, args: readonly bigint[], sharedBytes = 0): void {
    if (args.length > MAX_KERNEL_ARGS) throw new Error(`cuda: a kernel takes at most ${MAX_KERNEL_ARGS} buffers, got ${args.length}`);
    for (let i = 0; i < args.length; i++) this.argValues[i] = args[i];
    this.check("cuLaunchKernel", this.fn.cuLaunchKernel(fn, blocks, 1, 1, threads, 1, 1, sharedBytes, stream, this.argPointers, null));
  }
}
