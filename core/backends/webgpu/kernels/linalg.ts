/**
 * The linalg family on WebGPU: expm, expm_frechet, solve, det, log_abs_det, det_sign.
 * One invocation per matrix runs the CPU kernel's algorithm (core/primitives/linalg.ts)
 * in float32: LU with partial pivoting and the same exactly-zero-pivot rule (solve gives
 * NaN, det 0, log_abs_det -inf, det_sign 0), and for expm the same Padé degree choice
 * (Higham 2005 thetas) and scaling and squaring.
 *
 * Each matrix's working matrices live in private memory when they fit in PRIVATE_FLOATS
 * (a 3x3 expm needs 72 floats, so n <= 8 for expm, n <= 4 for expm_frechet, n <= 22 for
 * the LU kernels), otherwise in a slice of a scratch storage buffer, so any n works (up to
 * what one storage buffer of batch * workspace floats allows).
 *
 * Compile time: shader compilers inline every function call and fully unroll loops with
 * constant bounds, which made a straight-line 3x3 expm take lavapipe 20 s to compile (and
 * an 8x8 solve 12 s). So the sizes reach the loops as run-time values (see `sizeVars`),
 * expm interprets its Padé evaluation as a list of ops with one call site per matrix
 * routine, and the matrix count comes from the buffer lengths: one pipeline per n serves
 * every batch size.
 */
import type { DType } from "../../../dtype.ts";
import { PADE, THETA, THETA13 } from "../../pade.ts";
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineWgsl, type GpuProgram, type Ref } from "../program.ts";
import { binding, groups, helpers, LINEAR_WORKGROUP, literal, MAIN_ARGS, WG } from "../wgsl.ts";

/**
 * Workspace floats per invocation kept in private memory (2 KiB); WGSL implementations
 * cap private memory (Tint: 8 KiB), and large private arrays spill on real GPUs anyway.
 */
const PRIVATE_FLOATS = 512;

type At = (e: string) => string;

/** Where one invocation's workspace of `floats` floats lives; binding `k` if in storage. */
interface Workspace {
  decls: string[];
  at: At;
  /** Statements at the top of `main` (picks the invocation's slice). */
  enter: string;
  /** The matrix count the scratch buffer has room for ("" in private memory). */
  count: string;
  bindings: Ref[];
  temps: { dtype: DType; size: number }[];
}

function workspace(floats: number, batch: number, k: number): Workspace {
  if (floats === 0) return { decls: [], at: () => "0.0", enter: "", count: "", bindings: [], temps: [] };
  if (floats <= PRIVATE_FLOATS) {
    return { decls: [`var<private> w: array<f32, ${floats}>;`], at: (e) => `w[${e}]`, enter: "", count: "", bindings: [], temps: [] };
  }
  return {
    decls: [binding(k, "ws", "float32", true), "var<private> wb: u32;"],
    at: (e) => `ws[wb + ${e}]`,
    enter: `  wb = gi * ${floats}u;`,
    count: `arrayLength(&ws) / ${floats}u`,
    bindings: [{ tmp: 0 }],
    temps: [{ dtype: "float32", size: batch * floats }],
  };
}

const NAN = literal(NaN, "float32");
const f32 = (v: number) => literal(v, "float32");

/** Loops `v` over [from, to) (u32 expressions). */
const loop = (v: string, from: string, to: string, body: string) => `for (var ${v} = ${from}; ${v} < ${to}; ${v}++) { ${body} }`;

/**
 * The run-time sizes: RM, the size of the matrices the LU and expm routines work on; RN,
 * the input's n; RK, the right-hand side's columns. wid.z is always 0 (the runtime's grids
 * are 2-D, which LINEAR_WORKGROUP relies on too), so adding it changes nothing but keeps
 * the compiler from unrolling the loops these bound.
 */
