/**
 * The CUDA programs the tests compile (codegen.test.ts) and run on the host emulator
 * (semantics.test.ts), each with inputs and the CPU's outputs for them:
 * - every primitive case of tests/cases (a few seeds, float64 inputs also as float32),
 *   through the backend's own choice of rule or IR kernel;
 * - every elementwise primitive over every dtype it accepts, on edge values (NaN, +-0,
 *   infinities, INT_MIN, huge floats, shift counts past 31, zero divisors);
 * - every reduction over dtypes and axis sets with both strategies, and empty reductions;
 * - fused jit chains (the partitioner's kernels), checked against the JavaScript renderer;
 * - dot_general layouts (transposed, batched, packed, integer, K = 0), long-axis argmax,
 *   colliding scatter_add, many-input concatenate, pad with cropping and interior padding.
 */
import { readdirSync } from "node:fs";
import "../../../index.ts";
import { makeJaxpr, np } from "../../../index.ts";
import { fromTyped, NDArray } from "../../../core/array.ts";
import { typedArrayFor, type DType, type TypedArray } from "../../../core/dtype.ts";
import { allPrimitives, getPrimitive, type Params } from "../../../core/primitive.ts";
import { sizeOf } from "../../../core/shape.ts";
import type { ShapedArray, Tracer } from "../../../core/tracer.ts";
import { partition } from "../../../core/compiler/fuse.ts";
import type { Var } from "../../../core/jaxpr.ts";
import { eagerKernel, runsAsKernel } from "../../../core/compiler/eager.ts";
import { compileJs } from "../../../core/compiler/render-js.ts";
import type { Kernel } from "../../../core/compiler/ir.ts";
import { programFor } from "../../../core/backends/cuda/index.ts";
import type { CudaProgram } from "../../../core/backends/cuda/program.ts";
import { renderCuda, type ReduceStrategy } from "../../../core/backends/cuda/render-cuda.ts";
import type { PrimCase } from "../../cases/types.ts";
import { Rng } from "../../cases/types.ts";
import { applyPrim, makeCase } from "../../transforms/harness.ts";

export interface ProgramCase {
  name: string;
  /** The primitive it runs (absent for fused kernels). */
  prim?: string;
  program: CudaProgram;
  /** Input data, in the program's input order. */
  ins: TypedArray[];
  outAvals: ShapedArray[];
  /** The CPU's outputs for the same inputs. */
  expected: () => TypedArray[];
  /** Relative tolerance for float outputs (0: bit for bit). */
  tol: number;
}

const DTYPES: DType[] = ["float32", "float64", "int32", "uint32", "bool"];
/** Float tolerance of ops computed by math-library functions (CUDA's and the host's differ from V8's by ulps). */
const MATH_TOL = 2e-5;
const EXACT_OPS = new Set([
  "neg",
  "abs",
  "sign",
  "floor",
  "ceil",
  "round",
  "not",
  "is_finite",
  "add",
  "sub",
  "mul",
  "div",
  "rem",
  "max",
  "min",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "and",
  "or",
  "xor",
  "shift_left",
  "shift_right_logical",
  "select",
  "convert_element_type",
  "sqrt",
  "broadcast_in_dim",
  "reshape",
  "transpose",
  "stop_gradient",
]);

const data = (x: Tracer) => (x as NDArray).dataSync();

/** The IR kernel of one equation, as every backend runs an eager call. */
export function oneEqnKernel(prim: string, inAvals: ShapedArray[], params: Params): { kernel: Kernel; order: number[] } {
  const p = getPrimitive(prim);
  return eagerKernel(p, inAvals, params, p.abstractEval(inAvals, params));
}

/** Primitives that run as kernels of the IR, and the reductions among them. */
export const KERNEL_PRIMS = allPrimitives()
  .filter(runsAsKernel)
  .map((p) => p.name);
const REDUCTIONS = allPrimitives()
  .filter((p) => p.reduction)
  .map((p) => p.name);

