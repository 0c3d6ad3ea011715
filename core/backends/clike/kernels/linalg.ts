/**
 * The linalg family: expm, expm_frechet, solve, det, log_abs_det, det_sign. One invocation
 * per matrix runs the CPU kernel's algorithm (core/primitives/linalg.ts) at the operand's
 * precision (WGSL: f32): LU with partial pivoting and the same exactly-zero-pivot rule
 * (solve gives NaN, det 0, log_abs_det -inf, det_sign 0), and for expm the same Padé degree
 * choice (Higham 2005 thetas) and scaling and squaring.
 *
 * Each matrix's working matrices live in per-invocation state when they fit in
 * PRIVATE_FLOATS (a 3x3 expm needs 72 floats, so n <= 8 for expm, n <= 4 for expm_frechet,
 * n <= 22 for the LU kernels), otherwise in a slice of a scratch storage buffer, so any n
 * works (up to what one storage buffer of batch * workspace floats allows).
 *
 * Compile time: shader compilers inline every function call and fully unroll loops with
 * constant bounds, which made a straight-line 3x3 expm take lavapipe 20 s to compile (and
 * an 8x8 solve 12 s). So the sizes reach the loops as run-time values (see `sizeVars`),
 * expm interprets its Padé evaluation as a list of ops with one call site per matrix
 * routine, and where the dialect can read buffer lengths (WGSL) the matrix count comes
 * from them: one pipeline per n serves every batch size.
 */
import type { DType } from "../../../dtype.ts";
import { PADE, THETA, THETA13 } from "../../pade.ts";
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { groupsFor, type Buf, type Clike, type ClikeProgram, type Ref } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";

/**
 * Workspace floats per invocation kept in private memory (2 KiB); WGSL implementations
 * cap private memory (Tint: 8 KiB), and large private arrays spill on real GPUs anyway.
 */
const PRIVATE_FLOATS = 512;
/** Invocations per group. */
const THREADS = 64;

/** Element `e` of a workspace: read by calling, written by `set` (storage goes through the dialect's hooks). */
interface At {
  (e: string): string;
  /** The statement `[e] = v`, or with `op`, `[e] op= v`. */
  set(e: string, v: string, op?: string): string;
}

const cells = (get: (e: string) => string, set: At["set"]): At => Object.assign(get, { set });

/** Where one invocation's workspace of `floats` floats lives; binding `k` if in storage. */
interface Workspace {
  bufs: Buf[];
  state: string[];
  at: At;
  /** Statements at the top of the body (picks the invocation's slice). */
  enter: string;
  /** [buffer, elements per matrix] bounding the matrix count. */
  counts: [string, number][];
  bindings: Ref[];
  temps: { dtype: DType; size: number }[];
}

function workspace(d: Clike, T: DType, floats: number, batch: number): Workspace {
  const none = { bufs: [], state: [], enter: "", counts: [], bindings: [], temps: [] };
  if (floats === 0)
    return {
      ...none,
      at: cells(
        () => d.literal(0, T),
        () => "",
      ),
    };
  const local: At["set"] = (e, v, op = "") => `w[${e}] ${op}= ${v};`;
  if (floats <= PRIVATE_FLOATS) return { ...none, state: [d.state("w", T, floats)], at: cells((e) => `w[${e}]`, local) };
  const stored: At["set"] = (e, v, op) => d.st("ws", `wb + ${e}`, v, op);
  return {
    bufs: [{ name: "ws", dtype: T, write: true }],
    state: [d.state("wb", "index")],
    at: cells((e) => d.ld("ws", `wb + ${e}`), stored),
    enter: `  wb = gi * ${floats}u;`,
    counts: [["ws", floats]],
    bindings: [{ tmp: 0 }],
    temps: [{ dtype: T, size: batch * floats }],
  };
}

/** The dialect's spelling of the pieces these kernels use, at float type T. */
function kit(d: Clike, T: DType) {
  const lit = (v: number) => d.literal(v, T);
  /** Loops `v` over [from, to) (unsigned expressions). */
  const loop = (v: string, from: string, to: string, body: string) => `${d.loop(v, from, `${v} < ${to}`, `${v} += 1u`)} { ${body} }`;
  return { lit, loop, abs: (x: string) => d.math("abs", T, [x]) };
}

/**
 * The run-time sizes: RM, the size of the matrices the LU and expm routines work on; RN,
 * the input's n; RK, the right-hand side's columns. The opaque zero is always 0; adding it
 * changes nothing but keeps the compiler from unrolling the loops these bound.
 */