const SIZE_DECLS = "var<private> RM: u32;\nvar<private> RN: u32;\nvar<private> RK: u32;";
const sizeVars = (m: number, n: number, k: number) => `  RM = ${m}u + wid.z;\n  RN = ${n}u + wid.z;\n  RK = ${k}u + wid.z;`;

/**
 * A kernel with one invocation `gi` per matrix. The matrix count is the smallest of
 * arrayLength(&buf) / perMatrix over `counts` (and the scratch buffer), not a constant.
 */
function matrixKernel(decls: string[], counts: [string, number][], ws: Workspace, sizes: string, body: string): string {
  const count = [...counts.map(([b, per]) => `arrayLength(&${b}) / ${per}u`), ...(ws.count ? [ws.count] : [])]
    .reduce((acc, c) => (acc ? `min(${acc}, ${c})` : c), "");
  return `${[SIZE_DECLS, ...decls].join("\n")}
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  let gi = ${LINEAR_WORKGROUP} * ${WG}u + lid;
  if (gi >= ${count}) { return; }
${sizes}
${ws.enter}
${body}
}
`;
}

/**
 * LU with partial pivoting of the RM x RM matrix at workspace offset q, in place; pivots go
 * to `piv`. Returns the permutation's sign, or 0 at the first exactly zero pivot column.
 */
function luFn(m: number, at: At): string {
  const A = (i: string, j: string) => at(`q + ${i} * RM + ${j}`);
  return `var<private> piv: array<u32, ${m}>;
fn lu(q: u32) -> f32 {
  var sg = 1.0;
  for (var k = 0u; k < RM; k++) {
    var p = k;
    var best = abs(${A("k", "k")});
    ${loop("i", "k + 1u", "RM", `let v = abs(${A("i", "k")}); if (v > best) { best = v; p = i; }`)}
    piv[k] = p;
    if (best == 0.0) { return 0.0; }
    if (p != k) {
      ${loop("j", "0u", "RM", `let t = ${A("k", "j")}; ${A("k", "j")} = ${A("p", "j")}; ${A("p", "j")} = t;`)}
      sg = -sg;
    }
    let d = ${A("k", "k")};
    for (var i = k + 1u; i < RM; i++) {
      let f = ${A("i", "k")} / d;
      ${A("i", "k")} = f;
      if (f != 0.0) { ${loop("j", "k + 1u", "RM", `${A("i", "j")} -= f * ${A("k", "j")};`)} }
    }
  }
  return sg;
}`;
}

/** Solves (LU at q) X = B in place for B of shape RM x `cols`, as the CPU's luSolve. */
function luSolveFn(at: At, params: string, B: (i: string, j: string) => string, cols: string): string {
  const L = (i: string, j: string) => at(`q + ${i} * RM + ${j}`);
  const rowOp = (i: string, r: string) => `let f = ${L(i, r)}; if (f != 0.0) { ${loop("j", "0u", cols, `${B(i, "j")} -= f * ${B(r, "j")};`)} }`;
  return `fn lus(q: u32${params}) {
  for (var i = 0u; i < RM; i++) {
    let pv = piv[i];
    if (pv != i) { ${loop("j", "0u", cols, `let t = ${B("i", "j")}; ${B("i", "j")} = ${B("pv", "j")}; ${B("pv", "j")} = t;`)} }
  }
  for (var i = 0u; i < RM; i++) { ${loop("r", "0u", "i", rowOp("i", "r"))} }
  for (var ii = 0u; ii < RM; ii++) {
    let i = RM - 1u - ii;
    ${loop("r", "i + 1u", "RM", rowOp("i", "r"))}
    let d = ${L("i", "i")};
    ${loop("j", "0u", cols, `${B("i", "j")} /= d;`)}
  }
}`;
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
    mul(A2, A, A), mul(A4, A2, A2), mul(A6, A4, A2),
    zero(T1), ax(T1, A6, b[13]), ax(T1, A4, b[11]), ax(T1, A2, b[9]), mul(T2, A6, T1),
    zero(T1), ax(T1, T2, 1), ax(T1, A6, b[7]), ax(T1, A4, b[5]), ax(T1, A2, b[3]), addId(T1, b[1]), mul(U, A, T1),
    zero(T1), ax(T1, A6, b[12]), ax(T1, A4, b[10]), ax(T1, A2, b[8]), mul(T2, A6, T1),
    zero(V), ax(V, T2, 1), ax(V, A6, b[6]), ax(V, A4, b[4]), ax(V, A2, b[2]), addId(V, b[0]), solve,
  ];
}