/** A case running primitive `prim` on `args` through the backend's program for it; null when it runs on the host. */
function primCase(name: string, prim: string, args: NDArray[], params: Params, tol: number): ProgramCase | null {
  const p = getPrimitive(prim);
  const inAvals = args.map((a) => a.aval);
  let outAvals: ShapedArray[];
  try {
    outAvals = p.abstractEval(inAvals, params);
  } catch {
    return null;
  }
  const entry = runsAsKernel(p) ? kernelProgram(eagerKernel(p, inAvals, params, outAvals)) : programFor(p.name, inAvals, params, outAvals);
  if (!entry) return null;
  const ins = (entry.order ?? args.map((_, i) => i)).map((i) => data(args[i]));
  return { name, prim, program: entry.program, ins, outAvals, expected: () => applyPrim(prim, args, params).map(data), tol };
}

function kernelProgram({ kernel, order }: { kernel: Kernel; order: number[] }): { program: CudaProgram; order: number[] } {
  return { program: { passes: [renderCuda(kernel)] }, order };
}

/** The same single-equation kernel with a forced reduction strategy. */
function strategyCase(name: string, prim: string, args: NDArray[], params: Params, strategy: ReduceStrategy): ProgramCase {
  const { kernel, order } = oneEqnKernel(
    prim,
    args.map((a) => a.aval),
    params,
  );
  return {
    name: `${name} [${strategy}]`,
    prim,
    program: { passes: [renderCuda(kernel, { reduce: strategy })] },
    ins: order.map((i) => data(args[i])),
    outAvals: [{ shape: kernel.out.shape, dtype: kernel.out.dtype }],
    expected: () => applyPrim(prim, args, params).map(data),
    tol: MATH_TOL,
  };
}

// ---------------------------------------------------------------- edge values

const F_EDGE = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3, 7.25, -7.75, 1e-3, 100, -100, 3e9, -3e9, 5e9, 1e20, -1e20, NaN, Infinity, -Infinity, 1e-40, 2 ** 31, -(2 ** 31), 0.3];
const I_EDGE = [0, 1, -1, 2, -2, 3, 7, -7, 31, 32, 33, -32, 100, 2147483647, -2147483648, 65536, -65536, 12345, -9876];
const U_EDGE = [0, 1, 2, 3, 7, 31, 32, 33, 100, 4294967295, 2147483648, 65536, 12345, 4000000000];

/** An array of `n` values of `dtype`: the edge list cycled with an offset, then random values. */
function edgeArray(dtype: DType, n: number, offset: number, rng: Rng): TypedArray {
  const out = typedArrayFor(dtype, n);
  const edges = dtype === "float32" || dtype === "float64" ? F_EDGE : dtype === "int32" ? I_EDGE : dtype === "uint32" ? U_EDGE : [0, 1];
  for (let i = 0; i < n; i++) {
    out[i] =
      i < edges.length
        ? edges[(i + offset) % edges.length]
        : dtype === "bool"
          ? rng.next() < 0.5
            ? 1
            : 0
          : dtype === "float32" || dtype === "float64"
            ? rng.uniform(-4, 4)
            : rng.int(dtype === "uint32" ? 0 : -50, 50);
  }
  return out;
}

/** Input ranges replacing the edge values for some functions. */
const DOMAIN: Record<string, [number, number]> = {
  // The CPU's erf gives NaN at +-Infinity (its continued fraction divides infinities) where
  // CUDA's erff gives +-1, so erf is checked on finite inputs.
  erf: [-6, 6],
};

const ELEMENTWISE = allPrimitives()
  .filter((p) => p.pointwise)
  .map((p) => p.name)
  .filter((n) => !["stop_gradient", "select", "convert_element_type"].includes(n));

