/**
 * Shape primitives that move elements without arithmetic: slice, pad, concatenate, rev.
 * Each output element finds its source (reshape, transpose and broadcast_in_dim go
 * through the IR renderer instead). Shapes and params are baked into the WGSL as constants:
 * programs are cached per shape anyway.
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineWgsl, type GpuProgram, type Ref } from "../program.ts";
import { binding, groups, perElement } from "../wgsl.ts";

const u = (v: number) => `${v >>> 0}u`;

/** WGSL lines giving `c0..c{r-1}`, the coordinates in `shape` of the linear index `gi`. */
function unravel(shape: readonly number[], v = "gi", prefix = "c"): string {
  const st = stridesOf(shape);
  return shape.map((n, d) => `  let ${prefix}${d} = ${d === 0 ? `${v} / ${u(st[d])}` : `(${v} / ${u(st[d])}) % ${u(n)}`};`).join("\n");
}

/** The WGSL sum `base + sum_d coeff[d] * c_d` (terms with zero coefficients dropped). */
function affine(base: number, coeff: readonly number[], prefix = "c"): string {
  const terms = coeff.flatMap((k, d) => (k === 0 ? [] : [`${prefix}${d} * ${u(k)}`]));
  return [u(base), ...terms].join(" + ");
}

/** A one-pass copy program: out[gi] = x[src], with `src` a WGSL expression over the coordinates. */
function gatherCopy(x: ShapedArray, out: ShapedArray, src: string): GpuProgram {
  const n = sizeOf(out.shape);
  const body = `${unravel(out.shape)}\n  out[gi] = x[${src}];`;
  return {
    passes: [{ code: perElement([binding(0, "x", x.dtype), binding(1, "out", out.dtype, true)], n, body), bindings: [{ in: 0 }, { out: 0 }], workgroups: groups(n) }],
  };
}

defineWgsl("slice", ([x], [out], { start, strides }) => {
  const st = stridesOf(x.shape);
  const base = start.reduce((acc: number, s: number, d: number) => acc + s * st[d], 0);
  return gatherCopy(x, out, affine(base, st.map((s, d) => s * strides[d])));
});

defineWgsl("rev", ([x], [out], { axes }) => {
  const st = stridesOf(x.shape);
  // A reversed axis reads (n - 1 - c) * s = (n - 1) * s - c * s; u32 wrap-around makes the sum right.
  let base = 0;
  const terms = x.shape.map((n, d) => {
    if (!axes.includes(d)) return ` + c${d} * ${u(st[d])}`;
    base += (n - 1) * st[d];
    return ` - c${d} * ${u(st[d])}`;
  });
  return gatherCopy(x, out, `${u(base)}${terms.join("")}`);
});

defineWgsl("pad", ([x, v], [out], { config }) => {
  const n = sizeOf(out.shape);
  const st = stridesOf(x.shape);
  // Output coordinate c maps to input position (c - lo) / (interior + 1) when that divides
  // exactly and lands inside the axis; anything else is padding. Negative lo/hi crop.
  const checks = x.shape.map((len, d) => {
    const [lo, , interior] = config[d] as number[];
    const step = interior + 1;
    const lines = [`  let p${d} = i32(c${d}) - (${lo | 0});`];
    const conds = [`p${d} < 0`, `p${d} >= ${len * step - interior}`];
    if (step > 1) conds.push(`p${d} % ${step} != 0`);
    lines.push(`  if (${conds.join(" || ")}) { out[gi] = v[0]; return; }`);
    lines.push(`  src = src + u32(p${d} / ${step}) * ${u(st[d])};`);
    return lines.join("\n");
  });
  const body = `${unravel(out.shape)}\n  var src = 0u;\n${checks.join("\n")}\n  out[gi] = x[src];`;
  const decls = [binding(0, "x", x.dtype), binding(1, "v", v.dtype), binding(2, "out", out.dtype, true)];
  return { passes: [{ code: perElement(decls, n, body), bindings: [{ in: 0 }, { in: 1 }, { out: 0 }], workgroups: groups(n) }] };
});

/** Inputs per concatenate pass: WebGPU guarantees 8 storage buffers per stage, one is the output. */
const CONCAT_INPUTS_PER_PASS = 7;

defineWgsl("concatenate", (ins, [out], { axis }) => {
  const outer = sizeOf(out.shape.slice(0, axis));
  const innerOut = sizeOf(out.shape.slice(axis));
  const inner = ins.map((a) => sizeOf(a.shape.slice(axis)));
  const offsets = inner.map((_, k) => inner.slice(0, k).reduce((a, b) => a + b, 0));
  // Each pass covers the output columns [off, off + width) of a run of inputs, so out is
  // written once per element and any number of inputs fits the binding limit.
  const passes = [];
  for (let first = 0; first < ins.length; first += CONCAT_INPUTS_PER_PASS) {
    const ks = [...Array(Math.min(CONCAT_INPUTS_PER_PASS, ins.length - first)).keys()].map((i) => first + i).filter((k) => inner[k] > 0);
    if (ks.length === 0) continue;
    const off = offsets[ks[0]];
    const width = ks.reduce((acc, k) => acc + inner[k], 0);
    const n = outer * width;
    const decls = ks.map((k, b) => binding(b, `x${b}`, ins[k].dtype));
    decls.push(binding(ks.length, "out", out.dtype, true));
    const branches = ks.map((k, b) => {
      const lo = offsets[k] - off;
      const read = `out[o * ${u(innerOut)} + ${u(off)} + r] = x${b}[o * ${u(inner[k])} + r - ${u(lo)}];`;
      return b === ks.length - 1 ? `{ ${read} }` : `if (r < ${u(lo + inner[k])}) { ${read} }`;
    });
    const body = `  let o = gi / ${u(width)};\n  let r = gi % ${u(width)};\n  ${branches.join(" else ")}`;
    passes.push({
      code: perElement(decls, n, body),
      bindings: [...ks.map((k) => ({ in: k }) as Ref), { out: 0 } as Ref],
      workgroups: groups(n),
    });
  }
  return { passes };
});
