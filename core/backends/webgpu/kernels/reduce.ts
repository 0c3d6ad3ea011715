/**
 * argmax / argmin along one axis (the other reductions go through the IR renderer).
 * The CPU's rule: the first NaN wins, else the first extreme value (ties keep the lowest
 * index). As a total order on candidates (NaN first, then value, then lower index) it is
 * associative, so a workgroup can split a long axis and combine partial winners.
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineWgsl, type GpuProgram } from "../program.ts";
import { binding, groups, helpers, LINEAR_WORKGROUP, MAIN_ARGS, perElement, wgslType } from "../wgsl.ts";

/** Threads per output in the cooperative kernel. */
const RWG = 256;

/** WGSL `fn beats(v, k, b, j) -> bool`: candidate (v at index k) beats (b at index j). */
function beatsFn(dtype: ShapedArray["dtype"], max: boolean): string {
  const t = wgslType(dtype);
  const cmp = max ? ">" : "<";
  const nan = t === "f32"
    ? "let vn = isnan_(v); let bn = isnan_(b); if (vn != bn) { return vn; } if (vn) { return k < j; }\n  "
    : "";
  return `fn beats(v: ${t}, k: u32, b: ${t}, j: u32) -> bool {
  ${nan}if (v ${cmp} b) { return true; } if (b ${cmp} v) { return false; } return k < j;
}`;
}

function argRule(max: boolean) {
  return ([x]: ShapedArray[], [out]: ShapedArray[], { axis }: Record<string, number>): GpuProgram => {
    const n = x.shape[axis];
    const inner = stridesOf(x.shape)[axis];
    const m = sizeOf(out.shape);
    const t = wgslType(x.dtype);
    const decls = [binding(0, "x", x.dtype), binding(1, "out", out.dtype, true), ...(t === "f32" ? helpers(["isnan"]) : []), beatsFn(x.dtype, max)];
    const base = `(o / ${inner}u) * ${n * inner}u + o % ${inner}u`;
    if (n < 1024 || m >= 4096) {
      // One invocation per output walks the axis, as the CPU does (stopping at a NaN).
      const stop = t === "f32" ? "if (isnan_(best)) { break; } " : "";
      const body = `  let o = gi;
  let base = ${base};
  var best = x[base];
  var bi = 0u;
  for (var k = 1u; k < ${n}u; k = k + 1u) {
    ${stop}let v = x[base + k * ${inner}u];
    if (beats(v, k, best, bi)) { best = v; bi = k; }
  }
  out[o] = i32(bi);`;
      return { passes: [{ code: perElement(decls, m, body), bindings: [{ in: 0 }, { out: 0 }], workgroups: groups(m) }] };
    }
    // Long axis, few outputs: a workgroup per output, each thread a strided share, then a tree.
    const code = `${decls.join("\n")}
var<workgroup> pv: array<${t}, ${RWG}>;
var<workgroup> pk: array<u32, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(${MAIN_ARGS}) {
  let o = ${LINEAR_WORKGROUP};
  let valid = o < ${m}u;
  let base = ${base};
  var best = ${t}(0);
  var bi = 0u;
  if (valid) {
    best = x[base + lid * ${inner}u];
    bi = lid;
    for (var k = lid + ${RWG}u; k < ${n}u; k = k + ${RWG}u) {
      let v = x[base + k * ${inner}u];
      if (beats(v, k, best, bi)) { best = v; bi = k; }
    }
  }
  pv[lid] = best;
  pk[lid] = bi;
  for (var s = ${RWG / 2}u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s && beats(pv[lid + s], pk[lid + s], pv[lid], pk[lid])) { pv[lid] = pv[lid + s]; pk[lid] = pk[lid + s]; }
  }
  if (lid == 0u && valid) { out[o] = i32(pk[0]); }
}`;
    return { passes: [{ code, bindings: [{ in: 0 }, { out: 0 }], workgroups: Math.max(1, m) }] };
  };
}

defineWgsl("argmax", argRule(true));
defineWgsl("argmin", argRule(false));
