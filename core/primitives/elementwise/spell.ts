/**
 * Small builders for ALU spellings (core/compiler/alu.ts), shared by the elementwise
 * family files: the common shapes of an op in JavaScript, WebAssembly, WGSL and CUDA C.
 */
import type { IRType } from "../../compiler/ir.ts";
import type { TextSpelling, WasmSpelling, SimdAlu } from "../../compiler/alu.ts";
import type { PlainOp } from "../../backends/cpu/wasm/emit.ts";
import { WGSL } from "../../backends/clike/wgsl.ts";
import { CUDA } from "../../backends/clike/cuda.ts";

export const isFloatType = (d: IRType) => d === "float32" || d === "float64";
export const isIntType = (d: IRType) => d === "int32" || d === "uint32";

// ---------------------------------------------------------------- JavaScript
export const jsCall =
  (f: string): TextSpelling =>
  (a) =>
    `${f}(${a.join(", ")})`;
export const jsInfix =
  (op: string): TextSpelling =>
  ([a, b]) =>
    `${a} ${op} ${b}`;

// ---------------------------------------------------------------- WebAssembly
/** All operands, then one instruction. */
export const wasmOp = (op: PlainOp): WasmSpelling => ({ emit: (w) => (w.args(), w.f.op(op)) });
/** A four-lane spelling that is one SIMD instruction over the operands. */
export const simdOp =
  (op: PlainOp) =>
  (w: SimdAlu): void =>
    void (w.args(), w.f.op(op));
/** One instruction chosen by whether the operands are floats. */
export const wasmFloatOrInt = (fOp: PlainOp, iOp: PlainOp): WasmSpelling => ({ emit: (w, t) => (w.args(), w.f.op(isFloatType(t.from) ? fOp : iOp)) });
/** All operands, then a call of the JavaScript import `name`. */
export const wasmImport = (name: string): WasmSpelling => ({ imports: () => [name], emit: (w) => (w.args(), w.call(name)) });

// ---------------------------------------------------------------- WGSL (floats are f32; booleans are u32 0/1)
/** A WGSL literal of `v` at `d` (the dialect's spelling). */
export const wgslLiteral = (v: number, d: IRType) => WGSL.literal(v, d);
export const wgslZero = (d: IRType) => wgslLiteral(0, d);
export const wgslType = (d: IRType) => WGSL.type(d);
export const wgslCall =
  (f: string, helper?: string): TextSpelling =>
  (a, _t, use) => {
    if (helper) use(helper);
    return `${f}(${a.join(", ")})`;
  };
export const wgslInfix =
  (op: string): TextSpelling =>
  ([a, b]) =>
    `(${a} ${op} ${b})`;
export const wgslFloatOnly =
  (f: string, helper?: string): TextSpelling =>
  (a, t, use) => {
    if (t.from !== "float32") throw new Error(`webgpu: ${f} of ${t.from} is not supported`);
    return wgslCall(f, helper)(a, t, use);
  };

// ---------------------------------------------------------------- CUDA C (booleans are 0/1 values)
/** A CUDA C literal of `v` at `d` (the dialect's spelling). */
export const cLiteral = (v: number, d: IRType) => CUDA.literal(v, d);
export const cOne = (d: IRType) => cLiteral(1, d);
export const cZero = (d: IRType) => cLiteral(0, d);
export const ctype = (d: IRType) => CUDA.type(d);
/** The C math function `name` at the operand's precision (`expf` or `exp`). */
export const cMath =
  (name: string): TextSpelling =>
  (a, t) => {
    if (!isFloatType(t.from)) throw new Error(`cuda: ${name} of ${t.from} is not supported`);
    return `${name}${t.from === "float32" ? "f" : ""}(${a.join(", ")})`;
  };
/** `cMath` applied directly to operand expressions. */
export const cMathOf = (name: string, d: IRType, ...a: string[]) => cMath(name)(a, { from: d, to: d }, () => {});
/** Wrapping int32 arithmetic goes through unsigned (signed overflow is undefined in C). */
export const cWrapped =
  (op: string): TextSpelling =>
  ([a, b], { from: d }) =>
    d === "int32" ? `(int)((unsigned)${a} ${op} (unsigned)${b})` : d === "bool" ? `(unsigned char)(${a} ${op} ${b})` : `(${a} ${op} ${b})`;
export const cInfix =
  (op: string): TextSpelling =>
  ([a, b]) =>
    `(${a} ${op} ${b})`;
