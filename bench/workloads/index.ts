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
  note: "pure TypeScript CPU kernels on the main thread; jit stages a jaxpr and runs it op by op (no fusion).",
  impls: { matmul: oursMatmul, conv: oursConv, convGrad: oursConvGrad, chain: oursChain, gridSample: oursGridSample, train: oursTrain },
});
