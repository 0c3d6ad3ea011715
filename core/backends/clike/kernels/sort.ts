/**
 * sort and argsort along one axis, by a bitonic network over each line padded to a power
 * of two P. Elements are (key, original position) pairs compared by key, then position,
 * so the order is total and the result equals the CPU's stable sort; padding positions
 * (>= n) sort after everything. NaNs go after numbers and -0 equals +0, as on the CPU.
 * Stages whose compare distance fits in a group's block run in group memory, so a line of
 * 2^20 elements takes 77 passes instead of 210.
 */
import { isFloat } from "../../../dtype.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { elementwise, type Buf, type Clike, type ClikePass, type Ref } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";
import type { RoutineParams } from "../../../routines.ts";

/** Invocations per group in the local stages; each block of 2 * LWG elements is sorted in group memory. */
const LWG = 256;
const BLOCK = 2 * LWG;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** `less(a, i, b, j)`: element a at line position i sorts before b at j. */
function lessFn(d: Clike, x: ShapedArray, n: number, use: Set<string>): string {
  const order = "  if (a < b) { return true; }\n  if (b < a) { return false; }";
  const cmp = isFloat(x.dtype) ? `  ${d.test("an", d.isNan("a", use))}\n  ${d.test("bn", d.isNan("b", use))}\n  if (an != bn) { return bn; }\n  if (!an) {\n${order}\n  }` : order;
  return d.fn(
    "less",
    [
      ["a", x.dtype],
      ["i", "index"],
      ["b", x.dtype],
      ["j", "index"],
    ],
    "bool",
    `  ${d.test("ap", `i >= ${n}u`)}
  ${d.test("bp", `j >= ${n}u`)}
  if (ap || bp) { return ${d.select("ap && bp", "i < j", "bp")}; }
${cmp}
  return i < j;`,
  );
}

/**
 * Passes leaving each of the `lines` lines of n elements of x sorted in scratch 0 (P per
 * line, P = nextPow2(n)) with their original positions in scratch 1. `key` is the address
 * in x of line r's element p. Works for any n (n <= 1 needs only the first pass).
 */