function elementwiseCases(): ProgramCase[] {
  const out: ProgramCase[] = [];
  const rng = new Rng(7);
  const shape = [4, 11];
  const n = sizeOf(shape);
  for (const prim of ELEMENTWISE) {
    const arity = prim === "atan2" || /^(add|sub|mul|div|rem|pow|max|min|eq|ne|lt|le|gt|ge|and|or|xor|shift_left|shift_right_logical)$/.test(prim) ? 2 : 1;
    for (const dtype of DTYPES) {
      const dom = DOMAIN[prim];
      const make = (k: number) => {
        if (dom && (dtype === "float32" || dtype === "float64")) {
          const a = typedArrayFor(dtype, n);
          for (let i = 0; i < n; i++) a[i] = rng.uniform(dom[0], dom[1]);
          return fromTyped(a, shape, dtype);
        }
        return fromTyped(edgeArray(dtype, n, k * 5, rng), shape, dtype);
      };
      const args = Array.from({ length: arity }, (_, k) => make(k));
      const c = primCase(`${prim} ${dtype}`, prim, args, {}, EXACT_OPS.has(prim) ? 0 : MATH_TOL);
      if (c) out.push(c);
    }
  }
  for (const from of DTYPES) {
    for (const to of DTYPES) {
      const x = fromTyped(edgeArray(from, n, 0, rng), shape, from);
      const c = primCase(`convert_element_type ${from}->${to}`, "convert_element_type", [x], { newDtype: to }, 0);
      if (c) out.push(c);
    }
  }
  for (const dtype of DTYPES) {
    const p = fromTyped(edgeArray("bool", n, 1, rng), shape, "bool");
    const c = primCase(`select ${dtype}`, "select", [p, fromTyped(edgeArray(dtype, n, 0, rng), shape, dtype), fromTyped(edgeArray(dtype, n, 3, rng), shape, dtype)], {}, 0);
    if (c) out.push(c);
  }
  const x = fromTyped(edgeArray("float32", 24, 2, rng), [2, 3, 4], "float32");
  out.push(primCase("transpose [2,0,1]", "transpose", [x], { perm: [2, 0, 1] }, 0)!);
  out.push(primCase("broadcast_in_dim", "broadcast_in_dim", [fromTyped(edgeArray("int32", 3, 0, rng), [3, 1], "int32")], { shape: [2, 3, 5], broadcastDimensions: [1, 2] }, 0)!);
  return out.filter(Boolean);
}

function reduceCases(): ProgramCase[] {
  const out: ProgramCase[] = [];
  const rng = new Rng(11);
  const shape = [4, 6, 5];
  for (const prim of REDUCTIONS) {
    for (const dtype of DTYPES) {
      for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2]]) {
        const a = typedArrayFor(dtype, sizeOf(shape));
        // Products of many values overflow floats; keep them near 1 (and NaN/infinities in sums and extremes).
        for (let i = 0; i < a.length; i++) a[i] = prim === "reduce_prod" && (dtype === "float32" || dtype === "float64") ? rng.uniform(0.8, 1.25) : edgeArray(dtype, 1, i * 7, rng)[0];
        const x = fromTyped(a, shape, dtype);
        try {
          getPrimitive(prim).abstractEval([x.aval], { axes });
        } catch {
          continue;
        }
        for (const s of ["thread", "block"] as const) out.push(strategyCase(`${prim} ${dtype} axes [${axes}]`, prim, [x], { axes }, s));
      }
    }
  }
  const long = np.reshape(np.mul(np.sin(np.arange(3 * 4000, undefined, 1, { dtype: "float32" })), 3), [3, 4000]) as NDArray;
  for (const prim of REDUCTIONS) {
    const c = primCase(`${prim} long axis (default strategy)`, prim, [prim === "reduce_prod" ? (np.add(np.mul(long, 1e-4), 1) as NDArray) : long], { axes: [1] }, 1e-5);
    if (c) out.push(c);
  }
  out.push(primCase("reduce_max empty axis", "reduce_max", [fromTyped(new Int32Array(0), [3, 0], "int32")], { axes: [1] }, 0)!);
  out.push(primCase("reduce_min empty axis float", "reduce_min", [fromTyped(new Float32Array(0), [3, 0], "float32")], { axes: [1] }, 0)!);
  return out.filter(Boolean);
}

