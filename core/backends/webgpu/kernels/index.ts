// Each family file registers its primitives' WebGPU kernels when imported; the families
// shared with CUDA are written once in ../../clike/kernels.
import { CLIKE_RULES } from "../../clike/kernels/index.ts";
import { defineWgsl, wgslProgram } from "../program.ts";
import "./dot.ts";
import "./conv.ts";

for (const [name, rule] of Object.entries(CLIKE_RULES)) {
  defineWgsl(name, (ins, outs, params) =>
    wgslProgram((d) => {
      const p = rule(d, ins, outs, params);
      if (!p) throw new Error(`webgpu: no kernel for ${name} of ${ins.map((a) => a.dtype).join(", ")}`);
      return p;
    }),
  );
}
