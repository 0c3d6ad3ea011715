/**
 * sort and argsort along one axis, by a bitonic network over each line padded to a power
 * of two P. Elements are (key, original position) pairs compared by key, then position,
 * so the order is total and the result equals the CPU's stable sort; padding positions
 * (>= n) sort after everything. NaNs go after numbers and -0 equals +0, as on the CPU.
 * Stages whose compare distance fits in a workgroup's block run in workgroup memory, so
 * a line of 2^20 elements takes 77 passes instead of 210.
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineWgsl, type GpuProgram, type Pass, type Ref } from "../program.ts";
import { binding, groups, helpers, LINEAR_WORKGROUP, MAIN_ARGS, perElement, wgslType, type WgslType } from "../wgsl.ts";

/** Threads per workgroup in the local stages; each block of 2 * LWG elements is sorted in workgroup memory. */
const LWG = 256;
const BLOCK = 2 * LWG;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function lessFn(t: WgslType, n: number): string {
  const nan = t === "f32" ? "let an = isnan_(a); let bn = isnan_(b); if (an != bn) { return bn; }\n  if (!an) { if (a < b) { return true; } if (b < a) { return false; } }" : "if (a < b) { return true; } if (b < a) { return false; }";
  return `${t === "f32" ? helpers(["isnan"]).join("\n") + "\n" : ""}fn less(a: ${t}, i: u32, b: ${t}, j: u32) -> bool {
  let ap = i >= ${n}u; let bp = j >= ${n}u;
  if (ap || bp) { return select(bp, i < j, ap && bp); }
  ${nan}
  return i < j;
}`;
}

/**
 * Passes leaving each of the `lines` lines of n elements of x sorted in scratch 0 (P per
 * line, P = nextPow2(n)) with their original positions in scratch 1. `key` is the WGSL
 * address in x of line r's element p. Works for any n (n <= 1 needs only the first pass).
 */
function lineSortPasses(x: ShapedArray, lines: number, n: number, key: string): Pass[] {
  const P = nextPow2(n);
  const total = lines * P;
  const t = wgslType(x.dtype);
  const scratch = [`@group(0) @binding(1) var<storage, read_write> kv: array<${t}>;`, `@group(0) @binding(2) var<storage, read_write> kp: array<u32>;`];
  const init: Pass = {
    code: perElement([binding(0, "x", x.dtype), ...scratch], total, `  let r = gi / ${P}u;
  let p = gi % ${P}u;
  kp[gi] = p;
  if (p < ${n}u) { kv[gi] = x[${key}]; } else { kv[gi] = ${t}(0); }`),
    bindings: [{ in: 0 }, { tmp: 0 }, { tmp: 1 }],
    workgroups: groups(total),
  };
  const passes = [init];
  if (P === 1) return passes;
  const decls = [`@group(0) @binding(0) var<storage, read_write> kv: array<${t}>;`, `@group(0) @binding(1) var<storage, read_write> kp: array<u32>;`, lessFn(t, n)];
  const bindings: Ref[] = [{ tmp: 0 }, { tmp: 1 }];
  // Direction of a pair at flat index f for merge size k: ascending where bit k of its line position is 0.
  const asc = (f: string, k: string) => `(((${f} & ${P - 1}u) & ${k}) == 0u)`;
  const localPass = (kFrom: number, kTo: number, jFirst: number): Pass => ({
    code: `${decls.join("\n")}
var<workgroup> sv: array<${t}, ${BLOCK}>;
var<workgroup> sp: array<u32, ${BLOCK}>;
@compute @workgroup_size(${LWG})
fn main(${MAIN_ARGS}) {
  let start = ${LINEAR_WORKGROUP} * ${BLOCK}u;
  let a = start + lid;
  let b = a + ${LWG}u;
  if (a < ${total}u) { sv[lid] = kv[a]; sp[lid] = kp[a]; }
  if (b < ${total}u) { sv[lid + ${LWG}u] = kv[b]; sp[lid + ${LWG}u] = kp[b]; }
  var j = ${jFirst}u;
  for (var k = ${kFrom}u; k <= ${kTo}u; k = k << 1u) {
    for (; j > 0u; j = j >> 1u) {
      workgroupBarrier();
      let i = ((lid / j) * 2u * j) + lid % j;
      let l = i + j;
      if (start + l < ${total}u) {
        let x = sv[i]; let xp = sp[i]; let y = sv[l]; let yp = sp[l];
        if (less(y, yp, x, xp) == ${asc("(start + i)", "k")}) { sv[i] = y; sp[i] = yp; sv[l] = x; sp[l] = xp; }
      }
    }
    j = k;
  }
  workgroupBarrier();
  if (a < ${total}u) { kv[a] = sv[lid]; kp[a] = sp[lid]; }
  if (b < ${total}u) { kv[b] = sv[lid + ${LWG}u]; kp[b] = sp[lid + ${LWG}u]; }
}`,
    bindings,
    workgroups: Math.max(1, Math.ceil(total / BLOCK)),
  });
  const globalPass = (k: number, j: number): Pass => ({
    code: perElement(decls, total / 2, `  let i = ((gi / ${j}u) * ${2 * j}u) + gi % ${j}u;
  let l = i + ${j}u;
  let x = kv[i]; let xp = kp[i]; let y = kv[l]; let yp = kp[l];
  if (less(y, yp, x, xp) == ${asc("i", `${k}u`)}) { kv[i] = y; kp[i] = yp; kv[l] = x; kp[l] = xp; }`),
    bindings,
    workgroups: groups(total / 2),
  });
  const kLocal = Math.min(P, BLOCK);
  passes.push(localPass(2, kLocal, 1));
  for (let k = 2 * BLOCK; k <= P; k *= 2) {
    for (let j = k / 2; j >= BLOCK; j /= 2) passes.push(globalPass(k, j));
    passes.push(localPass(k, k, BLOCK / 2));
  }
  return passes;
}

function sortRule(arg: boolean) {
  return ([x]: ShapedArray[], [out]: ShapedArray[], { axis }: Record<string, number>): GpuProgram => {
    const n = x.shape[axis];
    const inner = stridesOf(x.shape)[axis];
    const size = sizeOf(x.shape);
    const lines = n === 0 ? 0 : size / n;
    const P = nextPow2(n);
    // Line r is (o, j) = (r / inner, r % inner); its element p sits at o * n * inner + p * inner + j.
    const at = (r: string, p: string) => `(${r} / ${inner}u) * ${n * inner}u + ${r} % ${inner}u + ${p} * ${inner}u`;
    const passes = lineSortPasses(x, lines, n, at("r", "p"));
    // The sorted values are gathered from x by position, so their bits pass through untouched.
    const body = `  let o = gi / ${n * inner}u;
  let rem = gi % ${n * inner}u;
  let p = rem / ${inner}u;
  let r = o * ${inner}u + rem % ${inner}u;
  let q = kp[r * ${P}u + p];
  out[gi] = ${arg ? "i32(q)" : `x[${at("r", "q")}]`};`;
    passes.push({
      code: perElement([binding(0, "x", x.dtype), binding(1, "kp", "uint32", true), binding(2, "out", out.dtype, true)], size, body),
      bindings: [{ in: 0 }, { tmp: 1 }, { out: 0 }],
      workgroups: groups(size),
    });
    return { passes, temps: [{ dtype: x.dtype, size: lines * P }, { dtype: "uint32", size: lines * P }] };
  };
}

defineWgsl("sort", sortRule(false));
defineWgsl("argsort", sortRule(true));
