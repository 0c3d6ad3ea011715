/**
 * Shape primitives that move elements without arithmetic: slice, pad, concatenate, rev.
 * Each output element finds its source (reshape, transpose and broadcast_in_dim go
 * through the IR renderer instead). Shapes and params are baked into the WGSL as constants:
 * programs are cached per shape anyway.
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import { concatRuns, revSource, sliceSource, u, unravel } from "../../../compiler/index-expr.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineWgsl, type GpuProgram, type Ref } from "../program.ts";
import { binding, groups, perElement } from "../wgsl.ts";

const declare = (name: string, expr: string) => `  let ${name} = ${expr};`;

/** A one-pass copy program: out[gi] = x[src], with `src` a WGSL expression over the coordinates. */
function gatherCopy(x: ShapedArray, out: ShapedArray, src: string): GpuProgram {
  const n = sizeOf(out.shape);
  const body = `${unravel(out.shape, declare)}\n  out[gi] = x[${src}];`;
  return {
    passes: [{ code: perElement([binding(0, "x", x.dtype), binding(1, "out", out.dtype, true)], n, body), bindings: [{ in: 0 }, { out: 0 }], workgroups: groups(n) }],
  };
}

defineWgsl("slice", ([x], [out], { start, strides }) => gatherCopy(x, out, sliceSource(x.shape, start, strides)));

defineWgsl("rev", ([x], [out], { axes }) => gatherCopy(x, out, revSource(x.shape, axes)));

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
  const body = `${unravel(out.shape, declare)}\n  var src = 0u;\n${checks.join("\n")}\n  out[gi] = x[src];`;
  const decls = [binding(0, "x", x.dtype), binding(1, "v", v.dtype), binding(2, "out", out.dtype, true)];
  return { passes: [{ code: perElement(decls, n, body), bindings: [{ in: 0 }, { in: 1 }, { out: 0 }], workgroups: groups(n) }] };
});

/** Inputs per concatenate pass: WebGPU guarantees 8 storage buffers per stage, one is the output. */
const CONCAT_INPUTS_PER_PASS = 7;

defineWgsl("concatenate", (ins, [out], { axis }) => ({
  passes: concatRuns(ins, out.shape, axis, CONCAT_INPUTS_PER_PASS).map(({ ks, n, body }) => ({
    code: perElement([...ks.map((k, b) => binding(b, `x${b}`, ins[k].dtype)), binding(ks.length, "out", out.dtype, true)], n, body(declare)),
    bindings: [...ks.map((k) => ({ in: k }) as Ref), { out: 0 } as Ref],
    workgroups: groups(n),
  })),
}));