const sizeState = (d: Clike) => ["RM", "RN", "RK"].map((n) => d.state(n, "index"));
const sizeVars = (d: Clike, m: number, n: number, k: number) => `  RM = ${m}u + ${d.opaqueZero};\n  RN = ${n}u + ${d.opaqueZero};\n  RK = ${k}u + ${d.opaqueZero};`;

interface MatrixKernel {
  bufs: Buf[];
  ws: Workspace;
  /** [buffer, elements per matrix] bounding the matrix count, besides the workspace's. */
  counts: [string, number][];
  batch: number;
  sizes: string;
  body: string;
  state?: string[];
  closures?: string[];
  fns?: string[];
  helpers?: Set<string>;
}

/**
 * A module with one invocation `gi` per matrix. Where the dialect reads buffer lengths the
 * matrix count is the smallest length / per-matrix size over the buffers, not a constant.
 */
function matrixKernel(d: Clike, k: MatrixKernel): string {
  const lengths = [...k.counts, ...k.ws.counts].map(([b, per]) => {
    const len = d.runtimeLength(b);
    return len === null ? null : `${len} / ${per}u`;
  });
  const count = lengths.every((l) => l !== null) && lengths.length > 0 ? lengths.reduce((acc, c) => (acc ? `min(${acc}, ${c})` : c!), "") : `${k.batch}u`;
  const body = `  ${d.let("gi", "index", `grp * ${THREADS}u + lid`)}
  if (gi >= ${count}) { return; }
${k.sizes}
${k.ws.enter}
${k.body}`;
  return d.module({ bufs: [...k.bufs, ...k.ws.bufs], threads: THREADS, body, state: [...sizeState(d), ...k.ws.state, ...(k.state ?? [])], closures: k.closures, fns: k.fns, helpers: k.helpers });
}

/**
 * LU with partial pivoting of the RM x RM matrix at workspace offset q, in place; pivots go
 * to `piv` (state). Returns the permutation's sign, or 0 at the first exactly zero pivot column.
 */
function luFn(d: Clike, T: DType, at: At): string {
  const { lit, loop, abs } = kit(d, T);
  const A = (i: string, j: string) => at(`q + ${i} * RM + ${j}`);
  const setA = (i: string, j: string, v: string, op?: string) => at.set(`q + ${i} * RM + ${j}`, v, op);
  return d.closure(
    "lu",
    [["q", "index"]],
    T,
    `  ${d.var("sg", T, lit(1))}
  ${d.loop("k", "0u", "k < RM", "k += 1u")} {
    ${d.var("p", "index", "k")}
    ${d.var("best", T, abs(A("k", "k")))}
    ${loop("i", "k + 1u", "RM", `${d.let("v", T, abs(A("i", "k")))} if (v > best) { best = v; p = i; }`)}
    piv[k] = p;
    if (best == ${lit(0)}) { return ${lit(0)}; }
    if (p != k) {
      ${loop("j", "0u", "RM", `${d.let("t", T, A("k", "j"))} ${setA("k", "j", A("p", "j"))} ${setA("p", "j", "t")}`)}
      sg = -sg;
    }
    ${d.let("dk", T, A("k", "k"))}
    ${d.loop("i", "k + 1u", "i < RM", "i += 1u")} {
      ${d.let("f", T, `${A("i", "k")} / dk`)}
      ${setA("i", "k", "f")}
      if (f != ${lit(0)}) { ${loop("j", "k + 1u", "RM", setA("i", "j", `f * ${A("k", "j")}`, "-"))} }
    }
  }
  return sg;`,
  );
}

/** Solves (LU at q) X = B in place for B of shape RM x `cols`, as the CPU's luSolve. */
function luSolveFn(d: Clike, T: DType, at: At, params: [string, "index"][], B: (i: string, j: string) => string, setB: (i: string, j: string, v: string, op?: string) => string, cols: string): string {
  const { lit, loop } = kit(d, T);
  const L = (i: string, j: string) => at(`q + ${i} * RM + ${j}`);
  const rowOp = (i: string, r: string) => `${d.let("f", T, L(i, r))} if (f != ${lit(0)}) { ${loop("j", "0u", cols, setB(i, "j", `f * ${B(r, "j")}`, "-"))} }`;
  return d.closure(
    "lus",
    [["q", "index"], ...params],
    "void",
    `  ${d.loop("i", "0u", "i < RM", "i += 1u")} {
    ${d.let("pv", "index", "piv[i]")}
    if (pv != i) { ${loop("j", "0u", cols, `${d.let("t", T, B("i", "j"))} ${setB("i", "j", B("pv", "j"))} ${setB("pv", "j", "t")}`)} }
  }
  ${d.loop("i", "0u", "i < RM", "i += 1u")} { ${loop("r", "0u", "i", rowOp("i", "r"))} }
  ${d.loop("ii", "0u", "ii < RM", "ii += 1u")} {
    ${d.let("i", "index", "RM - 1u - ii")}
    ${loop("r", "i + 1u", "RM", rowOp("i", "r"))}
    ${d.let("di", T, L("i", "i"))}
    ${loop("j", "0u", cols, setB("i", "j", "di", "/"))}
  }`,
  );
}

