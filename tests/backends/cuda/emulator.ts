/**
 * A host emulator for the generated CUDA C, so kernel semantics are tested without a GPU:
 * the modules are compiled as C++ (g++) with a small prelude that supplies CUDA's builtins
 * (threadIdx/blockIdx, __syncthreads, __shared__, atomicAdd, bit casts, __fmul_rn, erfinv),
 * and launched through the same argument convention as cuLaunchKernel (an array of
 * pointers to the parameters). Kernels that synchronise run their block's threads as
 * cooperative fibers (ucontext), switching at every __syncthreads; the others run thread
 * after thread. Contraction is off (-ffp-contract=off), so float arithmetic is IEEE single
 * or double exactly as on the GPU; only libm's transcendental functions differ from CUDA's.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesPer, typedArrayFor, type TypedArray } from "../../../core/dtype.ts";
import { sizeOf } from "../../../core/shape.ts";
import type { ShapedArray } from "../../../core/tracer.ts";
import { loadKoffi, type Koffi } from "../../../core/backends/cuda/driver.ts";
import type { CudaProgram, Ref } from "../../../core/backends/cuda/program.ts";
import type { CudaCompiler } from "../../../core/backends/cuda/nvrtc.ts";
import { batchSource, chunks, entryOf } from "./sources.ts";

export const PRELUDE = String.raw`#include <cmath>
#include <cstring>
#include <atomic>
#include <functional>
#include <utility>
#include <vector>
#include <ucontext.h>
struct aug_dim3 { unsigned x = 0, y = 0, z = 0; };
static aug_dim3 threadIdx, blockIdx;
static ucontext_t aug_sched;
static ucontext_t* aug_cur = nullptr;
static inline void __syncthreads() { if (aug_cur) swapcontext(aug_cur, &aug_sched); }
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static
static inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
static inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, 8); return d; }
static inline long long __double_as_longlong(double d) { long long v; std::memcpy(&v, &d, 8); return v; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double erfinv(double y) {
  if (y <= -1.0) return y == -1.0 ? -INFINITY : NAN;
  if (y >= 1.0) return y == 1.0 ? INFINITY : NAN;
  double w = -std::log((1.0 - y) * (1.0 + y)), p;
  if (w < 5.0) { w -= 2.5; p = 2.81022636e-8; p = 3.43273939e-7 + p * w; p = -3.5233877e-6 + p * w; p = -4.39150654e-6 + p * w; p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w; p = 0.246640727 + p * w; p = 1.50140941 + p * w; }
  else { w = std::sqrt(w) - 3.0; p = -0.000200214257; p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w; p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w; p = 1.00167406 + p * w; p = 2.83297682 + p * w; }
  double x = p * y;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (1.1283791670955126 * std::exp(-x * x));
  return x;
}
static inline float erfinvf(float y) { return (float)erfinv((double)y); }
template <class T> static inline T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
`;

const LAUNCH_SUPPORT = String.raw`
struct aug_fiber { ucontext_t ctx; bool done; char* stack; };
static const std::size_t AUG_STACK = 64 * 1024;
static std::function<void()>* aug_body = nullptr;
static aug_fiber* aug_fibers = nullptr;
static void aug_fiber_main(int t) { threadIdx.x = (unsigned)t; (*aug_body)(); aug_fibers[t].done = true; }
static void aug_run(unsigned blocks, unsigned threads, int coop, std::function<void()> body) {
  if (!coop) {
    for (unsigned b = 0; b < blocks; ++b) for (unsigned t = 0; t < threads; ++t) { blockIdx.x = b; threadIdx.x = t; body(); }
    return;
  }
  aug_body = &body;
  // Fibers and their stacks are made once and reused by every launch.
  static std::vector<aug_fiber> fibers;
  while (fibers.size() < threads) fibers.push_back({ {}, true, new char[AUG_STACK] });
  aug_fibers = fibers.data();
  for (unsigned b = 0; b < blocks; ++b) {
    blockIdx.x = b;
    for (unsigned t = 0; t < threads; ++t) {
      aug_fiber& f = fibers[t];
      f.done = false;
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = f.stack;
      f.ctx.uc_stack.ss_size = AUG_STACK;
      f.ctx.uc_link = &aug_sched;
      makecontext(&f.ctx, (void (*)())aug_fiber_main, 1, (int)t);
    }
    for (bool live = true; live;) {
      live = false;
      for (unsigned t = 0; t < threads; ++t) {
        if (fibers[t].done) continue;
        threadIdx.x = t;
        aug_cur = &fibers[t].ctx;
        swapcontext(&aug_sched, aug_cur);
        aug_cur = nullptr;
        if (!fibers[t].done) live = true;
      }
    }
  }
}
template <class... P, std::size_t... I> static void aug_call(void (*k)(P...), void** a, std::index_sequence<I...>) { k(*reinterpret_cast<P*>(a[I])...); }
template <class... P> static void aug_call(void (*k)(P...), void** a) { aug_call(k, a, std::index_sequence_for<P...>{}); }
`;

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}:\n${err.split("\n").slice(0, 40).join("\n")}`))));
  });
}

type Launcher = (blocks: number, threads: number, args: bigint, coop: number) => void;

export interface HostDevice {
  /** Runs a program as the CUDA backend would, on host memory; returns the outputs. */
  run(program: CudaProgram, ins: TypedArray[], outAvals: ShapedArray[]): TypedArray[];
}

