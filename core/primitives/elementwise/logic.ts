/** Comparisons (to bool), bitwise and/or/xor, and logical shifts. */
import type { PlainOp } from "../../backends/cpu/wasm/emit.ts";
import type { Primitive } from "../../primitive.ts";
import { bind1 } from "../../trace.ts";
import type { Tracer } from "../../tracer.ts";
import { elementwise } from "./define.ts";
import { cInfix, cZero, ctype, isFloatType, jsInfix, simdOp, wasmOp, wgslInfix, wgslZero } from "./spell.ts";

/** `js`: the JavaScript operator; the wasm instruction for floats, int32 and unsigned (uint32, bool) operands, then for four float32 lanes. */
const compare = (name: string, js: string, c: string, wasm: [PlainOp, PlainOp, PlainOp, PlainOp]) =>
  elementwise({
    name,
    arity: 2,
    dtypes: "any",
    outDtype: () => "bool",
    jvp: "zero",
    alu: {
      js: ([a, b]) => `(${a} ${js} ${b}) ? 1 : 0`,
      wasm: { emit: (w, t) => (w.args(), w.f.op(isFloatType(t.from) ? wasm[0] : t.from === "int32" ? wasm[1] : wasm[2])) },
      wgsl: ([a, b]) => `select(0u, 1u, ${a} ${c} ${b})`,
      cuda: cInfix(c),
      f32x4: simdOp(wasm[3]),
    },
  });
export const eqP = compare("eq", "===", "==", ["f64.eq", "i32.eq", "i32.eq", "f32x4.eq"]);
export const neP = compare("ne", "!==", "!=", ["f64.ne", "i32.ne", "i32.ne", "f32x4.ne"]);
export const ltP = compare("lt", "<", "<", ["f64.lt", "i32.lt_s", "i32.lt_u", "f32x4.lt"]);
export const leP = compare("le", "<=", "<=", ["f64.le", "i32.le_s", "i32.le_u", "f32x4.le"]);
export const gtP = compare("gt", ">", ">", ["f64.gt", "i32.gt_s", "i32.gt_u", "f32x4.gt"]);
export const geP = compare("ge", ">=", ">=", ["f64.ge", "i32.ge_s", "i32.ge_u", "f32x4.ge"]);

const bitwise = (name: string, op: string, wasm: PlainOp) =>
  elementwise({
    name,
    arity: 2,
    dtypes: "intOrBool",
    jvp: "zero",
    alu: { js: jsInfix(op), wasm: wasmOp(wasm), wgsl: wgslInfix(op), cuda: ([a, b], t) => `(${ctype(t.from)})(${a} ${op} ${b})` },
  });
export const andP = bitwise("and", "&", "i32.and");
export const orP = bitwise("or", "|", "i32.or");
export const xorP = bitwise("xor", "^", "i32.xor");

/** Shifts by 32 or more give 0 (JavaScript and the hardware would take the count modulo 32). */
const shift = (name: string, js: (a: string, b: string) => string, wasm: "i32.shl" | "i32.shr_u", c: string, wgsl: (a: string, b: string, d: string) => string) =>
  elementwise({
    name,
    arity: 2,
    dtypes: "int",
    jvp: "zero",
    alu: {
      js: ([a, b]) => `(${b} >>> 0) >= 32 ? 0 : ${js(a, b)}`,
      wasm: {
        emit(w) {
          const f = w.f,
            n = f.local("i32");
          w.arg(1);
          f.set(n).i32(0);
          w.arg(0);
          f.get(n).op(wasm).get(n).i32(32).op("i32.ge_u").op("select");
        },
      },
      wgsl: ([a, b], t) => wgsl(a, b, t.from),
      cuda: ([a, b], t) => `((unsigned)${b} >= 32u ? ${cZero(t.from)} : (${ctype(t.from)})((unsigned)${a} ${c} (unsigned)${b}))`,
    },
  });
export const shiftLeftP = shift(
  "shift_left",
  (a, b) => `${a} << ${b}`,
  "i32.shl",
  "<<",
  (a, b, d) => `select(${a} << (u32(${b}) & 31u), ${wgslZero(d as "int32")}, u32(${b}) >= 32u)`,
);
export const shiftRightLogicalP = shift(
  "shift_right_logical",
  (a, b) => `(${a} >>> ${b})`,
  "i32.shr_u",
  ">>",
  (a, b, d) => (d === "int32" ? `select(bitcast<i32>(bitcast<u32>(${a}) >> (u32(${b}) & 31u)), 0, u32(${b}) >= 32u)` : `select(${a} >> (u32(${b}) & 31u), 0u, u32(${b}) >= 32u)`),
);

const b2 = (p: Primitive) => (x: Tracer, y: Tracer) => bind1(p, [x, y]);
export const eq = b2(eqP),
  ne = b2(neP),
  lt = b2(ltP),
  le = b2(leP),
  gt = b2(gtP),
  ge = b2(geP);
export const and = b2(andP),
  or = b2(orP),
  xor = b2(xorP),
  shiftLeft = b2(shiftLeftP),
  shiftRightLogical = b2(shiftRightLogicalP);
