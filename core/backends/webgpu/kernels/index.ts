// WebGPU's program for each routine it runs: the families written once for both C-like
// dialects (../../clike/kernels), and its own product kernels (dot.ts, conv.ts). One table,
// written here; the files it lists register nothing.
import { CLIKE_RULES } from "../../clike/kernels/index.ts";
import type { ClikeRule } from "../../clike/kernels/rule.ts";
import { isRoutine, type RoutineName, type RoutineParams } from "../../../routines.ts";
import { wgslProgram, type WgslRule } from "../program.ts";
import { convProgram } from "./conv.ts";
import { dotProgram } from "./dot.ts";

const fromClike =
  (name: string, rule: ClikeRule): WgslRule =>
  (ins, outs, params) =>
    wgslProgram((d) => {
      const p = rule(d, ins, outs, params);
      if (!p) throw new Error(`webgpu: no kernel for ${name} of ${ins.map((a) => a.dtype).join(", ")}`);
      return p;
    });

/** The tuned products; each rule reads its routine's typed params. */
const PRODUCTS: { [R in RoutineName]?: WgslRule<RoutineParams[R]> } = {
  dot_general: (ins, outs, params, out) => dotProgram(ins, outs, params, undefined, out),
  conv_general_dilated: (ins, outs, params, out) => convProgram(ins, outs, params, undefined, undefined, out),
};

const SHARED = new Map(Object.entries(CLIKE_RULES).map(([name, rule]) => [name, fromClike(name, rule)]));

/** The WebGPU program of routine `name`; undefined where WebGPU has none. */
export function wgslRule(name: string): WgslRule | undefined {
  if (!isRoutine(name)) return undefined;
  return PRODUCTS[name] ?? SHARED.get(name);
}