/** Compiles every module in `codes` (in `parallel` g++ runs) and returns a device that runs them. */
export async function buildHostDevice(codes: readonly string[], parallel = 2): Promise<HostDevice> {
  const koffi: Koffi & { free(p: bigint): void } = (await loadKoffi()) as Koffi & { free(p: bigint): void };
  const dir = mkdtempSync(join(tmpdir(), "augerino-cuda-emu-"));
  const index = new Map(codes.map((c, k) => [c, k]));
  const parts = chunks(codes, parallel);
  await Promise.all(
    parts.map(async ({ first, items }, i) => {
      const launchers = items.map((_, j) => {
        const k = first + j;
        return `extern "C" void aug_launch_${k}(unsigned blocks, unsigned threads, void** args, int coop) { aug_run(blocks, threads, coop, [&] { aug_call(m${k}::${entryOf(k)}, args); }); }`;
      });
      const src = join(dir, `part${i}.cpp`);
      writeFileSync(src, `${batchSource(items, first, PRELUDE)}${LAUNCH_SUPPORT}${launchers.join("\n")}\n`);
      await run("g++", ["-std=c++20", process.env.EMU_OPT ?? "-O0", "-ffp-contract=off", "-fno-fast-math", "-w", "-shared", "-fPIC", "-o", join(dir, `part${i}.so`), src]);
    }),
  );
  const launch: Launcher[] = [];
  parts.forEach(({ first, items }, i) => {
    const lib = koffi.load(join(dir, `part${i}.so`));
    items.forEach((_, j) => (launch[first + j] = lib.func(`void aug_launch_${first + j}(unsigned int blocks, unsigned int threads, void *args, int coop)`) as Launcher));
  });
  // The libraries stay mapped after their files are gone.
  rmSync(dir, { recursive: true, force: true });
  const MAX = 64;
  const values = koffi.alloc("uint64_t", MAX);
  const valueView = new BigUint64Array(koffi.view(values, 8 * MAX));
  const pointers = koffi.alloc("uint64_t", MAX);
  const pointerView = new BigUint64Array(koffi.view(pointers, 8 * MAX));
  for (let i = 0; i < MAX; i++) pointerView[i] = values + BigInt(8 * i);

  const alloc = (bytes: number) => {
    const ptr = koffi.alloc("uint8_t", Math.max(16, bytes));
    return { ptr, view: koffi.view(ptr, Math.max(16, bytes)) };
  };
  return {
    run(program, ins, outAvals) {
      const made: bigint[] = [];
      const buf = (bytes: number) => {
        const b = alloc(bytes);
        made.push(b.ptr);
        return b;
      };
      try {
        const inBufs = ins.map((a) => {
          const b = buf(a.byteLength);
          new Uint8Array(b.view).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
          return b;
        });
        const outBufs = outAvals.map((a) => buf(sizeOf(a.shape) * bytesPer(a.dtype)));
        // Scratch starts as garbage on a GPU; fill it so a kernel reading before writing shows.
        const temps = (program.temps ?? []).map((t) => {
          const b = buf(t.size * bytesPer(t.dtype));
          new Uint8Array(b.view).fill(0xa5);
          return b;
        });
        const pick = (r: Ref) => ("in" in r ? inBufs[r.in] : "out" in r ? outBufs[r.out] : temps[r.tmp]);
        if (outAvals.every((a) => sizeOf(a.shape) > 0)) {
          for (const pass of program.passes) {
            if (pass.blocks <= 0) continue;
            const k = index.get(pass.code);
            if (k === undefined) throw new Error("emulator: a pass whose module was not compiled");
            pass.bindings.forEach((r, i) => (valueView[i] = pick(r).ptr));
            launch[k](pass.blocks, pass.threads, pointers, pass.code.includes("__syncthreads") ? 1 : 0);
          }
        }
        return outAvals.map((a, i) => {
          const out = typedArrayFor(a.dtype, sizeOf(a.shape));
          new Uint8Array(out.buffer).set(new Uint8Array(outBufs[i].view, 0, out.byteLength));
          return out;
        });
      } finally {
        for (const p of made) koffi.free(p);
      }
    },
  };
}

/**
 * A CudaCompiler whose "images" are host shared objects for mock-libcuda.c: each module is
 * built with g++ into `dir`, and the image is "AUGEMU:<path>" (NUL-terminated), which the
 * mock's cuModuleLoadData opens and whose `aug_launch` its cuLaunchKernel calls.
 */
let modules = 0;

export function emulatorCompiler(dir: string): CudaCompiler {
  return {
    name: "host emulator (g++)",
    archs: [],
    compile(source) {
      // A fresh path per module: dlopen returns the already-loaded library for a path it has seen.
      const base = join(dir, `module${modules++}`);
      const coop = source.includes("__syncthreads") ? 1 : 0;
      const launcher = `extern "C" void aug_launch(unsigned blocks, unsigned threads, void** args) { aug_run(blocks, threads, ${coop}, [&] { aug_call(m0::${entryOf(0)}, args); }); }`;
      writeFileSync(`${base}.cpp`, `${batchSource([source], 0, PRELUDE)}${LAUNCH_SUPPORT}${launcher}\n`);
      const r = spawnSync("g++", ["-std=c++20", "-O0", "-ffp-contract=off", "-w", "-shared", "-fPIC", "-o", `${base}.so`, `${base}.cpp`], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`emulator: g++ failed:\n${r.stderr}`);
      const text = Buffer.from(`AUGEMU:${base}.so`);
      const image = new Uint8Array(text.length + 1);
      image.set(text);
      return image;
    },
  };
}