/**
 * WGSL for `fn expm() -> u32`: exp of the RM x RM matrix at workspace offset 0 (which it
 * overwrites), returning the offset of the result.
 */
function expmFns(m: number, W: At): string {
  const programs = [3, 5, 7, 9, 13].map(padeOps);
  const starts = programs.map((_, i) => programs.slice(0, i).reduce((t, p) => t + p.length, 0));
  const all = programs.flat();
  const words = all.map(([op, d, a, b]) => `${op | (d << 4) | (a << 8) | (b << 12)}u`);
  const range = (i: number) => `start = ${starts[i]}u; end = ${starts[i] + programs[i].length}u;`;
  const mat = (k: number) => `${k}u * mm`;
  return `var<private> OPS: array<u32, ${all.length}> = array<u32, ${all.length}>(${words.join(", ")});
var<private> COEF: array<f32, ${all.length}> = array<f32, ${all.length}>(${all.map((i) => f32(i[4])).join(", ")});
${luFn(m, W)}
${luSolveFn(W, ", bo: u32", (i, j) => W(`bo + ${i} * RM + ${j}`), "RM")}
/** The 1-norm, or -1 if a column sum is not finite (the CPU returns NaN for those). */
fn norm1() -> f32 {
  var best = 0.0;
  for (var j = 0u; j < RM; j++) {
    var s = 0.0;
    ${loop("i", "0u", "RM", `s += abs(${W("i * RM + j")});`)}
    if (isnan_(s) || isinf_(s)) { return -1.0; }
    best = max(best, s);
  }
  return best;
}
fn expm() -> u32 {
  let mm = RM * RM;
  let nrm = norm1();
  if (nrm < 0.0) { ${loop("i", "0u", "mm", `${W("i")} = ${NAN};`)} return 0u; }
  var start: u32;
  var end: u32;
  var s = 0u;
  ${THETA.map(([, th], i) => `if (nrm <= ${f32(th)}) { ${range(i)} }`).join(" else ")} else {
    ${range(4)}
    // s = ceil(log2(nrm / theta13)) by exact halvings, then A / 2^s (exact too).
    var scaled = nrm;
    while (scaled > ${f32(THETA13)}) { scaled = scaled * 0.5; s++; }
    ${loop("i", "0u", "mm", `${W("i")} = ldexp(${W("i")}, -i32(s));`)}
  }
  // The Padé ops (result in T1), then s squarings ping-ponging between T1 and T2.
  var pc = start;
  var r = ${mat(T1)};
  var t = ${mat(T2)};
  loop {
    var op: u32;
    var d: u32;
    var a: u32;
    var b: u32;
    var c = 0.0;
    if (pc < end) {
      let word = OPS[pc];
      op = word & 15u;
      d = ((word >> 4u) & 15u) * mm;
      a = ((word >> 8u) & 15u) * mm;
      b = (word >> 12u) * mm;
      c = COEF[pc];
      pc++;
    } else if (s > 0u) {
      op = ${Op.Mul}u; d = t; a = r; b = r;
      t = r; r = d; s--;
    } else {
      break;
    }
    switch op {
      case ${Op.Zero}u: { ${loop("i", "0u", "mm", `${W("d + i")} = 0.0;`)} }
      case ${Op.Axpy}u: { ${loop("i", "0u", "mm", `${W("d + i")} += c * ${W("a + i")};`)} }
      case ${Op.AddId}u: { ${loop("i", "0u", "RM", `${W("d + i * (RM + 1u)")} += c;`)} }
      case ${Op.Mul}u: {
        for (var i = 0u; i < RM; i++) {
          for (var j = 0u; j < RM; j++) {
            var acc = 0.0;
            ${loop("k", "0u", "RM", `acc += ${W("a + i * RM + k")} * ${W("b + k * RM + j")};`)}
            ${W("d + i * RM + j")} = acc;
          }
        }
      }
      default: {
        // r_m(A) = (V - U)^-1 (V + U) into T1; Q = V - U is well conditioned for ||A||_1 <= theta_m.
        ${loop("i", "0u", "mm", `let u = ${W(`${mat(U)} + i`)}; let v = ${W(`${mat(V)} + i`)}; ${W(`${mat(T1)} + i`)} = v + u; ${W(`${mat(T2)} + i`)} = v - u;`)}
        _ = lu(${mat(T2)});
        lus(${mat(T2)}, ${mat(T1)});
      }
    }
  }
  return r;
}`;
}