/** Kernels the partitioner makes from jitted chains, checked against the JavaScript renderer of the same kernel. */
function fusedCases(): ProgramCase[] {
  const rng = new Rng(5);
  const f32 = (shape: number[], lo = -2, hi = 2) => rng.array(shape, "float32", lo, hi);
  const chains: [string, (...xs: Tracer[]) => Tracer, NDArray[]][] = [
    ["tanh(x*1.5+0.25)*exp(-x) summed", (x) => np.sum(np.tanh(x.mul(1.5).add(0.25)).mul(np.exp(x.neg())).sub(0.5)), [f32([300])]],
    ["softmax numerator over rows", (x) => np.exp(x.sub(np.max(x, { axis: 1, keepdims: true }))), [f32([7, 9])]],
    ["row sums of a transposed product", (x, y) => np.sum(np.transpose(x.mul(y)), { axis: 0 }), [f32([5, 6]), f32([5, 6])]],
    ["broadcast add then column max", (x, r) => np.max(x.add(r), { axis: 0 }), [f32([8, 3]), f32([3])]],
    ["where/abs/sqrt chain", (x) => np.where(np.greater(x, 0.1), np.sqrt(np.abs(x)), x.mul(0.5)), [f32([4, 5])]],
    ["mean of squares (long)", (x) => np.mean(x.mul(x)), [f32([5000])]],
    ["int32 wrap chain", (a, b) => a.mul(b).add(2147483000), [rng.array([9], "int32", -100000, 100000), rng.array([9], "int32", -100000, 100000)]],
    ["reshape then product over axis 1", (x) => np.prod(np.reshape(x.mul(0.1).add(1), [4, 6]), { axis: 1 }), [f32([24])]],
  ];
  const out: ProgramCase[] = [];
  for (const [name, f, args] of chains) {
    const closed = makeJaxpr(f)(...args) as unknown as { jaxpr: { inVars: Var[] } & Parameters<typeof partition>[0] };
    const byVar = new Map<Var, NDArray>(closed.jaxpr.inVars.map((v, i) => [v, args[i]]));
    for (const step of partition(closed.jaxpr)) {
      if (step.kind !== "kernel" || !step.inputs.every((v) => byVar.has(v))) continue;
      const k = step.kernel;
      const ins = step.inputs.map((v) => data(byVar.get(v)!));
      const outAval = { shape: k.out.shape, dtype: k.out.dtype };
      const expected = () => {
        const res = typedArrayFor(k.out.dtype, sizeOf(k.out.shape));
        compileJs(k).fn(res, ...ins);
        return [res];
      };
      const strategies: (ReduceStrategy | undefined)[] = k.reduce ? ["thread", "block"] : [undefined];
      for (const s of strategies) {
        out.push({ name: `fused: ${name}${s ? ` [${s}]` : ""}`, program: { passes: [renderCuda(k, { reduce: s })] }, ins, outAvals: [outAval], expected, tol: 1e-5 });
      }
    }
  }
  return out;
}

function dotCases(): ProgramCase[] {
  const rng = new Rng(3);
  const out: ProgramCase[] = [];
  const dot = (name: string, l: NDArray, r: NDArray, contracting: [number[], number[]], batch: [number[], number[]] = [[], []]) => {
    const c = primCase(`dot_general ${name}`, "dot_general", [l, r], { dims: { contracting, batch } }, 1e-5);
    if (c) out.push(c);
  };
  dot("[130,70]x[70,90]", rng.array([130, 70], "float32"), rng.array([70, 90], "float32"), [[1], [0]]);
  dot("x^T y [70,130]x[70,90]", rng.array([70, 130], "float32"), rng.array([70, 90], "float32"), [[0], [0]]);
  dot("x y^T [33,17]x[65,17]", rng.array([33, 17], "float32"), rng.array([65, 17], "float32"), [[1], [1]]);
  dot("batched [3,20,30]x[3,30,10]", rng.array([3, 20, 30], "float32"), rng.array([3, 30, 10], "float32"), [[2], [1]], [[0], [0]]);
  dot("batch last [20,30,3]x[30,10,3]", rng.array([20, 30, 3], "float32"), rng.array([30, 10, 3], "float32"), [[1], [0]], [[2], [2]]);
  dot("two contracting axes reversed (packed)", rng.array([5, 4, 6], "float32"), rng.array([6, 4, 7], "float32"), [
    [1, 2],
    [1, 0],
  ]);
  dot("matvec [1,100]x[100,1]", rng.array([1, 100], "float32"), rng.array([100, 1], "float32"), [[1], [0]]);
  dot("int32 wraps", rng.array([9, 40], "int32", -70000, 70000), rng.array([40, 5], "int32", -70000, 70000), [[1], [0]]);
  dot("uint32", rng.array([9, 40], "uint32", 0, 70000), rng.array([40, 5], "uint32", 0, 70000), [[1], [0]]);
  dot("float64", rng.array([17, 19], "float64"), rng.array([19, 23], "float64"), [[1], [0]]);
  dot("K = 0", fromTyped(new Float32Array(0), [3, 0], "float32"), fromTyped(new Float32Array(0), [0, 4], "float32"), [[1], [0]]);
  return out;
}

