/**
 * What a CUDA kernel rule produces: one or more kernel launches over the call's input,
 * output and scratch buffers. Rules live in kernels/<family>.ts, one file per primitive
 * family; kernels/index.ts lists them by routine name (the same shape as the WebGPU rules).
 */
import type { DType } from "../../dtype.ts";
import type { Params } from "../../primitive.ts";
import type { ShapedArray } from "../../tracer.ts";
import type { ClikePass, ClikeProgram } from "../clike/dialect.ts";

/** A buffer a pass reads or writes: the call's input i, output i, or scratch buffer i. */
export type Ref = { in: number } | { out: number } | { tmp: number };

export interface Pass {
  /**
   * A CUDA C module (no #includes) defining `extern "C" __global__ void augerino_kernel(...)`;
   * its parameters are device pointers to bindings[0], bindings[1], ... in order. Shapes and
   * params are baked in as constants: programs are cached per shape.
   */
  code: string;
  bindings: Ref[];
  /** Blocks of a one-dimensional grid (at most 2^31 - 1); a pass with none is skipped. */
  blocks: number;
  /** Threads per block; must match the kernel's __launch_bounds__. */
  threads: number;
}

export interface CudaProgram {
  passes: Pass[];
  /** Scratch buffers the passes share, released after the call. */
  temps?: { dtype: DType; size: number }[];
}

/**
 * A primitive's CUDA program, given its params `P`; null for operand types it does not cover
 * (the call then runs on the host). A method type, so a rule of typed params sits in the table of all rules.
 */
export type CudaRule<P = Params> = { rule(inAvals: ShapedArray[], outAvals: ShapedArray[], params: P): CudaProgram | null }["rule"];

/** A program written in the shared C-like skeleton, as CUDA launches. */
export function cudaProgram(p: ClikeProgram): CudaProgram {
  return { passes: p.passes.map(cudaPass), ...(p.temps ? { temps: p.temps } : {}) };
}

export const cudaPass = ({ code, bindings, groups, threads }: ClikePass): Pass => ({ code, bindings, blocks: groups, threads });