const EXPM_BODY = (W: At) => `  let g = gi * RN * RN;
  ${loop("i", "0u", "RN * RN", `${W("i")} = a[g + i];`)}
  let r = expm();
  ${loop("i", "0u", "RN * RN", `out[g + i] = ${W("r + i")};`)}`;

// L(A, E) is the top-right block of exp([[A, E], [0, A]]), E first scaled to the norm of A
// as on the CPU (L is linear in E), so the block matrix's norm stays within 2 ||A||_1.
const FRECHET_BODY = (W: At) => `  let g = gi * RN * RN;
  var na = 0.0;
  var ne = 0.0;
  for (var j = 0u; j < RN; j++) {
    var sa = 0.0;
    var se = 0.0;
    ${loop("i", "0u", "RN", "sa += abs(a[g + i * RN + j]); se += abs(e[g + i * RN + j]);")}
    if (isnan_(sa) || isinf_(sa) || isnan_(se) || isinf_(se)) { ${loop("i", "0u", "RN * RN", `out[g + i] = ${NAN};`)} return; }
    na = max(na, sa);
    ne = max(ne, se);
  }
  if (ne == 0.0) { ${loop("i", "0u", "RN * RN", "out[g + i] = 0.0;")} return; }
  let c = select(1.0, na, na > 0.0) / ne;
  ${loop("i", "0u", "RM * RM", `${W("i")} = 0.0;`)}
  for (var i = 0u; i < RN; i++) {
    for (var j = 0u; j < RN; j++) {
      let v = a[g + i * RN + j];
      ${W("i * RM + j")} = v;
      ${W("(i + RN) * RM + RN + j")} = v;
      ${W("i * RM + RN + j")} = c * e[g + i * RN + j];
    }
  }
  let r = expm();
  for (var i = 0u; i < RN; i++) { ${loop("j", "0u", "RN", `out[g + i * RN + j] = ${W("r + i * RM + RN + j")} / c;`)} }`;

function expmProgram(n: number, batch: number, frechet: boolean): GpuProgram {
  const m = frechet ? 2 * n : n;
  const nIn = frechet ? 2 : 1;
  const ws = workspace(EXPM_MATS * m * m, batch, nIn + 1);
  const decls = [
    binding(0, "a", "float32"),
    ...(frechet ? [binding(1, "e", "float32")] : []),
    binding(nIn, "out", "float32", true),
    ...ws.decls,
    ...helpers(["isnan", "isinf"]),
    expmFns(m, ws.at),
  ];
  const code = matrixKernel(decls, [["out", n * n]], ws, sizeVars(m, n, m), (frechet ? FRECHET_BODY : EXPM_BODY)(ws.at));
  const bindings: Ref[] = [{ in: 0 }, ...(frechet ? [{ in: 1 }] : []), { out: 0 }, ...ws.bindings];
  return { passes: [{ code, bindings, workgroups: groups(batch) }], temps: ws.temps };
}

