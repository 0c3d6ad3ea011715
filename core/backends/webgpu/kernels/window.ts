/**
 * Windowed reductions (reduce_window_sum / max / min) and the selections that differentiate
 * max and min pooling (select_and_gather_add, select_and_scatter_add), over operands of any
 * rank. Each output element walks its window's in-bounds taps in row-major order, so ties go
 * to the first position and a NaN, once seen, wins, as in the CPU's windowLoop.
 * select_and_scatter_add has no float atomics to lean on: a first pass records each
 * window's selected operand index, and a second pass lets every operand element add up the
 * sources of the windows that selected it, in window order.
 */
import type { DType } from "../../../dtype.ts";
import { isFloat } from "../../../dtype.ts";
import type { Params } from "../../../primitive.ts";
import type { WindowParams } from "../../../primitives/window.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineWgsl, type GpuProgram, type Pass } from "../program.ts";
import { binding, helpers, literal, wgslType } from "../wgsl.ts";
import { perElements } from "./grid.ts";

const u = (n: number) => `${n >>> 0}u`;

/** WGSL declaring `${p}0..` as the row-major coordinates of flat index `idx` in `shape`. */
function coords(p: string, idx: string, shape: readonly number[]): string {
  const st = stridesOf(shape);
  return shape.map((n, d) => `  let ${p}${d} = (${idx} / ${u(st[d])}) % ${u(n)};`).join("\n");
}

/**
 * WGSL running `inner` at every in-bounds tap of the window of output element o0..: loops
 * (outermost axis first) binding `xi`, the operand's flat index.
 */
function overWindow(xShape: readonly number[], p: WindowParams, inner: string): string {
  const st = stridesOf(xShape);
  const open: string[] = [];
  let close = "";
  xShape.forEach((n, d) => {
    const lo = p.padding[d][0];
    const pos = (k: string) => `i32(o${d} * ${u(p.strides[d])}${k}) ${lo >= 0 ? `- ${lo}` : `+ ${-lo}`}`;
    if (p.window[d] === 1) {
      open.push(`let i${d} = ${pos("")};`, `if (i${d} >= 0 && i${d} < ${n}) {`);
    } else {
      open.push(`for (var k${d} = 0u; k${d} < ${u(p.window[d])}; k${d}++) {`, `let i${d} = ${pos(` + k${d}`)};`, `if (i${d} < 0 || i${d} >= ${n}) { continue; }`);
    }
    close += "}";
  });
  const xi = xShape.length === 0 ? "0u" : xShape.map((_, d) => `u32(i${d}) * ${u(st[d])}`).join(" + ");
  return `${open.join("\n")}\nlet xi = ${xi};\n${inner}\n${close}`;
}

const windowParams = (p: Params): WindowParams => ({ window: p.window, strides: p.strides, padding: p.padding });

/**
 * WGSL that finds the selected operand index of output element o0..'s window in `best_i`
 * (`found` false when the window covers only padding), reading the operand `x`.
 */
function selectLoop(x: ShapedArray, p: WindowParams, select: string): string {
  const T = wgslType(x.dtype);
  const better = select === "max" ? "v > best" : "v < best";
  // NaN wins and then stays, like the CPU's argmax; WGSL may assume no NaN, so test bits.
  const take = isFloat(x.dtype) ? `!found || (!isnan_(best) && (isnan_(v) || ${better}))` : `!found || ${better}`;
  return `  var found = false;
  var best = ${T}(0);
  var best_i = 0u;
${overWindow(x.shape, p, `let v = x[xi];\nif (${take}) { found = true; best = v; best_i = xi; }`)}`;
}

const floatHelpers = (dtype: DType) => (isFloat(dtype) ? helpers(["isnan"]) : []);

/** The value a max / min window of padding only produces. */
function emptyValue(select: string, dtype: DType): string {
  if (isFloat(dtype)) return literal(select === "max" ? -Infinity : Infinity, dtype);
  if (dtype === "uint32") return literal(select === "max" ? 0 : 0xffffffff, dtype);
  return literal(select === "max" ? -2147483648 : 2147483647, dtype);
}

function pass(decls: string[], n: number, body: string, bindings: Pass["bindings"]): Pass {
  return { ...perElements(decls, n, body), bindings };
}

