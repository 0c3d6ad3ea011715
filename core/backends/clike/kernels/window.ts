/**
 * Windowed reductions (reduce_window_sum / max / min) and the selections that differentiate
 * max and min pooling (select_and_gather_add, select_and_scatter_add), over operands of any
 * rank. Each output element walks its window's in-bounds taps in row-major order, so ties go
 * to the first position and a NaN, once seen, wins, as in the CPU's windowLoop.
 * select_and_scatter_add needs no float atomics: a first pass records each window's
 * selected operand index, and a second pass lets every operand element add up the sources
 * of the windows that selected it, in window order (so float sums equal the CPU's).
 */
import { isFloat, type DType } from "../../../dtype.ts";
import type { WindowParams } from "../../../primitives/window.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { elementwise, type Clike } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";
import type { RoutineParams } from "../../../routines.ts";

const u = (n: number) => `${n >>> 0}u`;

/** Statements declaring `${p}0..` as the row-major coordinates of flat index `idx` in `shape`. */
function coords(d: Clike, p: string, idx: string, shape: readonly number[]): string {
  const st = stridesOf(shape);
  return shape.map((n, a) => `  ${d.let(`${p}${a}`, "index", `(${idx} / ${u(st[a])}) % ${u(n)}`)}`).join("\n");
}

/**
 * Statements running `inner` at every in-bounds tap of the window of output element o0..:
 * loops (outermost axis first) binding `xi`, the operand's flat index.
 */
function overWindow(d: Clike, xShape: readonly number[], p: WindowParams, inner: string): string {
  const st = stridesOf(xShape);
  const open: string[] = [];
  let close = "";
  xShape.forEach((n, a) => {
    const lo = p.padding[a][0];
    const pos = (k: string) => `${d.cast(`(o${a} * ${u(p.strides[a])}${k})`, "index", "int32")} ${lo >= 0 ? `- ${lo}` : `+ ${-lo}`}`;
    if (p.window[a] === 1) {
      open.push(d.let(`i${a}`, "int32", pos("")), `if (i${a} >= 0 && i${a} < ${n}) {`);
    } else {
      open.push(`${d.loop(`k${a}`, "0u", `k${a} < ${u(p.window[a])}`, `k${a} += 1u`)} {`, d.let(`i${a}`, "int32", pos(` + k${a}`)), `if (i${a} < 0 || i${a} >= ${n}) { continue; }`);
    }
    close += "}";
  });
  const xi = xShape.length === 0 ? "0u" : xShape.map((_, a) => `${d.cast(`i${a}`, "int32", "index")} * ${u(st[a])}`).join(" + ");
  return `${open.join("\n")}\n${d.let("xi", "index", xi)}\n${inner}\n${close}`;
}

/**
 * Statements that find the selected operand index of output element o0..'s window in
 * `best_i` (`found` 0 when the window covers only padding), reading the operand `x`.
 */
function selectLoop(d: Clike, x: ShapedArray, p: WindowParams, select: string, use: Set<string>): string {
  const better = select === "max" ? "v > best" : "v < best";
  // NaN wins and then stays, like the CPU's argmax.
  const take = isFloat(x.dtype) ? `found == 0u || (!${d.isNan("best", use)} && (${d.isNan("v", use)} || ${better}))` : `found == 0u || ${better}`;
  return `  ${d.var("found", "index", "0u")}
  ${d.var("best", x.dtype, d.literal(0, x.dtype))}
  ${d.var("best_i", "index", "0u")}
${overWindow(d, x.shape, p, `${d.let("v", x.dtype, d.ld("x", "xi"))}\nif (${take}) { found = 1u; best = v; best_i = xi; }`)}`;
}

/** The value a max / min window of padding only produces. */
function emptyValue(d: Clike, select: string, dtype: DType): string {
  if (isFloat(dtype)) return d.literal(select === "max" ? -Infinity : Infinity, dtype);
  if (dtype === "uint32") return d.literal(select === "max" ? 0 : 0xffffffff, dtype);
  return d.literal(select === "max" ? -2147483648 : 2147483647, dtype);
}

export const reduceWindowSum: ClikeRule<RoutineParams["reduce_window_sum"]> = (d, [x], [oa], params) => {
  const n = sizeOf(oa.shape);
  if (n === 0) return { passes: [] };
  // Accumulates as the dialect sums (CUDA: floats in double, integers wrapping in unsigned).
  const A = d.sumType(x.dtype);
  const body = `${coords(d, "o", "gi", oa.shape)}
  ${d.var("acc", A, d.literal(0, A))}
${overWindow(d, x.shape, params, `acc += ${d.cast(d.ld("x", "xi"), x.dtype, A)};`)}
  ${d.st("out", "gi", d.cast("acc", A, oa.dtype))}`;
  const bufs = [
    { name: "x", dtype: x.dtype },
    { name: "out", dtype: oa.dtype, write: true },
  ];
  return { passes: [elementwise(d, bufs, [{ in: 0 }, { out: 0 }], n, body)] };
};