// ---------------------------------------------------------------- expm

// Padé coefficients and thetas are the CPU's (core/primitives/linalg.ts), so both pick the same degree and scaling.

/** Matrices of the expm workspace, in units of m*m floats: the input A first. */
const [A, A2, A4, A6, T1, T2, U, V] = [0, 1, 2, 3, 4, 5, 6, 7];
const EXPM_MATS = 8;

// The Padé evaluations are op lists that one loop interprets, so each matrix routine has
// one call site (see the file comment).
const Op = { Zero: 0, Axpy: 1, AddId: 2, Mul: 3, Solve: 4 } as const;
type Instr = [op: number, dest: number, a: number, b: number, coef: number];

function padeOps(deg: number): Instr[] {
  const b = PADE[deg];
  const zero = (d: number): Instr => [Op.Zero, d, 0, 0, 0];
  const ax = (d: number, a: number, c: number): Instr => [Op.Axpy, d, a, 0, c];
  const addId = (d: number, c: number): Instr => [Op.AddId, d, 0, 0, c];
  const mul = (d: number, a: number, x: number): Instr => [Op.Mul, d, a, x, 0];
  const solve: Instr = [Op.Solve, 0, 0, 0, 0];
  if (deg < 13) {
    // U = A sum b_{2j+1} A2^j, V = sum b_{2j} A2^j, with the powers formed as the CPU does.
    const ops = [mul(A2, A, A), zero(T2), zero(V), addId(T2, b[1]), addId(V, b[0]), ax(T2, A2, b[3]), ax(V, A2, b[2])];
    const powers = [A2, A4, A6, T1];
    for (let j = 2; j < (deg + 1) / 2; j++) ops.push(mul(powers[j - 1], powers[j - 2], A2), ax(T2, powers[j - 1], b[2 * j + 1]), ax(V, powers[j - 1], b[2 * j]));
    return [...ops, mul(U, A, T2), solve];
  }
  // Higham's evaluation scheme: 6 products for degree 13.
  return [
    mul(A2, A, A),
    mul(A4, A2, A2),
    mul(A6, A4, A2),
    zero(T1),
    ax(T1, A6, b[13]),
    ax(T1, A4, b[11]),
    ax(T1, A2, b[9]),
    mul(T2, A6, T1),
    zero(T1),
    ax(T1, T2, 1),
    ax(T1, A6, b[7]),
    ax(T1, A4, b[5]),
    ax(T1, A2, b[3]),
    addId(T1, b[1]),
    mul(U, A, T1),
    zero(T1),
    ax(T1, A6, b[12]),
    ax(T1, A4, b[10]),
    ax(T1, A2, b[8]),
    mul(T2, A6, T1),
    zero(V),
    ax(V, T2, 1),
    ax(V, A6, b[6]),
    ax(V, A4, b[4]),
    ax(V, A2, b[2]),
    addId(V, b[0]),
    solve,
  ];
}

/**
 * The tables, state and closures of `expm()`: exp of the RM x RM matrix at workspace offset
 * 0 (which it overwrites), returning the offset of the result.
 */
