/**
 * The CUDA backend end to end without a GPU: driver.ts binds mock-libcuda.c (the driver
 * API over host memory) through koffi, and kernels are the generated CUDA C built for the
 * host (emulator.ts), launched by the mock's cuLaunchKernel with the kernel parameters
 * exactly as the backend marshals them. This covers library loading, error text, device
 * start, uploads and reads, the buffer pool, launches of rules, IR kernels and fused jit
 * kernels, host fallbacks, out-of-memory recovery and sticky device errors. What it cannot
 * cover is a real GPU: NVRTC, PTX/cubin loading by the driver, and CUDA's math library.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jit, linalg, makeJaxpr, np } from "../../../index.ts";
import { registerBackend } from "../../../core/backend.ts";
import { NDArray } from "../../../core/array.ts";
import { isFloat, type DType, type TypedArray } from "../../../core/dtype.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { CudaDriver, loadKoffi, type Koffi } from "../../../core/backends/cuda/driver.ts";
import { CudaBackend, cudaStats, startCuda, type CudaContext } from "../../../core/backends/cuda/index.ts";
import { findNvcc, type CudaCompiler } from "../../../core/backends/cuda/nvrtc.ts";
import { emulatorCompiler } from "./emulator.ts";
import { compareValues } from "./compare.ts";

const haveCc = spawnSync("cc", ["--version"]).status === 0 && spawnSync("g++", ["--version"]).status === 0;
let koffi: Koffi | null = null;
try {
  koffi = await loadKoffi();
} catch {
  koffi = null;
}
const skipReason = !haveCc ? "no C compiler (cc, g++)" : !koffi ? "koffi did not load" : null;
if (skipReason) console.log(`[cuda] mock-driver tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)("CUDA backend over a mock driver and host-emulated kernels", () => {
  const dir = mkdtempSync(join(tmpdir(), "augerino-cuda-mock-"));
  const lib = join(dir, "libcuda-mock.so");
  const saved = { lib: process.env.AUGERINO_LIBCUDA, cache: process.env.AUGERINO_CUDA_CACHE };
  let hooks: { stats(out: BigInt64Array): void; failNextSync(code: number): void; failNextAlloc(): void };
  let ctx: CudaContext;
  let backend: CudaBackend;
  const mockStats = () => {
    const s = new BigInt64Array(5);
    hooks.stats(s);
    const [liveAllocs, launches, syncs, grid, block] = [...s].map(Number);
    return { liveAllocs, launches, syncs, grid, block };
  };
  const onCuda = (x: NDArray) => new NDArray(x.aval, backend, backend.upload(x.dataSync(), x.dtype));

  beforeAll(async () => {
    const src = new URL("./mock-libcuda.c", import.meta.url).pathname;
    const r = spawnSync("cc", ["-shared", "-fPIC", "-O1", "-o", lib, src, "-ldl"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`building the mock driver failed: ${r.stderr}`);
    process.env.AUGERINO_LIBCUDA = lib;
    process.env.AUGERINO_CUDA_CACHE = join(dir, "cache");
    const h = koffi!.load(lib);
    hooks = {
      stats: h.func("void mock_stats(void *out)") as never,
      failNextSync: h.func("void mock_fail_next_sync(int code)") as never,
      failNextAlloc: h.func("void mock_fail_next_alloc(void)") as never,
    };
    const driver = await CudaDriver.load(koffi!);
    driver.init();
    const device = driver.device(0);
    const context = driver.primaryContext(device);
    ctx = { driver, device, context, stream: driver.createStream(), compiler: emulatorCompiler(dir), target: { arch: 90, kind: "cubin" } };
    backend = new CudaBackend(ctx);
    registerBackend("cuda", backend);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of [
      ["AUGERINO_LIBCUDA", saved.lib],
      ["AUGERINO_CUDA_CACHE", saved.cache],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("loads the library named by AUGERINO_LIBCUDA and reads the device", () => {
    expect(ctx.driver.path).toBe(lib);
    expect(ctx.driver.version()).toEqual([12, 4]);
    expect(ctx.device).toMatchObject({ name: "Mock Device (host emulator)", computeCapability: [9, 0], multiprocessors: 132, sharedBytesPerBlock: 49152, totalBytes: 2 ** 30 });
    expect(ctx.driver.memInfo()).toEqual({ free: 2 ** 29, total: 2 ** 30 });
  });

  it.skipIf(!findNvcc())("startCuda starts on the mock (nvcc as the compiler, a cubin for sm_90)", async () => {
    const started = await startCuda();
    expect(started.device.name).toMatch(/Mock/);
    expect(started.compiler.name).toMatch(/^nvcc/);
    expect(started.target).toEqual({ arch: 90, kind: "cubin" });
  });

  it("driver errors read CUDA_ERROR_X (message)", async () => {
    process.env.MOCK_CUDA_INIT_ERROR = "100";
    try {
      const d = await CudaDriver.load(koffi!);
      expect(() => d.init()).toThrow("cuda: cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)");
    } finally {
      delete process.env.MOCK_CUDA_INIT_ERROR;
    }
    expect(ctx.driver.errorText(700)).toBe("CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was encountered)");
    expect(ctx.driver.errorText(12345)).toBe("CUresult 12345");
    expect(() => ctx.driver.alloc(2 ** 40)).toThrow(/cuMemAlloc\(1099511627776 bytes\) failed: CUDA_ERROR_OUT_OF_MEMORY \(out of memory\)/);
  });

  it("every dtype round-trips through upload and read (bool as bytes, float64 natively), empty arrays too", () => {
    const cases: [DType, TypedArray][] = [
      ["float32", new Float32Array([1.5, -0, NaN, Infinity])],
      ["float64", new Float64Array([Math.PI, -1e300, 5e-324])],
      ["int32", new Int32Array([-2147483648, 7, 2147483647])],
      ["uint32", new Uint32Array([4294967295, 0, 3])],
      ["bool", new Uint8Array([1, 0, 1, 1, 0])],
      ["float32", new Float32Array(0)],
    ];
    for (const [dtype, data] of cases) {
      const h = backend.upload(data, dtype);
      const back = backend.readSync(h, { shape: [data.length], dtype });
      expect(back.constructor).toBe(data.constructor);
      expect([...back]).toEqual([...data]);
      backend.free(h);
    }
  });

  it("eager primitives launch kernels (IR, reductions, rules) and match the CPU", async () => {
    const x = np.reshape(np.mul(np.arange(60, undefined, 1, { dtype: "float32" }), 0.1), [6, 10]) as NDArray;
    const y = np.reshape(np.cos(np.arange(40, undefined, 1, { dtype: "float32" })), [10, 4]) as NDArray;
    const idx = np.array(new Int32Array([3, 0, 9, -2]));
    const ops: [string, (a: Tracer, b: Tracer) => Tracer][] = [
      ["exp", (a) => np.exp(a)],
      ["add broadcast", (a) => a.add(np.arange(10, undefined, 1, { dtype: "float32" }))],
      ["sum axis 1", (a) => np.sum(a, { axis: 1 })],
      ["max", (a) => np.max(a)],
      ["matmul", (a, b) => np.matmul(a, b)],
      ["take", (a) => np.take(a, idx, { axis: 1 })],
      ["argmax", (a) => np.argmax(np.sin(a), { axis: 1 })],
    ];
    for (const [name, f] of ops) {
      const before = mockStats().launches;
      const got = f(onCuda(x), onCuda(y)) as NDArray;
      expect(got.backend, name).toBe("cuda");
      expect(mockStats().launches, `${name} launched`).toBeGreaterThan(before);
      const want = f(x, y) as NDArray;
      const msg = compareValues(await got.data(), want.dataSync(), isFloat(want.dtype), 1e-5);
      expect(msg, name).toBeNull();
    }
    expect(mockStats().block).toBeGreaterThan(0);
  });

  it("linear algebra runs as a kernel, not on the host (det)", () => {
    const before = cudaStats.hostFallbacks;
    const launches = mockStats().launches;
    const a = np.array([
      [2, 1],
      [1, 3],
    ]) as NDArray;
    const d = linalg.det(onCuda(a)) as NDArray;
    expect(d.backend).toBe("cuda");
    expect(d.dataSync()[0]).toBeCloseTo(5, 5);
    expect(mockStats().launches).toBeGreaterThan(launches);
    expect(cudaStats.hostFallbacks).toBe(before);
  });

  it("jit fuses a chain into one launch with the CPU's values", () => {
    const chain = (v: Tracer) => np.sum(np.tanh(v.mul(1.5).add(0.25)).mul(np.exp(v.neg())).sub(0.5));
    const x = np.mul(np.arange(3000, undefined, 1, { dtype: "float32" }), 1e-3) as NDArray;
    const f = jit(chain);
    const want = (f(x) as NDArray).dataSync();
    const gx = onCuda(x);
    (f(gx) as NDArray).dataSync(); // compiles
    const before = mockStats().launches;
    const got = (f(gx) as NDArray).dataSync();
    expect(mockStats().launches - before).toBe(1);
    expect(makeJaxpr(chain)(x).jaxpr.eqns.length).toBeGreaterThan(5);
    expect(compareValues(got, want, true, 1e-5)).toBeNull();
  });

  it("reshapes share the buffer; freed buffers return to the pool and are reused", () => {
    const x = onCuda(np.arange(1000, undefined, 1, { dtype: "float32" }) as NDArray);
    const allocs = mockStats().liveAllocs;
    const r = np.reshape(x, [10, 100]) as NDArray;
    expect(mockStats().liveAllocs).toBe(allocs);
    x.dispose();
    expect([...r.dataSync().slice(0, 3)]).toEqual([0, 1, 2]);
    r.dispose();
    const pooled = backend.memoryStats().pooledBytes;
    expect(pooled).toBeGreaterThanOrEqual(4096);
    const again = onCuda(np.ones([1000]) as NDArray);
    expect(mockStats().liveAllocs).toBe(allocs);
    expect(backend.memoryStats().pooledBytes).toBeLessThan(pooled);
    again.dispose();
    backend.releasePool();
    expect(backend.memoryStats().pooledBytes).toBe(0);
    expect(mockStats().liveAllocs).toBeLessThan(allocs);
  });

  it("out of memory: the pool is given back and the allocation retried once", () => {
    const a = onCuda(np.ones([5000]) as NDArray);
    a.dispose();
    expect(backend.memoryStats().pooledBytes).toBeGreaterThan(0);
    hooks.failNextAlloc();
    const b = onCuda(np.ones([7777]) as NDArray);
    expect(backend.memoryStats().pooledBytes).toBe(0);
    expect([...b.dataSync().slice(0, 2)]).toEqual([1, 1]);
    hooks.failNextAlloc();
    expect(() => onCuda(np.ones([9999]) as NDArray)).toThrow(/cuMemAlloc\(40192 bytes\) failed: CUDA_ERROR_OUT_OF_MEMORY \(out of memory\)/);
  });

  it("a sticky device error is reported on that call and every later one", () => {
    const own = new CudaBackend(ctx);
    const h = own.upload(new Float32Array([1, 2]), "float32");
    hooks.failNextSync(700);
    const read = () => own.readSync(h, { shape: [2], dtype: "float32" });
    expect(read).toThrow(
      /cuda: cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS \(an illegal memory access was encountered\) \(while reading an array float32\[2\]; the CUDA context is unusable after this error\)/,
    );
    expect(read).toThrow(/ILLEGAL_ADDRESS/);
    expect(() => own.upload(new Float32Array([1]), "float32")).toThrow(/ILLEGAL_ADDRESS/);
  });

  it("a module the driver rejects names cuModuleLoadData and the error", () => {
    const bad = new CudaBackend({ ...ctx, compiler: { name: "broken", archs: [], compile: () => new Uint8Array([1, 2, 3, 0]) }, target: { arch: 90, kind: "ptx" } });
    const x = new NDArray({ shape: [2], dtype: "float32" }, bad, bad.upload(new Float32Array([1, 2]), "float32"));
    expect(() => np.exp(x)).toThrow(/cuModuleLoadData failed: CUDA_ERROR_INVALID_IMAGE \(device kernel image is invalid\) \(while running exp\)/);
  });

  it("a cubin the driver rejects falls back to PTX, and later kernels go straight to PTX", () => {
    const emu = emulatorCompiler(dir);
    const kinds: string[] = [];
    const picky: CudaCompiler = {
      name: "picky",
      archs: [90],
      compile: (src, target) => {
        kinds.push(target.kind);
        return target.kind === "cubin" ? new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0]) : emu.compile(src, target);
      },
    };
    const b = new CudaBackend({ ...ctx, compiler: picky, target: { arch: 90, kind: "cubin" } });
    const x = new NDArray({ shape: [3], dtype: "float32" }, b, b.upload(new Float32Array([0, 1, 2]), "float32"));
    expect([...(np.neg(x) as NDArray).dataSync()]).toEqual([-0, -1, -2]);
    expect([...(np.abs(x) as NDArray).dataSync()]).toEqual([0, 1, 2]);
    expect(kinds).toEqual(["cubin", "ptx", "ptx"]);
  });
});
