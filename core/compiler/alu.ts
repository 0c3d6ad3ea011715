/**
 * The ALU ops of the kernel IR and how each kernel language spells them. Every op is
 * defined once, beside its primitive (core/primitives/elementwise/), with one spelling per
 * renderer: JavaScript (the CPU's reference), WebAssembly instructions, WGSL and CUDA C.
 * Renderers look ops up here by IR op name and never list them themselves.
 */
import type { IRType } from "./ir.ts";
import type { FunctionBuilder } from "../backends/cpu/wasm/emit.ts";

/** `from`: the operands' dtype (for select, the values'); `to`: the result's. */
export interface AluTypes {
  readonly from: IRType;
  readonly to: IRType;
}

/**
 * An expression over the operands' expressions `a`. `use` names a helper function the
 * expression calls, from the language's helper table (webgpu/wgsl.ts, cuda/cuda-c.ts).
 */
export type TextSpelling = (a: string[], t: AluTypes, use: (helper: string) => void) => string;

/** What a WebAssembly spelling writes with: the function being built and its operands. */
export interface WasmAlu {
  readonly f: FunctionBuilder;
  /** Pushes operand `i` (f64 for floats, i32 otherwise). */
  arg(i: number): void;
  /** Pushes every operand in order. */
  args(): void;
  /** Calls an import (one of `imports`) on the stack's operands. */
  call(name: string): void;
  /** Pushes the JavaScript number an i32 operand stands for (as f64). */
  toF64(d: IRType): void;
  /** Math.fround of the f64 on the stack. */
  fround(): void;
  /** lib.idiv / lib.irem of two i32 operands: 0 for a zero divisor, no trap on -2^31 / -1. */
  intDivide(op: "i32.div_s" | "i32.div_u" | "i32.rem_s" | "i32.rem_u"): void;
}

export interface WasmSpelling {
  /** The JavaScript imports (render-wasm.ts WASM_IMPORTS) the instructions call. */
  imports?(t: AluTypes): string[];
  emit(w: WasmAlu, t: AluTypes): void;
}

/** What a four-lane spelling writes with: float32 operands as f32x4 lanes, bools as i32x4 lane masks (all ones for true). */
export interface SimdAlu {
  readonly f: FunctionBuilder;
  /** Pushes operand `i` as a v128. */
  arg(i: number): void;
  /** Pushes every operand in order. */
  args(): void;
}

export interface AluDef {
  readonly js: TextSpelling;
  readonly wasm: WasmSpelling;
  readonly wgsl: TextSpelling;
  readonly cuda: TextSpelling;
  /**
   * The result is one of the operands (select, max, min), so it needs no rounding to the
   * result dtype; the CPU renderers round every other float32 result as a store would.
   */
  readonly exact?: boolean;
  /**
   * Four float32 lanes at once, for the CPU's WebAssembly inner loops: on float32 operands,
   * each lane bit for bit what `wasm` gives after the renderer's float32 rounding (IEEE
   * float32 +, -, *, / and sqrt equal the float64 result rounded once); bool results are
   * lane masks. Ops without it run those loops one element at a time.
   */
  readonly f32x4?: (w: SimdAlu) => void;
}

const defs = new Map<string, AluDef>();

export function defineAlu(op: string, def: AluDef): void {
  if (defs.has(op)) throw new Error(`ALU op ${op} is defined twice`);
  defs.set(op, def);
}

/** The definition of IR op `op`; `renderer` names the caller in the error for an unknown op. */
export function aluDef(op: string, renderer: string): AluDef {
  const d = defs.get(op);
  if (!d) throw new Error(`${renderer}: no ALU op ${op} (known: ${[...defs.keys()].join(", ")})`);
  return d;
}

/** The types an ALU node computes with: select's operand type is its values'. */
export function aluTypes(n: { op: string; dtype: IRType; args: readonly { dtype: IRType }[] }): AluTypes {
  return { from: n.args[n.op === "select" ? 1 : 0].dtype, to: n.dtype };
}