function ruleCases(): ProgramCase[] {
  const rng = new Rng(13);
  const out: (ProgramCase | null)[] = [];
  const x = rng.array([3, 3000], "float32");
  const xd = x.dataSync();
  xd[1500] = NaN;
  out.push(primCase("argmax long axis with NaN", "argmax", [fromTyped(xd, [3, 3000], "float32")], { axis: 1 }, 0));
  out.push(primCase("argmin long axis", "argmin", [x], { axis: 1 }, 0));
  out.push(primCase("argmax ties int32", "argmax", [rng.array([6, 7], "int32", 0, 3)], { axis: 0 }, 0));
  const u32 = (n: number) => rng.array([n], "uint32", 0, 2 ** 32);
  out.push(primCase("threefry2x32 many counters", "threefry2x32", [u32(5000), u32(5000), u32(5000), u32(5000)], {}, 0));
  const idx = fromTyped(new Int32Array([0, 5, -3, 99, 2, 2, 4]), [7], "int32");
  out.push(primCase("take int32 clamped", "take", [rng.array([4, 6, 3], "float32"), idx], { axis: 1 }, 0));
  out.push(primCase("take uint32 clamped", "take", [rng.array([6, 2], "int32", -9, 9), fromTyped(new Uint32Array([5, 0, 4000000000, 3]), [2, 2], "uint32")], { axis: 0 }, 0));
  out.push(primCase("scatter_add float collisions", "scatter_add", [rng.array([4, 6, 3], "float32"), idx, rng.array([4, 7, 3], "float32")], { axis: 1 }, 1e-6));
  out.push(primCase("scatter_add int32", "scatter_add", [rng.array([6], "int32", -9, 9), idx, rng.array([7], "int32", -9, 9)], { axis: 0 }, 0));
  const parts = Array.from({ length: 40 }, (_, k) => rng.array([2, 1 + (k % 3)], "float32"));
  out.push(primCase("concatenate 40 inputs", "concatenate", parts, { axis: 1 }, 0));
  out.push(
    primCase(
      "pad crop + interior",
      "pad",
      [rng.array([5, 4], "float32"), fromTyped(new Float32Array([9]), [], "float32")],
      {
        config: [
          [-1, 2, 1],
          [3, -2, 0],
        ],
      },
      0,
    ),
  );
  out.push(primCase("slice strided", "slice", [rng.array([9, 8], "int32", -5, 5)], { start: [1, 2], limit: [8, 8], strides: [3, 2] }, 0));
  out.push(primCase("rev", "rev", [rng.array([3, 4, 5], "float32")], { axes: [0, 2] }, 0));
  out.push(primCase("bitcast float->int", "bitcast_convert_type", [fromTyped(new Float32Array(F_EDGE), [F_EDGE.length], "float32")], { newDtype: "int32" }, 0));
  return out.filter((c): c is ProgramCase => c !== null);
}

/** Every primitive case of tests/cases with `seeds` seeds; float64 inputs are also tried as float32. */
async function primitiveCases(seeds: number[]): Promise<ProgramCase[]> {
  const dir = new URL("../../cases/", import.meta.url);
  const out: ProgramCase[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && f !== "types.ts")
    .sort()) {
    const mod = (await import(new URL(file, dir).href)) as { cases: PrimCase[] };
    mod.cases.forEach((c, index) => {
      for (const seed of seeds) {
        let made: { args: NDArray[]; params: Params };
        try {
          made = makeCase(c, seed);
        } catch {
          continue;
        }
        const variants: [string, NDArray[]][] = [["", made.args]];
        if (made.args.some((a) => a.dtype === "float64")) variants.push([" f32", made.args.map((a) => (a.dtype === "float64" ? (np.astype(a, "float32") as NDArray) : a))]);
        for (const [tag, args] of variants) {
          const pc = primCase(`${c.prim} (${file} #${index}, seed ${seed}${tag})`, c.prim, args, made.params, EXACT_OPS.has(c.prim) ? 0 : tag ? 2e-4 : 1e-9);
          if (pc) out.push(pc);
        }
      }
    });
  }
  return out;
}

/** All program cases. */
export async function allProgramCases(seeds = [1, 2]): Promise<ProgramCase[]> {
  return [...(await primitiveCases(seeds)), ...elementwiseCases(), ...reduceCases(), ...fusedCases(), ...dotCases(), ...ruleCases()];
}