function reduceWindowSelect(select: "max" | "min"): ClikeRule<RoutineParams["reduce_window_max"]> {
  return (d, [x], [oa], params) => {
    const n = sizeOf(oa.shape);
    if (n === 0) return { passes: [] };
    const use = new Set<string>();
    const body = `${coords(d, "o", "gi", oa.shape)}
${selectLoop(d, x, params, select, use)}
  ${d.st("out", "gi", d.select("found != 0u", "best", emptyValue(d, select, x.dtype)))}`;
    const bufs = [
      { name: "x", dtype: x.dtype },
      { name: "out", dtype: oa.dtype, write: true },
    ];
    return { passes: [elementwise(d, bufs, [{ in: 0 }, { out: 0 }], n, body, use)] };
  };
}

export const reduceWindowMax = reduceWindowSelect("max");
export const reduceWindowMin = reduceWindowSelect("min");

export const selectAndGatherAdd: ClikeRule<RoutineParams["select_and_gather_add"]> = (d, [t, x], [oa], params) => {
  const n = sizeOf(oa.shape);
  if (n === 0) return { passes: [] };
  const use = new Set<string>();
  const body = `${coords(d, "o", "gi", oa.shape)}
${selectLoop(d, x, params, params.select, use)}
  ${d.var("r", t.dtype, d.literal(0, t.dtype))}
  if (found != 0u) { r = ${d.ld("t", "best_i")}; }
  ${d.st("out", "gi", "r")}`;
  const bufs = [
    { name: "t", dtype: t.dtype },
    { name: "x", dtype: x.dtype },
    { name: "out", dtype: oa.dtype, write: true },
  ];
  return { passes: [elementwise(d, bufs, [{ in: 0 }, { in: 1 }, { out: 0 }], n, body, use)] };
};

export const selectAndScatterAdd: ClikeRule<RoutineParams["select_and_scatter_add"]> = (d, [s, x], [oa], p) => {
  const n = sizeOf(oa.shape);
  const nWin = sizeOf(s.shape);
  if (n === 0) return { passes: [] };
  const use = new Set<string>();
  const int = (e: string) => d.cast(e, "index", "int32");
  // Pass 1: each window's selected operand index, or -1 for a window of padding only.
  const pick = `${coords(d, "o", "gi", s.shape)}
${selectLoop(d, x, p, p.select, use)}
  ${d.st("picks", "gi", d.select("found != 0u", int("best_i"), "-1"))}`;
  // Pass 2: operand element gi adds the sources of the windows that cover and selected it.
  // Along axis a, window o covers padded position q = i + lo when o·s <= q <= o·s + w - 1.
  const ost = stridesOf(s.shape);
  const open: string[] = [];
  let close = "";
  x.shape.forEach((_, a) => {
    const [w, st, lo] = [p.window[a], p.strides[a], p.padding[a][0]];
    open.push(
      `  ${d.let(`a${a}`, "int32", `${int(`i${a}`)} ${lo >= 0 ? `+ ${lo}` : `- ${-lo}`}`)}`,
      `  ${d.let(`m${a}`, "int32", `a${a} - ${w - 1}`)}`,
      `  ${d.let(`lo${a}`, "int32", d.select(`m${a} <= 0`, "0", `(m${a} + ${st - 1}) / ${st}`))}`,
      `  ${d.let(`q${a}`, "int32", `a${a} / ${st}`)}`,
      `  ${d.let(`hi${a}`, "int32", d.select(`a${a} < 0`, "-1", d.select(`q${a} < ${s.shape[a] - 1}`, `q${a}`, `${s.shape[a] - 1}`)))}`,
      `  ${d.loop(`o${a}`, `lo${a}`, `o${a} <= hi${a}`, `o${a} += 1`, "int32")} {`,
    );
    close += "}";
  });
  const wi = x.shape.length === 0 ? "0u" : x.shape.map((_, a) => `${d.cast(`o${a}`, "int32", "index")} * ${u(ost[a])}`).join(" + ");
  const gather = `${coords(d, "i", "gi", x.shape)}
  ${d.var("acc", s.dtype, d.literal(0, s.dtype))}
${open.join("\n")}
  ${d.let("wi", "index", wi)}
  if (${d.ld("picks", "wi")} == ${int("gi")}) { acc += ${d.ld("src", "wi")}; }
${close}
  ${d.st("out", "gi", "acc")}`;
  const picks = { name: "picks", dtype: "int32" as const, write: true };
  return {
    temps: [{ dtype: "int32", size: nWin }],
    passes: [
      elementwise(d, [{ name: "x", dtype: x.dtype }, picks], [{ in: 1 }, { tmp: 0 }], nWin, pick, use),
      elementwise(d, [{ name: "src", dtype: s.dtype }, picks, { name: "out", dtype: oa.dtype, write: true }], [{ in: 0 }, { tmp: 0 }, { out: 0 }], n, gather),
    ],
  };
};