/** [n, number of matrices] of a stack [..., n, n]. */
const sizes = (a: ShapedArray): [number, number] => [a.shape[a.shape.length - 1], sizeOf(a.shape.slice(0, -2))];

defineWgsl("expm", ([a]) => expmProgram(...sizes(a), false));
defineWgsl("expm_frechet", ([a]) => expmProgram(...sizes(a), true));

// ---------------------------------------------------------------- solve

defineWgsl("solve", ([a], [out]) => {
  const [n, batch] = sizes(a);
  const k = out.shape[out.shape.length - 1];
  const ws = workspace(n * n, batch, 3);
  // The right-hand side is solved in place in the output.
  const B = (i: string, j: string) => `out[ob + ${i} * RK + ${j}]`;
  const decls = [
    binding(0, "a", "float32"), binding(1, "b", "float32"), binding(2, "out", "float32", true), ...ws.decls,
    "var<private> ob: u32;",
    luFn(n, ws.at),
    luSolveFn(ws.at, "", B, "RK"),
  ];
  const body = `  ob = gi * RM * RK;
  ${loop("i", "0u", "RM * RM", `${ws.at("i")} = a[gi * RM * RM + i];`)}
  ${loop("i", "0u", "RM * RK", "out[ob + i] = b[ob + i];")}
  if (lu(0u) == 0.0) { ${loop("i", "0u", "RM * RK", `out[ob + i] = ${NAN};`)} return; }
  lus(0u);`;
  const code = matrixKernel(decls, [["out", n * k]], ws, sizeVars(n, n, k), body);
  return { passes: [{ code, bindings: [{ in: 0 }, { in: 1 }, { out: 0 }, ...ws.bindings], workgroups: groups(batch) }], temps: ws.temps };
});

// ---------------------------------------------------------------- det, log_abs_det, det_sign

/**
 * A kernel writing one scalar per matrix from its LU factors: `fromLu` sets `r` (initially
 * the permutation's sign `sg`, 0 if singular) from the diagonal entries `d(i)`.
 */
function luScalar(name: string, empty: number, fromLu: (d: (i: string) => string) => string): void {
  defineWgsl(name, ([a]) => {
    const [n, batch] = sizes(a);
    const decls = [binding(0, "a", "float32"), binding(1, "out", "float32", true)];
    if (n === 0) {
      // An empty matrix has determinant 1.
      const code = matrixKernel(decls, [["out", 1]], workspace(0, batch, 2), "", `  out[gi] = ${f32(empty)};`);
      return { passes: [{ code, bindings: [{ in: 0 }, { out: 0 }], workgroups: groups(batch) }] };
    }
    const ws = workspace(n * n, batch, 2);
    const body = `  ${loop("i", "0u", "RM * RM", `${ws.at("i")} = a[gi * RM * RM + i];`)}
  let sg = lu(0u);
  var r = sg;
  ${fromLu((i) => ws.at(`${i} * (RM + 1u)`))}
  out[gi] = r;`;
    const code = matrixKernel([...decls, ...ws.decls, luFn(n, ws.at)], [["out", 1]], ws, sizeVars(n, n, 0), body);
    return { passes: [{ code, bindings: [{ in: 0 }, { out: 0 }, ...ws.bindings], workgroups: groups(batch) }], temps: ws.temps };
  });
}

luScalar("det", 1, (d) => loop("i", "0u", "RM", `if (r == 0.0) { break; } r *= ${d("i")};`));
luScalar("log_abs_det", 0, (d) => `if (sg == 0.0) { r = ${literal(-Infinity, "float32")}; } else { r = 0.0; ${loop("i", "0u", "RM", `r += log(abs(${d("i")}));`)} }`);
luScalar("det_sign", 1, (d) => loop("i", "0u", "RM", `if (r == 0.0) { break; } r *= sign(${d("i")});`));