function lineSortPasses(d: Clike, x: ShapedArray, lines: number, n: number, key: string): ClikePass[] {
  const P = nextPow2(n);
  const total = lines * P;
  const kv: Buf = { name: "kv", dtype: x.dtype, write: true };
  const kp: Buf = { name: "kp", dtype: "uint32", write: true };
  const init = elementwise(
    d,
    [{ name: "x", dtype: x.dtype }, kv, kp],
    [{ in: 0 }, { tmp: 0 }, { tmp: 1 }],
    total,
    `  ${d.let("r", "index", `gi / ${P}u`)}
  ${d.let("p", "index", `gi % ${P}u`)}
  ${d.st("kp", "gi", "p")}
  if (p < ${n}u) { ${d.st("kv", "gi", d.ld("x", key))} } else { ${d.st("kv", "gi", d.literal(0, x.dtype))} }`,
  );
  const passes = [init];
  if (P === 1) return passes;
  const use = new Set<string>();
  const fns = [lessFn(d, x, n, use)];
  const bindings: Ref[] = [{ tmp: 0 }, { tmp: 1 }];
  // Direction of a pair at flat index f for merge size k: ascending where bit k of its line position is 0.
  const asc = (f: string, k: string) => `(((${f} & ${P - 1}u) & ${k}) == 0u)`;
  // Pairs of group memory (`sv`, `sp`) are indexed directly, pairs of storage go through the dialect's hooks.
  const local = { ld: (a: string, i: string) => `${a}[${i}]`, st: (a: string, i: string, v: string) => `${a}[${i}] = ${v};` };
  const swap = (
    i: string,
    l: string,
    a: string,
    b: string,
    dir: string,
    m: Pick<Clike, "ld" | "st"> = local,
  ) => `${d.let("x", x.dtype, m.ld(a, i))} ${d.let("xp", "index", m.ld(b, i))} ${d.let("y", x.dtype, m.ld(a, l))} ${d.let("yp", "index", m.ld(b, l))}
  if (less(y, yp, x, xp) == ${dir}) { ${m.st(a, i, "y")} ${m.st(b, i, "yp")} ${m.st(a, l, "x")} ${m.st(b, l, "xp")} }`;
  const localPass = (kFrom: number, kTo: number, jFirst: number): ClikePass => {
    const body = `  ${d.let("start", "index", `grp * ${BLOCK}u`)}
  ${d.let("a", "index", "start + lid")}
  ${d.let("b", "index", `a + ${LWG}u`)}
  if (a < ${total}u) { sv[lid] = ${d.ld("kv", "a")}; sp[lid] = ${d.ld("kp", "a")}; }
  if (b < ${total}u) { sv[lid + ${LWG}u] = ${d.ld("kv", "b")}; sp[lid + ${LWG}u] = ${d.ld("kp", "b")}; }
  ${d.var("j", "index", `${jFirst}u`)}
  ${d.loop("k", `${kFrom}u`, `k <= ${kTo}u`, "k <<= 1u")} {
    for (; j > 0u; j >>= 1u) {
      ${d.barrier}
      ${d.let("i", "index", "((lid / j) * 2u * j) + lid % j")}
      ${d.let("l", "index", "i + j")}
      if (start + l < ${total}u) {
        ${swap("i", "l", "sv", "sp", asc("(start + i)", "k"))}
      }
    }
    j = k;
  }
  ${d.barrier}
  if (a < ${total}u) { ${d.st("kv", "a", "sv[lid]")} ${d.st("kp", "a", "sp[lid]")} }
  if (b < ${total}u) { ${d.st("kv", "b", `sv[lid + ${LWG}u]`)} ${d.st("kp", "b", `sp[lid + ${LWG}u]`)} }`;
    const shared: [string, string, number][] = [
      ["sv", d.type(x.dtype), BLOCK],
      ["sp", d.type("index"), BLOCK],
    ];
    return { code: d.module({ bufs: [kv, kp], threads: LWG, body, helpers: use, fns, shared }), bindings, groups: Math.max(1, Math.ceil(total / BLOCK)), threads: LWG };
  };
  const globalPass = (k: number, j: number): ClikePass =>
    elementwise(
      d,
      [kv, kp],
      bindings,
      total / 2,
      `  ${d.let("i", "index", `((gi / ${j}u) * ${2 * j}u) + gi % ${j}u`)}
  ${d.let("l", "index", `i + ${j}u`)}
  ${swap("i", "l", "kv", "kp", asc("i", `${k}u`), d)}`,
      use,
      fns,
    );
  const kLocal = Math.min(P, BLOCK);
  passes.push(localPass(2, kLocal, 1));
  for (let k = 2 * BLOCK; k <= P; k *= 2) {
    for (let j = k / 2; j >= BLOCK; j /= 2) passes.push(globalPass(k, j));
    passes.push(localPass(k, k, BLOCK / 2));
  }
  return passes;
}

function sortRule(arg: boolean): ClikeRule<RoutineParams["sort"]> {
  return (d, [x], [out], { axis }) => {
    const n = x.shape[axis];
    const inner = stridesOf(x.shape)[axis];
    const size = sizeOf(x.shape);
    const lines = n === 0 ? 0 : size / n;
    const P = nextPow2(n);
    // Line r is (o, j) = (r / inner, r % inner); its element p sits at o * n * inner + p * inner + j.
    const at = (r: string, p: string) => `(${r} / ${inner}u) * ${n * inner}u + ${r} % ${inner}u + ${p} * ${inner}u`;
    const passes = lineSortPasses(d, x, lines, n, at("r", "p"));
    // The sorted values are gathered from x by position, so their bits pass through untouched.
    const body = `  ${d.let("o", "index", `gi / ${n * inner}u`)}
  ${d.let("rem", "index", `gi % ${n * inner}u`)}
  ${d.let("p", "index", `rem / ${inner}u`)}
  ${d.let("r", "index", `o * ${inner}u + rem % ${inner}u`)}
  ${d.let("q", "index", d.ld("kp", `r * ${P}u + p`))}
  ${d.st("out", "gi", arg ? d.cast("q", "index", out.dtype) : d.ld("x", at("r", "q")))}`;
    const bufs = [
      { name: "x", dtype: x.dtype },
      { name: "kp", dtype: "uint32" as const, write: true },
      { name: "out", dtype: out.dtype, write: true },
    ];
    passes.push(elementwise(d, bufs, [{ in: 0 }, { tmp: 1 }, { out: 0 }], size, body));
    return {
      passes,
      temps: [
        { dtype: x.dtype, size: lines * P },
        { dtype: "uint32", size: lines * P },
      ],
    };
  };
}

export const sort = sortRule(false);
export const argsort = sortRule(true);
