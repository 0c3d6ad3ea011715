/**
 * Renders kernel IR to a JavaScript loop function over typed arrays. Every ALU node
 * is rounded to its dtype exactly where the unfused kernel's store would round it
 * (Math.fround for float32, |0 for int32, >>>0 for uint32), so fused results are bit
 * for bit those of running the primitives one at a time. Reductions accumulate in
 * float64 in row-major order of the reduced axes, as the reduce kernels do.
 */
import type { TypedArray } from "../dtype.ts";
import { aluDef, aluTypes } from "./alu.ts";
import { lib } from "../backends/cpu/scalar-lib.ts";
import { emitBody, topoSort, type IRType, type Kernel, type ReduceOp } from "./ir.ts";
import { loopPlan } from "./loop-plan.ts";

export type KernelFn = (out: TypedArray, ...ins: TypedArray[]) => void;

/** Rounds a JS number to what a typed array of `dtype` would store. Bool results are already 0/1. */
function cast(expr: string, dtype: IRType): string {
  switch (dtype) {
    case "float32":
      return `Math.fround(${expr})`;
    case "int32":
      return `(${expr}) | 0`;
    case "uint32":
      return `(${expr}) >>> 0`;
    default:
      return expr;
  }
}

const REDUCE: Record<ReduceOp, { init: string; combine: (acc: string, v: string) => string }> = {
  sum: { init: "0", combine: (acc, v) => `${acc} + ${v}` },
  prod: { init: "1", combine: (acc, v) => `${acc} * ${v}` },
  max: { init: "-Infinity", combine: (acc, v) => `(${v} > ${acc} || ${v} !== ${v}) ? ${v} : ${acc}` },
  min: { init: "Infinity", combine: (acc, v) => `(${v} < ${acc} || ${v} !== ${v}) ? ${v} : ${acc}` },
};

function literal(v: number): string {
  if (Object.is(v, -0)) return "(-0)";
  if (Number.isNaN(v)) return "NaN";
  return v < 0 ? `(${v})` : String(v);
}

/**
 * The source of a function `(out, in0, in1, ...) => void` computing the kernel.
 *
 * Loops follow `loopPlan`: kept axes, then reduced ones, unread trailing axes merged, and
 * each statement in the outermost loop whose indices it reads, so a broadcast operand is
 * loaded once per row rather than once per element (inputs never alias the output, so
 * hoisted loads stay valid).
 */
export function renderJs(k: Kernel): string {
  const plan = loopPlan(k);
  const { loops, counted, usesFlat } = plan;
  const inner = loops.length - 1;
  const v = (level: number) => (loops[level].axes.length === 1 ? `i${loops[level].axes[0]}` : "m");
  const flatName = counted ? "f" : inner < 0 ? "0" : `f${inner}`;

  const {
    lines,
    nodes: lineNodes,
    value,
  } = emitBody(
    k.body,
    {
      literal: (n) => literal(n.arg!),
      idiv: (x, y) => `Math.floor(${x} / ${y})`,
      alu(n, a) {
        const def = aluDef(n.op, "renderJs");
        const e = def.js(a, aluTypes(n), () => {});
        return def.exact ? e : cast(e, n.dtype);
      },
      declare: (name, _n, expr) => `const ${name} = ${expr};`,
    },
    (axis) => `i${axis}`,
    flatName,
  );

  const depth = plan.depthOf(topoSort(k.body));
  const at: string[][] = Array.from({ length: loops.length + 1 }, () => []);
  lineNodes.forEach((n, i) => at[depth.get(n)! + 1].push(lines[i]));
  if (usesFlat && !counted) loops.forEach((l, i) => at[i + 1].unshift(`const f${i} = ${i === 0 ? "" : `f${i - 1} + `}${v(i)} * ${l.stride};`));

  const r = k.reduce ? REDUCE[k.reduce.op] : null;
  // Four sums: the element goes to acc, and the accumulators rotate (see LoopPlan.sumLanes).
  const lanes = plan.sumLanes === 4;
  const fold = lanes ? `const s = acc + ${value};\nacc = a1; a1 = a2; a2 = a3; a3 = s;` : r ? `acc = ${r.combine("acc", value)};` : "";
  const innermost = r ? `${fold}${counted ? "\nf++;" : ""}` : `out[f] = ${value};\nf++;`;
  const loop = (level: number): string => `for (let ${v(level)} = 0; ${v(level)} < ${loops[level].extent}; ${v(level)}++) {\n${block(level)}\n}`;
  // The statements inside loop `level` (-1: the function body).
  const block = (level: number): string => {
    const out = [...at[level + 1]];
    if (r && level === plan.keptLoops - 1) {
      out.push(
        `let acc = ${r.init};`,
        ...(lanes ? ["let a1 = 0, a2 = 0, a3 = 0;"] : []),
        level === inner ? innermost : loop(level + 1),
        lanes ? "out[o++] = (acc + a1) + (a2 + a3);" : "out[o++] = acc;",
      );
    } else out.push(level === inner ? innermost : loop(level + 1));
    return out.join("\n");
  };
  const prelude = [counted ? "let f = 0;" : "", r ? "let o = 0;" : ""].filter(Boolean).join("\n");
  const ins = k.inputs.map((_, i) => `in${i}`);
  return `return function kernel(out${ins.map((n) => `, ${n}`).join("")}) {\n${prelude}\n${block(-1)}\n};`;
}

const compiled = new Map<string, KernelFn>();

/** The compiled loop of a kernel, cached by its source text. */
export function compileJs(k: Kernel): { fn: KernelFn; source: string; fresh: boolean } {
  const source = renderJs(k);
  let fn = compiled.get(source);
  const fresh = !fn;
  if (!fn) {
    fn = new Function("lib", source)(lib) as KernelFn;
    compiled.set(source, fn);
  }
  return { fn, source, fresh };
}

/** Kernels compiled so far (fresh sources only). */
export const jsKernelStats = { compiled: 0 };
const byKernel = new WeakMap<Kernel, KernelFn>();

/** The compiled loop of a kernel object, memoised on the object (plans keep their kernels). */
export function jsKernel(k: Kernel): KernelFn {
  let fn = byKernel.get(k);
  if (!fn) {
    const c = compileJs(k);
    if (c.fresh) jsKernelStats.compiled++;
    fn = c.fn;
    byKernel.set(k, fn);
  }
  return fn;
}
