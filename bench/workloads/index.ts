/** Every workload, in table order, and our library's implementation of each kind. */
import type { Library, Workload } from "../harness.ts";
import { matmulWorkloads, oursMatmul } from "./matmul.ts";
import { convWorkloads, oursConv, oursConvGrad } from "./conv.ts";
import { chainWorkload, oursChain } from "./elementwise.ts";
import { gridSampleWorkload, oursGridSample } from "./gridsample.ts";
import { trainWorkload, oursTrain } from "./train.ts";

export const workloads: Workload[] = [...matmulWorkloads([256, 512, 1024]), ...convWorkloads, chainWorkload, gridSampleWorkload, trainWorkload];

export const ours = (backend: string): Library => ({
  name: `augerino (${backend})`,
  note: "float32 matmul and conv in WebAssembly SIMD, jit's fused elementwise/reduction kernels in generated WebAssembly, all on all cores (worker_threads); other primitives in JavaScript.",
  impls: { matmul: oursMatmul, conv: oursConv, convGrad: oursConvGrad, chain: oursChain, gridSample: oursGridSample, train: oursTrain },
});
