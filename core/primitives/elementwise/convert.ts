/** select, dtype conversion, bit casts and stop_gradient. */
import { isFloat, isInt, saturateJs, type DType } from "../../dtype.ts";
import { definePrimitive, UndefinedPrimal, type Primitive } from "../../primitive.ts";
import { defineAlu, type AluTypes } from "../../compiler/alu.ts";
import type { RoutineParams } from "../../routines.ts";
import { fmtShape, shapeEq } from "../../shape.ts";
import { bind1 } from "../../trace.ts";
import type { Tracer } from "../../tracer.ts";
import { aluLowering, checkOperands, elementwiseBatch, type NoParams } from "./define.ts";
import { ctype, cZero, isFloatType, wgslType, wgslZero } from "./spell.ts";
import { scalar } from "../../array.ts";
import { broadcastInDim } from "../shape.ts";

const isUndef = (a: unknown): a is UndefinedPrimal => a instanceof UndefinedPrimal;

defineAlu("select", {
  exact: true,
  js: ([p, t, f]) => `${p} ? ${t} : ${f}`,
  wasm: { emit: (w) => (w.arg(1), w.arg(2), w.arg(0), w.f.op("select")) },
  wgsl: ([p, t, f]) => `select(${f}, ${t}, ${p} != 0u)`,
  cuda: ([p, t, f]) => `(${p} ? ${t} : ${f})`,
  f32x4: (w) => (w.arg(1), w.arg(2), w.arg(0), w.f.op("v128.bitselect")),
});
export const selectP: Primitive<NoParams> = definePrimitive<NoParams>({
  name: "select",
  abstractEval([p, t, f]) {
    if (p.dtype !== "bool") throw new Error(`select: predicate must be bool, got ${p.dtype}`);
    checkOperands("select", [t, f], "any");
    if (!shapeEq(p.shape, t.shape)) throw new Error(`select: predicate shape ${fmtShape(p.shape)} differs from operand shape ${fmtShape(t.shape)}`);
    return [t];
  },
  lower: aluLowering,
  pointwise: true,
  jvp: ([p, t, f], [, tt, tf]) => [[select(p, t, f)], [select(p, tt, tf)]],
  transpose([ct], [p, t, f]) {
    if (isUndef(p)) throw new Error("select: the predicate cannot be linear");
    if (!ct) return [null, null, null];
    const z = broadcastInDim(scalar(0, ct.dtype), ct.shape, []);
    return [null, isUndef(t) ? select(p as Tracer, ct, z) : null, isUndef(f) ? select(p as Tracer, z, ct) : null];
  },
  batch: elementwiseBatch(() => selectP),
});

/** WGSL: a value of dtype `from` as dtype `to`, as the CPU converts (float to int truncates and saturates). */
function wgslConvert(a: string, { from, to }: AluTypes): string {
  const f = wgslType(from as DType),
    t = wgslType(to as DType);
  if (to === "bool") return `select(0u, 1u, ${a} != ${wgslZero(from)})`;
  if (f === t) return a;
  if (f === "f32" && t !== "f32") {
    // WGSL's i32()/u32() saturate, but at the largest f32 below 2^31 (2^32), not at the type's
    // maximum; NaN (exponent all ones, mantissa nonzero) is 0, as on the CPU.
    const [top, max] = t === "i32" ? ["2147483648.0", "2147483647"] : ["4294967296.0", "4294967295u"];
    return `select(select(${t}(${a}), ${max}, ${a} >= ${top}), ${t}(0), (bitcast<u32>(${a}) & 0x7fffffffu) > 0x7f800000u)`;
  }
  if (from === "bool" || f === "f32" || t === "f32") return `${t}(${a})`;
  return `bitcast<${t}>(${a})`;
}

/** CUDA C: as the CPU converts (float to integer truncates and saturates, through a helper). */
function cudaConvert(a: string, { from, to }: AluTypes, use: (h: string) => void): string {
  if (to === "bool") return `(${a} != ${cZero(from)})`;
  if (from === to) return a;
  if (isFloatType(from) && (to === "int32" || to === "uint32")) {
    use("to_int");
    return `${to === "int32" ? "aug_to_i32" : "aug_to_u32"}((double)${a})`;
  }
  return `(${ctype(to)})${a}`;
}

defineAlu("convert_element_type", {
  js: ([a], { from, to }) => (to === "bool" ? `${a} !== 0 ? 1 : 0` : isFloat(from as DType) && isInt(to as DType) ? saturateJs(a, to as "int32" | "uint32") : a),
  wasm: {
    emit(w, { from, to }) {
      const f = w.f;
      w.arg(0);
      if (to === "bool") return void (isFloatType(from) ? f.f64(0).op("f64.ne") : f.i32(0).op("i32.ne"));
      if (isFloatType(to)) return (w.toF64(from), to === "float32" ? w.fround() : undefined);
      // XLA's saturating conversion, as saturateJs in the JavaScript kernels.
      if (isFloatType(from)) f.op(to === "int32" ? "i32.trunc_sat_f64_s" : "i32.trunc_sat_f64_u");
    },
  },
  wgsl: ([a], t) => wgslConvert(a, t),
  cuda: ([a], t, use) => cudaConvert(a, t, use),
});
/** The dtype a conversion or bit cast produces. */
type NewDtype = RoutineParams["bitcast_convert_type"];

export const convertElementTypeP: Primitive<NewDtype> = definePrimitive<NewDtype>({
  name: "convert_element_type",
  abstractEval([x], { newDtype }) {
    return [{ shape: x.shape, dtype: newDtype }];
  },
  lower: aluLowering,
  pointwise: true,
  jvp([x], [t], { newDtype }) {
    const out = convertElementType(x, newDtype);
    return [[out], [isFloat(x.dtype) && isFloat(newDtype) ? convertElementType(t, newDtype) : null]];
  },
  transpose: ([ct], [x]) => [ct && convertElementType(ct, (x as UndefinedPrimal).aval.dtype)],
  batch: elementwiseBatch(() => convertElementTypeP),
  printParams: (p) => `new_dtype=${p.newDtype}`,
});

export const bitcastConvertTypeP: Primitive<NewDtype> = definePrimitive<NewDtype>({
  name: "bitcast_convert_type",
  abstractEval([x], { newDtype }) {
    const ok = (d: DType) => d === "float32" || d === "int32" || d === "uint32";
    if (!ok(x.dtype) || !ok(newDtype)) throw new Error(`bitcast_convert_type: only between 32-bit dtypes, got ${x.dtype} -> ${newDtype}`);
    return [{ shape: x.shape, dtype: newDtype }];
  },
  jvp: "zero",
  batch: elementwiseBatch(() => bitcastConvertTypeP),
});

export const stopGradientP: Primitive<NoParams> = definePrimitive<NoParams>({
  name: "stop_gradient",
  abstractEval: ([x]) => [x],
  lower: ({ at }, pos) => at(0, pos),
  pointwise: true,
  jvp: ([x]) => [[stopGradient(x)], [null]],
  batch: ([x], [d]) => [[stopGradient(x)], [d]],
});

export const select = (p: Tracer, t: Tracer, f: Tracer) => bind1(selectP, [p, t, f]);
export const convertElementType = (x: Tracer, newDtype: DType) => (x.dtype === newDtype ? x : bind1(convertElementTypeP, [x], { newDtype }));
export const bitcastConvertType = (x: Tracer, newDtype: DType) => (x.dtype === newDtype ? x : bind1(bitcastConvertTypeP, [x], { newDtype }));
export const stopGradient = (x: Tracer) => bind1(stopGradientP, [x]);
