/**
 * What a WebGPU kernel rule produces: one or more compute passes over the call's input,
 * output and scratch buffers. Rules live in kernels/<family>.ts, one file per primitive
 * family; kernels/index.ts lists them by routine name.
 */
import type { DType } from "../../dtype.ts";
import type { Params } from "../../primitive.ts";
import type { ShapedArray } from "../../tracer.ts";
import type { ClikePass, ClikeProgram, OutputStore } from "../clike/dialect.ts";
import { WGSL, type Wgsl } from "../clike/wgsl.ts";

/** A buffer a pass binds: the call's input i, output i, or scratch buffer i. */
export type Ref = { in: number } | { out: number } | { tmp: number };

export interface Pass {
  /** A WGSL module with entry point `main`; its storage bindings are @group(0) @binding(k) for bindings[k]. */
  code: string;
  bindings: Ref[];
  /**
   * How many workgroups to run, as one linear count. The runtime spreads counts over
   * 65535 into a 2-D grid, so kernels compute their linear workgroup index with
   * `linearWorkgroup()` (see wgsl.ts) and skip indices past the end.
   */
  workgroups: number;
  /**
   * The same pass rendered in WGSL dialect `d`: windows.ts renders a pass over arrays larger
   * than one storage binding in a dialect whose storage hooks reach them through windows.
   */
  render(d: Wgsl): string;
}

/** A pass as a kernel writes it, before `gpuProgram` makes it renderable again. */
export type PassCode = Omit<Pass, "render">;

export interface GpuProgram {
  passes: Pass[];
  /** Scratch buffers the passes share, released after the call. */
  temps?: { dtype: DType; size: number }[];
}

/** What a kernel writes in one WGSL dialect. */
export interface ProgramCode {
  passes: PassCode[];
  temps?: { dtype: DType; size: number }[];
}

/** The program `make` writes in WGSL, each pass able to render again in another WGSL dialect (by writing the program again). */
export function gpuProgram(make: (d: Wgsl) => ProgramCode): GpuProgram {
  const p = make(WGSL);
  const passes = p.passes.map((pass, i) => ({ ...pass, render: (d: Wgsl) => make(d).passes[i].code }));
  return { passes, ...(p.temps ? { temps: p.temps } : {}) };
}

export { PLAIN_STORE, type OutputStore } from "../clike/dialect.ts";

/**
 * A primitive's WebGPU program, given its params `P`; product kernels take an `OutputStore`
 * for fused epilogues. A method type, so a rule of typed params sits in the table of all rules.
 */
export type WgslRule<P = Params> = { rule(inAvals: ShapedArray[], outAvals: ShapedArray[], params: P, out?: OutputStore): GpuProgram }["rule"];

/** A program written in the shared C-like skeleton, as WebGPU passes. */
export function wgslProgram(make: (d: Wgsl) => ClikeProgram): GpuProgram {
  return gpuProgram((d) => {
    const p = make(d);
    return { passes: p.passes.map(wgslPass), ...(p.temps ? { temps: p.temps } : {}) };
  });
}

export const wgslPass = ({ code, bindings, groups }: ClikePass): PassCode => ({ code, bindings, workgroups: groups });
