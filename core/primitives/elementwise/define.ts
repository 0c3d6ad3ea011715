/**
 * How an elementwise primitive is defined: its dtype rule, batching, and its ALU op (one
 * spelling per kernel language, core/compiler/alu.ts). Operands of one primitive share a
 * shape and dtype; the numpy layer broadcasts and promotes before binding. Every backend
 * runs these primitives as kernels of the compiler's IR, eagerly and under jit alike.
 */
import { isFloat, isInt, type DType } from "../../dtype.ts";
import { definePrimitive, type Params, type Primitive } from "../../primitive.ts";
import { fmtShape, shapeEq } from "../../shape.ts";
import { bind1 } from "../../trace.ts";
import type { ShapedArray, Tracer } from "../../tracer.ts";
import { defineAlu, type AluDef } from "../../compiler/alu.ts";
import type { LowerContext, Pos } from "../../compiler/lower.ts";
import type { IRNode } from "../../compiler/ir.ts";
import { bdimToFront, broadcastInDim } from "../shape.ts";
import { NDArray, scalar } from "../../array.ts";

/**
 * `v` as an array of x's shape and dtype: a constant of a derivative rule (`mul(t, fillLike(y, 2))`),
 * made where the numpy layer makes a JS number beside x (beside a concrete array; on the CPU
 * while tracing), so rules give the same programs as `np.mul(t, 2)` did.
 */
export function fillLike(x: Tracer, v: number): Tracer {
  const s = scalar(v, x.dtype, x instanceof NDArray ? x.backend : "cpu");
  return x.ndim === 0 ? s : broadcastInDim(s, x.shape, []);
}

export type DTypeClass = "float" | "int" | "bool" | "any" | "numeric" | "intOrBool";

function accepts(cls: DTypeClass, dtype: DType): boolean {
  switch (cls) {
    case "float":
      return isFloat(dtype);
    case "int":
      return isInt(dtype);
    case "bool":
      return dtype === "bool";
    case "intOrBool":
      return dtype === "bool" || isInt(dtype);
    case "numeric":
      return dtype !== "bool";
    case "any":
      return true;
  }
}

export function checkOperands(name: string, avals: ShapedArray[], cls: DTypeClass): void {
  const [a] = avals;
  for (const b of avals) {
    if (!shapeEq(a.shape, b.shape)) throw new Error(`${name}: operand shapes ${avals.map((v) => fmtShape(v.shape)).join(" and ")} differ`);
    if (a.dtype !== b.dtype) throw new Error(`${name}: operand dtypes ${avals.map((v) => v.dtype).join(" and ")} differ`);
  }
  if (!accepts(cls, a.dtype)) throw new Error(`${name}: dtype ${a.dtype} is not supported (needs ${cls === "float" ? "a floating dtype" : cls === "numeric" ? "a numeric dtype" : cls})`);
}

/** Elementwise batching: operands already sharing a batch axis run as they are; others move it to the front. */
export function elementwiseBatch<P extends Params>(prim: () => Primitive<P>) {
  return (vals: Tracer[], dims: (number | null)[], params: P, size: number): [Tracer[], (number | null)[]] => {
    const d0 = dims[0];
    if (d0 !== null && dims.every((d) => d === d0)) return [[bind1(prim(), vals, params)], [d0]];
    return [
      [
        bind1(
          prim(),
          vals.map((v, i) => bdimToFront(v, dims[i], size)),
          params,
        ),
      ],
      [0],
    ];
  };
}

/**
 * An ALU op at the output's point, over its operands at the same point. A function
 * declaration, so the family files that import this module's `elementwise` while it is
 * still loading (whichever of them a program imports first) find it.
 */
export function aluLowering({ b, eqn, at }: LowerContext, pos: Pos): IRNode {
  return b.node(
    eqn.prim.name,
    eqn.outs[0].aval.dtype,
    eqn.inputs.map((_, i) => at(i, pos)),
  );
}

export interface ElementwiseSpec {
  name: string;
  arity: number;
  dtypes: DTypeClass;
  alu: AluDef;
  outDtype?: (dtype: DType) => DType;
  jvp?: Primitive<NoParams>["jvp"];
  transpose?: Primitive<NoParams>["transpose"];
}

/** Arithmetic, comparison, logic, select and stop_gradient take no params. */
export type NoParams = Record<string, never>;

export function elementwise(spec: ElementwiseSpec): Primitive<NoParams> {
  defineAlu(spec.name, spec.alu);
  const p: Primitive<NoParams> = definePrimitive<NoParams>({
    name: spec.name,
    abstractEval(avals) {
      if (avals.length !== spec.arity) throw new Error(`${spec.name}: expected ${spec.arity} operands, got ${avals.length}`);
      checkOperands(spec.name, avals, spec.dtypes);
      return [{ shape: avals[0].shape, dtype: spec.outDtype ? spec.outDtype(avals[0].dtype) : avals[0].dtype }];
    },
    lower: aluLowering,
    pointwise: true,
    jvp: spec.jvp,
    transpose: spec.transpose,
    batch: elementwiseBatch(() => p),
  });
  return p;
}