function expmParts(d: Clike, T: DType, m: number, W: At, use: Set<string>): { fns: string[]; state: string[]; closures: string[] } {
  const { lit, loop, abs } = kit(d, T);
  const programs = [3, 5, 7, 9, 13].map(padeOps);
  const starts = programs.map((_, i) => programs.slice(0, i).reduce((t, p) => t + p.length, 0));
  const all = programs.flat();
  const words = all.map(([op, dst, a, b]) => `${op | (dst << 4) | (a << 8) | (b << 12)}u`);
  const range = (i: number) => `start = ${starts[i]}u; end = ${starts[i] + programs[i].length}u;`;
  const mat = (k: number) => `${k}u * mm`;
  const norm1 = d.closure(
    "norm1",
    [],
    T,
    `  ${d.var("best", T, lit(0))}
  ${d.loop("j", "0u", "j < RM", "j += 1u")} {
    ${d.var("s", T, lit(0))}
    ${loop("i", "0u", "RM", `s += ${abs(W("i * RM + j"))};`)}
    if (${d.isNan("s", use)} || ${d.isInf("s", T, use)}) { return ${lit(-1)}; }
    best = ${d.math("max", T, ["best", "s"])};
  }
  return best;`,
  );
  const expm = d.closure(
    "expm",
    [],
    "index",
    `  ${d.let("mm", "index", "RM * RM")}
  ${d.let("nrm", T, "norm1()")}
  if (nrm < ${lit(0)}) { ${loop("i", "0u", "mm", W.set("i", lit(NaN)))} return 0u; }
  ${d.var("start", "index", "0u")}
  ${d.var("end", "index", "0u")}
  ${d.var("s", "index", "0u")}
  ${THETA.map(([, th], i) => `if (nrm <= ${lit(th)}) { ${range(i)} }`).join(" else ")} else {
    ${range(4)}
    // s = ceil(log2(nrm / theta13)) by exact halvings, then A / 2^s (exact too).
    ${d.var("scaled", T, "nrm")}
    while (scaled > ${lit(THETA13)}) { scaled = scaled * ${lit(0.5)}; s += 1u; }
    ${loop("i", "0u", "mm", W.set("i", d.math("ldexp", T, [W("i"), `-${d.cast("s", "index", "int32")}`])))}
  }
  // The Padé ops (result in T1), then s squarings ping-ponging between T1 and T2.
  ${d.var("pc", "index", "start")}
  ${d.var("r", "index", mat(T1))}
  ${d.var("t", "index", mat(T2))}
  for (;;) {
    ${d.var("op", "index", "0u")}
    ${d.var("dst", "index", "0u")}
    ${d.var("a", "index", "0u")}
    ${d.var("b", "index", "0u")}
    ${d.var("c", T, lit(0))}
    if (pc < end) {
      ${d.let("word", "index", "OPS[pc]")}
      op = word & 15u;
      dst = ((word >> 4u) & 15u) * mm;
      a = ((word >> 8u) & 15u) * mm;
      b = (word >> 12u) * mm;
      c = COEF[pc];
      pc += 1u;
    } else if (s > 0u) {
      op = ${Op.Mul}u; dst = t; a = r; b = r;
      t = r; r = dst; s -= 1u;
    } else {
      break;
    }
    switch (op) {
      case ${Op.Zero}u: { ${loop("i", "0u", "mm", W.set("dst + i", lit(0)))} break; }
      case ${Op.Axpy}u: { ${loop("i", "0u", "mm", W.set("dst + i", `c * ${W("a + i")}`, "+"))} break; }
      case ${Op.AddId}u: { ${loop("i", "0u", "RM", W.set("dst + i * (RM + 1u)", "c", "+"))} break; }
      case ${Op.Mul}u: {
        ${d.loop("i", "0u", "i < RM", "i += 1u")} {
          ${d.loop("j", "0u", "j < RM", "j += 1u")} {
            ${d.var("acc", T, lit(0))}
            ${loop("k", "0u", "RM", `acc += ${W("a + i * RM + k")} * ${W("b + k * RM + j")};`)}
            ${W.set("dst + i * RM + j", "acc")}
          }
        }
        break;
      }
      default: {
        // r_m(A) = (V - U)^-1 (V + U) into T1; Q = V - U is well conditioned for ||A||_1 <= theta_m.
        ${loop("i", "0u", "mm", `${d.let("u", T, W(`${mat(U)} + i`))} ${d.let("v", T, W(`${mat(V)} + i`))} ${W.set(`${mat(T1)} + i`, "v + u")} ${W.set(`${mat(T2)} + i`, "v - u")}`)}
        ${d.let("qs", T, `lu(${mat(T2)})`)}
        lus(${mat(T2)}, ${mat(T1)});
        break;
      }
    }
  }
  return r;`,
  );
  return {
    fns: [
      d.table("OPS", "index", words),
      d.table(
        "COEF",
        T,
        all.map((i) => lit(i[4])),
      ),
    ],
    state: [d.state("piv", "index", Math.max(1, m))],
    closures: [
      luFn(d, T, W),
      luSolveFn(
        d,
        T,
        W,
        [["bo", "index"]],
        (i, j) => W(`bo + ${i} * RM + ${j}`),
        (i, j, v, op) => W.set(`bo + ${i} * RM + ${j}`, v, op),
        "RM",
      ),
      norm1,
      expm,
    ],
  };
}

