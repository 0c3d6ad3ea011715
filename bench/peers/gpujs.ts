/**
 * gpu.js 2.24.1 for the matmul and the elementwise chain only. In Node it has no GPU here:
 * its headless-gl mode needs the optional native `gl` package (which needs a build
 * toolchain, libxi-dev and an X display) and its webgpu mode needs navigator.gpu. It then
 * falls back to "webasm" (kernels compiled to WebAssembly with SIMD); with asyncMode the
 * calls split across a worker_threads pool (one worker per core).
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { meanAbs, type Library } from "../harness.ts";
import { CHAIN_A, CHAIN_B } from "../workloads/elementwise.ts";

interface Kernel {
  (...args: unknown[]): unknown;
  setOutput(o: number[]): Kernel;
  kernel?: { fallbackReason?: string; constructor: { name: string } };
  destroy?(): void;
}
interface Gpu {
  mode: string;
  createKernel(fn: unknown, opts?: Record<string, unknown>): Kernel;
  destroy(): void;
}

// gpu.js 1-D output arrays are Float32Array; 2-D ones are arrays of rows.
const flatMeanAbs = (out: unknown) => (Array.isArray(out) ? meanAbs(Float32Array.from((out as Float32Array[]).flatMap((r) => Array.from(r)))) : meanAbs(out as Float32Array));

export const gpuJs = {
  name: "gpu.js 2.24.1",
  async load(): Promise<Library> {
    const req = createRequire(import.meta.url);
    const { GPU, input } = req("gpu.js") as {
      GPU: (new (o: Record<string, unknown>) => Gpu) & { isHeadlessGLSupported: boolean; isWebGPUSupported: boolean };
      input: (v: ArrayLike<number>, size: number[]) => unknown;
    };
    const gl = (() => {
      try {
        req.resolve("gl");
        return "installed";
      } catch {
        return "not installed (optional native dependency; its build failed or was skipped)";
      }
    })();
    const gpu = new GPU({ mode: "webasm" });
    const why = `headless-gl ${GPU.isHeadlessGLSupported ? "supported" : "unavailable"}, gl package ${gl}; webgpu mode ${GPU.isWebGPUSupported ? "supported" : "unavailable (no navigator.gpu in Node)"}`;
    return {
      name: `gpu.js ${req("gpu.js/package.json").version} ${gpu.mode}`,
      note: `runs in mode "${gpu.mode}" on the CPU, async (worker pool of ${availableParallelism()}): ${why}. Only matmul and the chain are written for it.`,
      impls: {
        matmul: (w, i) => {
          const n = w.params.n;
          const k = gpu.createKernel(
            function (this: { thread: { x: number; y: number }; constants: { n: number } }, a: number[][], b: number[][]) {
              let s = 0;
              for (let i = 0; i < this.constants.n; i++) s += a[this.thread.y][i] * b[i][this.thread.x];
              return s;
            },
            { output: [n, n], constants: { n }, asyncMode: true },
          );
          // input() passes the flat arrays as n x n without copying them into rows.
          const [a, b] = [input(i.a, [n, n]), input(i.b, [n, n])];
          let out: unknown;
          return { run: async () => (out = await k(a, b)), check: () => flatMeanAbs(out) };
        },
        chain: (_w, i) => {
          const n = i.x.length;
          const k = gpu.createKernel(
            function (this: { thread: { x: number }; constants: { a: number; b: number } }, x: number[]) {
              const v = x[this.thread.x];
              return Math.tanh(v * this.constants.a + this.constants.b) * (1 / (1 + Math.exp(-v))) - 0.5;
            },
            { output: [n], constants: { a: CHAIN_A, b: CHAIN_B }, asyncMode: true },
          );
          let out: unknown;
          return { run: async () => (out = await k(i.x)), check: () => flatMeanAbs(out) };
        },
        conv: { skip: "not applicable: matmul and the chain only" },
        convGrad: { skip: "not applicable: matmul and the chain only" },
        gridSample: { skip: "not applicable: matmul and the chain only" },
        train: { skip: "not applicable: no autodiff" },
      },
    };
  },
};
