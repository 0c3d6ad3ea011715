// CUDA's program for each routine it runs: the families written once for both C-like
// dialects (../../clike/kernels), and its own product kernel (dot.ts). One table, written
// here; the files it lists register nothing.
import { CLIKE_RULES } from "../../clike/kernels/index.ts";
import { CUDA } from "../../clike/cuda.ts";
import { convGeneralDilated } from "../../clike/kernels/conv.ts";
import type { ClikeRule } from "../../clike/kernels/rule.ts";
import { isRoutine, type RoutineName, type RoutineParams } from "../../../routines.ts";
import { cudaProgram, type CudaRule } from "../program.ts";
import { dotProgram } from "./dot.ts";

/** The tuned product; each rule reads its routine's typed params. */
const PRODUCTS: { [R in RoutineName]?: CudaRule<RoutineParams[R]> } = {
  dot_general: (ins, outs, params) => dotProgram(ins, outs, params),
};

// CUDA runs every convolution as the direct kernel (WebGPU has its own tuned program).
const CLIKE: Record<string, ClikeRule> = { ...CLIKE_RULES, conv_general_dilated: convGeneralDilated };
const cudaOf =
  (rule: ClikeRule): CudaRule =>
  (ins, outs, params) => {
    const p = rule(CUDA, ins, outs, params);
    return p && cudaProgram(p);
  };
const SHARED = new Map(Object.entries(CLIKE).map(([name, rule]) => [name, cudaOf(rule)]));

/** The CUDA program of routine `name`; undefined where the call runs on the host. */
export function cudaRule(name: string): CudaRule | undefined {
  if (!isRoutine(name)) return undefined;
  return PRODUCTS[name] ?? SHARED.get(name);
}

/** The routines CUDA has a program for. */
export const cudaRuleNames = (): string[] => [...Object.keys(PRODUCTS), ...SHARED.keys()];