defineWgsl("reduce_window_sum", ([x], [oa], params): GpuProgram => {
  const p = windowParams(params);
  const n = sizeOf(oa.shape);
  if (n === 0) return { passes: [] };
  const T = wgslType(x.dtype);
  const body = `${coords("o", "gi", oa.shape)}
  var acc = ${T}(0);
${overWindow(x.shape, p, "acc += x[xi];")}
  out[gi] = acc;`;
  return { passes: [pass([binding(0, "x", x.dtype), binding(1, "out", oa.dtype, true)], n, body, [{ in: 0 }, { out: 0 }])] };
});

for (const select of ["max", "min"]) {
  defineWgsl(`reduce_window_${select}`, ([x], [oa], params): GpuProgram => {
    const n = sizeOf(oa.shape);
    if (n === 0) return { passes: [] };
    const body = `${coords("o", "gi", oa.shape)}
${selectLoop(x, windowParams(params), select)}
  out[gi] = select(${emptyValue(select, x.dtype)}, best, found);`;
    return { passes: [pass([binding(0, "x", x.dtype), binding(1, "out", oa.dtype, true), ...floatHelpers(x.dtype)], n, body, [{ in: 0 }, { out: 0 }])] };
  });
}

defineWgsl("select_and_gather_add", ([t, x], [oa], params): GpuProgram => {
  const n = sizeOf(oa.shape);
  if (n === 0) return { passes: [] };
  const body = `${coords("o", "gi", oa.shape)}
${selectLoop(x, windowParams(params), params.select)}
  var r = ${wgslType(t.dtype)}(0);
  if (found) { r = t[best_i]; }
  out[gi] = r;`;
  const decls = [binding(0, "t", t.dtype), binding(1, "x", x.dtype), binding(2, "out", oa.dtype, true), ...floatHelpers(x.dtype)];
  return { passes: [pass(decls, n, body, [{ in: 0 }, { in: 1 }, { out: 0 }])] };
});

defineWgsl("select_and_scatter_add", ([s, x], [oa], params): GpuProgram => {
  const p = windowParams(params);
  const n = sizeOf(oa.shape);
  const nWin = sizeOf(s.shape);
  if (n === 0) return { passes: [] };
  const T = wgslType(s.dtype);
  // Pass 1: each window's selected operand index, or -1 for a window of padding only.
  const pick = `${coords("o", "gi", s.shape)}
${selectLoop(x, p, params.select)}
  picks[gi] = select(-1, i32(best_i), found);`;
  // Pass 2: operand element gi adds the sources of the windows that cover and selected it.
  // Along axis d, window o covers padded position a = i + lo when o·s <= a <= o·s + w - 1.
  const ost = stridesOf(s.shape);
  const open: string[] = [];
  let close = "";
  x.shape.forEach((_, d) => {
    const [w, st, lo] = [p.window[d], p.strides[d], p.padding[d][0]];
    open.push(
      `  let a${d} = i32(i${d}) ${lo >= 0 ? `+ ${lo}` : `- ${-lo}`};`,
      `  let m${d} = a${d} - ${w - 1};`,
      `  let lo${d} = select((m${d} + ${st - 1}) / ${st}, 0, m${d} <= 0);`,
      `  let hi${d} = select(min(a${d} / ${st}, ${s.shape[d] - 1}), -1, a${d} < 0);`,
      `  for (var o${d} = lo${d}; o${d} <= hi${d}; o${d}++) {`,
    );
    close += "}";
  });
  const wi = x.shape.length === 0 ? "0u" : x.shape.map((_, d) => `u32(o${d}) * ${u(ost[d])}`).join(" + ");
  const gather = `${coords("i", "gi", x.shape)}
  var acc = ${T}(0);
${open.join("\n")}
  let wi = ${wi};
  if (picks[wi] == i32(gi)) { acc += src[wi]; }
${close}
  out[gi] = acc;`;
  return {
    temps: [{ dtype: "int32", size: nWin }],
    passes: [
      pass([binding(0, "x", x.dtype), "@group(0) @binding(1) var<storage, read_write> picks: array<i32>;", ...floatHelpers(x.dtype)], nWin, pick, [{ in: 1 }, { tmp: 0 }]),
      pass([binding(0, "src", s.dtype), "@group(0) @binding(1) var<storage, read_write> picks: array<i32>;", binding(2, "out", oa.dtype, true)], n, gather, [{ in: 0 }, { tmp: 0 }, { out: 0 }]),
    ],
  };
});
