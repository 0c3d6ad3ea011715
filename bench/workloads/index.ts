/** Every workload, in table order, and our library's implementation of each kind. */
import type { Library, Workload } from "../harness.ts";
import { cpuBlas, resetBlas } from "../../core/backends/cpu/blas/library.ts";
import { matmulWorkloads, oursMatmul } from "./matmul.ts";
import { convWorkloads, oursConv, oursConvGrad } from "./conv.ts";
import { chainWorkload, oursChain } from "./elementwise.ts";
import { gridSampleGradWorkload, gridSampleWorkload, oursGridSample, oursGridSampleGrad } from "./gridsample.ts";
import { adamWorkload, oursAdam } from "./adam.ts";
import { trainWorkload, oursTrain } from "./train.ts";
import { memoryWorkloads, oursAvgPool, oursBatchNorm, oursCopy, oursMaxPool } from "./memory.ts";

export const workloads: Workload[] = [
  ...matmulWorkloads([256, 512, 1024]),
  ...convWorkloads,
  chainWorkload,
  gridSampleWorkload,
  gridSampleGradWorkload,
  ...memoryWorkloads,
  adamWorkload,
  trainWorkload,
];

const oursImpls = {
  matmul: oursMatmul,
  conv: oursConv,
  convGrad: oursConvGrad,
  chain: oursChain,
  gridSample: oursGridSample,
  gridSampleGrad: oursGridSampleGrad,
  adam: oursAdam,
  train: oursTrain,
  copy: oursCopy,
  maxPool: oursMaxPool,
  avgPool: oursAvgPool,
  batchNorm: oursBatchNorm,
};

/** AUGERINO_BLAS as the bench was started; ours restores it before each cell, the wasm-only variant sets "0". */
const blasEnv = process.env.AUGERINO_BLAS;
const setBlasEnv = (v: string | undefined) => {
  if (v === undefined) delete process.env.AUGERINO_BLAS;
  else process.env.AUGERINO_BLAS = v;
  resetBlas();
};

export const ours = (backend: string): Library => {
  const blas = backend === "cpu" ? cpuBlas() : null;
  return {
    name: `augerino (${backend})`,
    note: blas
      ? `float32/float64 products and convolutions on the platform BLAS (${blas.describe}) through koffi, im2col in generated WebAssembly; jit's fused elementwise/reduction kernels in generated WebAssembly, all on all cores (worker_threads); other primitives in JavaScript.`
      : "float32 matmul and conv in WebAssembly SIMD, jit's fused elementwise/reduction kernels in generated WebAssembly, all on all cores (worker_threads); other primitives in JavaScript.",
    activate: async () => setBlasEnv(blasEnv),
    impls: oursImpls,
  };
};

/** Ours without the platform BLAS (AUGERINO_BLAS=0): the WebAssembly kernels alone, as in browsers and as before the BLAS path. */
export const oursWasmOnly: Library = {
  name: "augerino (cpu, AUGERINO_BLAS=0)",
  note: "ours with AUGERINO_BLAS=0: products and convolutions on the WebAssembly SIMD kernels (the path of browsers and of machines without a BLAS).",
  activate: async () => setBlasEnv("0"),
  impls: oursImpls,
};
