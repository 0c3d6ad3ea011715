// Each family file registers its primitives' CUDA kernels when imported; the families
// shared with WebGPU are written once in ../../clike/kernels.
import { CLIKE_RULES } from "../../clike/kernels/index.ts";
import { CUDA } from "../../clike/cuda.ts";
import { convGeneralDilated } from "../../clike/kernels/conv.ts";
import type { ClikeRule } from "../../clike/kernels/rule.ts";
import { cudaProgram, defineCuda } from "../program.ts";
import "./dot.ts";

// CUDA runs every convolution as the direct kernel (WebGPU has its own tuned program).
const rules: Record<string, ClikeRule> = { ...CLIKE_RULES, conv_general_dilated: convGeneralDilated };
for (const [name, rule] of Object.entries(rules)) {
  defineCuda(name, (ins, outs, params) => {
    const p = rule(CUDA, ins, outs, params);
    return p && cudaProgram(p);
  });
}