function expmBody(d: Clike, T: DType, W: At): string {
  const { loop } = kit(d, T);
  return `  ${d.let("g", "index", "gi * RN * RN")}
  ${loop("i", "0u", "RN * RN", W.set("i", d.ld("a", "g + i")))}
  ${d.let("r", "index", "expm()")}
  ${loop("i", "0u", "RN * RN", d.st("out", "g + i", W("r + i")))}`;
}

// L(A, E) is the top-right block of exp([[A, E], [0, A]]), E first scaled to the norm of A
// as on the CPU (L is linear in E), so the block matrix's norm stays within 2 ||A||_1.
function frechetBody(d: Clike, T: DType, W: At, use: Set<string>): string {
  const { lit, loop, abs } = kit(d, T);
  const bad = (v: string) => `${d.isNan(v, use)} || ${d.isInf(v, T, use)}`;
  return `  ${d.let("g", "index", "gi * RN * RN")}
  ${d.var("na", T, lit(0))}
  ${d.var("ne", T, lit(0))}
  ${d.loop("j", "0u", "j < RN", "j += 1u")} {
    ${d.var("sa", T, lit(0))}
    ${d.var("se", T, lit(0))}
    ${loop("i", "0u", "RN", `sa += ${abs(d.ld("a", "g + i * RN + j"))}; se += ${abs(d.ld("e", "g + i * RN + j"))};`)}
    if (${bad("sa")} || ${bad("se")}) { ${loop("i", "0u", "RN * RN", d.st("out", "g + i", lit(NaN)))} return; }
    na = ${d.math("max", T, ["na", "sa"])};
    ne = ${d.math("max", T, ["ne", "se"])};
  }
  if (ne == ${lit(0)}) { ${loop("i", "0u", "RN * RN", d.st("out", "g + i", lit(0)))} return; }
  ${d.let("c", T, `${d.select(`na > ${lit(0)}`, "na", lit(1))} / ne`)}
  ${loop("i", "0u", "RM * RM", W.set("i", lit(0)))}
  ${d.loop("i", "0u", "i < RN", "i += 1u")} {
    ${d.loop("j", "0u", "j < RN", "j += 1u")} {
      ${d.let("v", T, d.ld("a", "g + i * RN + j"))}
      ${W.set("i * RM + j", "v")}
      ${W.set("(i + RN) * RM + RN + j", "v")}
      ${W.set("i * RM + RN + j", `c * ${d.ld("e", "g + i * RN + j")}`)}
    }
  }
  ${d.let("r", "index", "expm()")}
  ${d.loop("i", "0u", "i < RN", "i += 1u")} { ${loop("j", "0u", "RN", d.st("out", "g + i * RN + j", `${W("r + i * RM + RN + j")} / c`))} }`;
}

/** [n, number of matrices] of a stack [..., n, n]. */
const sizes = (a: ShapedArray): [number, number] => [a.shape[a.shape.length - 1], sizeOf(a.shape.slice(0, -2))];

function expmRule(frechet: boolean): ClikeRule {
  return (d, [a], [out]): ClikeProgram => {
    const [n, batch] = sizes(a);
    const T = out.dtype;
    const m = frechet ? 2 * n : n;
    const use = new Set<string>();
    const ws = workspace(d, T, EXPM_MATS * m * m, batch);
    const parts = expmParts(d, T, m, ws.at, use);
    const bufs: Buf[] = [{ name: "a", dtype: T }, ...(frechet ? [{ name: "e", dtype: T }] : []), { name: "out", dtype: T, write: true }];
    const body = frechet ? frechetBody(d, T, ws.at, use) : expmBody(d, T, ws.at);
    const code = matrixKernel(d, { bufs, ws, counts: [["out", n * n]], batch, sizes: sizeVars(d, m, n, m), body, ...parts, helpers: use });
    const bindings: Ref[] = [{ in: 0 }, ...(frechet ? [{ in: 1 }] : []), { out: 0 }, ...ws.bindings];
    return { passes: [{ code, bindings, groups: groupsFor(batch, THREADS), threads: THREADS }], temps: ws.temps };
  };
}

export const expm = expmRule(false);
export const expmFrechet = expmRule(true);

// ---------------------------------------------------------------- solve

export const solve: ClikeRule = (d, [a], [out]) => {
  const [n, batch] = sizes(a);
  const T = out.dtype;
  const { lit, loop } = kit(d, T);
  const k = out.shape[out.shape.length - 1];
  const ws = workspace(d, T, n * n, batch);
  // The right-hand side is solved in place in the output.
  const B = (i: string, j: string) => d.ld("out", `ob + ${i} * RK + ${j}`);
  const setB = (i: string, j: string, v: string, op?: string) => d.st("out", `ob + ${i} * RK + ${j}`, v, op);
  const body = `  ob = gi * RM * RK;
  ${loop("i", "0u", "RM * RM", ws.at.set("i", d.ld("a", "gi * RM * RM + i")))}
  ${loop("i", "0u", "RM * RK", d.st("out", "ob + i", d.ld("b", "ob + i")))}
  if (lu(0u) == ${lit(0)}) { ${loop("i", "0u", "RM * RK", d.st("out", "ob + i", lit(NaN)))} return; }
  lus(0u);`;
  const bufs: Buf[] = [
    { name: "a", dtype: T },
    { name: "b", dtype: T },
    { name: "out", dtype: T, write: true },
  ];
  const code = matrixKernel(d, {
    bufs,
    ws,
    counts: [["out", n * k]],
    batch,
    sizes: sizeVars(d, n, n, k),
    body,
    state: [d.state("ob", "index"), d.state("piv", "index", Math.max(1, n))],
    closures: [luFn(d, T, ws.at), luSolveFn(d, T, ws.at, [], B, setB, "RK")],
  });
  return { passes: [{ code, bindings: [{ in: 0 }, { in: 1 }, { out: 0 }, ...ws.bindings], groups: groupsFor(batch, THREADS), threads: THREADS }], temps: ws.temps };
};

// ---------------------------------------------------------------- det, log_abs_det, det_sign

/**
 * A kernel writing one scalar per matrix from its LU factors: `fromLu` sets `r` (initially
 * the permutation's sign `sg`, 0 if singular) from the diagonal entries `dg(i)`.
 */
function luScalar(empty: number, fromLu: (d: Clike, T: DType, dg: (i: string) => string) => string): ClikeRule {
  return (d, [a], [out]) => {
    const [n, batch] = sizes(a);
    const T = out.dtype;
    const bufs: Buf[] = [
      { name: "a", dtype: T },
      { name: "out", dtype: T, write: true },
    ];
    const groups = groupsFor(batch, THREADS);
    if (n === 0) {
      // An empty matrix has determinant 1.
      const code = matrixKernel(d, { bufs, ws: workspace(d, T, 0, batch), counts: [["out", 1]], batch, sizes: "", body: `  ${d.st("out", "gi", d.literal(empty, T))}` });
      return { passes: [{ code, bindings: [{ in: 0 }, { out: 0 }], groups, threads: THREADS }] };
    }
    const ws = workspace(d, T, n * n, batch);
    const body = `  ${kit(d, T).loop("i", "0u", "RM * RM", ws.at.set("i", d.ld("a", "gi * RM * RM + i")))}
  ${d.let("sg", T, "lu(0u)")}
  ${d.var("r", T, "sg")}
  ${fromLu(d, T, (i) => ws.at(`${i} * (RM + 1u)`))}
  ${d.st("out", "gi", "r")}`;
    const code = matrixKernel(d, { bufs, ws, counts: [["out", 1]], batch, sizes: sizeVars(d, n, n, 0), body, state: [d.state("piv", "index", Math.max(1, n))], closures: [luFn(d, T, ws.at)] });
    return { passes: [{ code, bindings: [{ in: 0 }, { out: 0 }, ...ws.bindings], groups, threads: THREADS }], temps: ws.temps };
  };
}

export const det = luScalar(1, (d, T, dg) => kit(d, T).loop("i", "0u", "RM", `if (r == ${d.literal(0, T)}) { break; } r *= ${dg("i")};`));
export const logAbsDet = luScalar(
  0,
  (d, T, dg) =>
    `if (sg == ${d.literal(0, T)}) { r = ${d.literal(-Infinity, T)}; } else { r = ${d.literal(0, T)}; ${kit(d, T).loop("i", "0u", "RM", `r += ${d.math("log", T, [d.math("abs", T, [dg("i")])])};`)} }`,
);
export const detSign = luScalar(1, (d, T, dg) => kit(d, T).loop("i", "0u", "RM", `if (r == ${d.literal(0, T)}) { break; } r *= ${d.math("sign", T, [dg("i")])};`));
