/**
 * Shape primitives that move elements without arithmetic: slice, pad, concatenate, rev.
 * Each output element finds its source (reshape, transpose and broadcast_in_dim go through
 * the IR renderer instead). Shapes and params are baked in as constants.
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import { concatRuns, revSource, sliceSource, u, unravel } from "../../../compiler/index-expr.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineCuda, type CudaProgram, type Ref } from "../program.ts";
import { blocks, param, perElement, THREADS } from "../cuda-c.ts";

const declare = (name: string, expr: string) => `  const unsigned ${name} = ${expr};`;

/** A one-pass copy program: out[gi] = x[src], with `src` a C expression over the coordinates. */
function gatherCopy(x: ShapedArray, out: ShapedArray, src: string): CudaProgram {
  const n = sizeOf(out.shape);
  const body = `${unravel(out.shape, declare)}\n  out[gi] = x[${src}];`;
  return { passes: [{ code: perElement([param("x", x.dtype), param("out", out.dtype, true)], n, body), bindings: [{ in: 0 }, { out: 0 }], blocks: blocks(n), threads: THREADS }] };
}

defineCuda("slice", ([x], [out], { start, strides }) => gatherCopy(x, out, sliceSource(x.shape, start, strides)));

defineCuda("rev", ([x], [out], { axes }) => gatherCopy(x, out, revSource(x.shape, axes)));

defineCuda("pad", ([x, v], [out], { config }) => {
  const n = sizeOf(out.shape);
  const st = stridesOf(x.shape);
  // Output coordinate c maps to input position (c - lo) / (interior + 1) when that divides
  // exactly and lands inside the axis; anything else is padding. Negative lo/hi crop.
  const checks = x.shape.map((len, d) => {
    const [lo, , interior] = config[d] as number[];
    const step = interior + 1;
    const lines = [`  const long long p${d} = (long long)c${d} - (${lo | 0}ll);`];
    const conds = [`p${d} < 0`, `p${d} >= ${len * step - interior}ll`];
    if (step > 1) conds.push(`p${d} % ${step} != 0`);
    lines.push(`  if (${conds.join(" || ")}) { out[gi] = v[0]; return; }`);
    lines.push(`  src += (unsigned)(p${d} / ${step}) * ${u(st[d])};`);
    return lines.join("\n");
  });
  const body = `${unravel(out.shape, declare)}\n  unsigned src = 0u;\n${checks.join("\n")}\n  out[gi] = x[src];`;
  const params = [param("x", x.dtype), param("v", v.dtype), param("out", out.dtype, true)];
  return { passes: [{ code: perElement(params, n, body), bindings: [{ in: 0 }, { in: 1 }, { out: 0 }], blocks: blocks(n), threads: THREADS }] };
});

/** Inputs per concatenate launch (kernel parameters are limited; the runtime takes 64 pointers). */
const CONCAT_INPUTS_PER_PASS = 32;

defineCuda("concatenate", (ins, [out], { axis }) => ({
  passes: concatRuns(ins, out.shape, axis, CONCAT_INPUTS_PER_PASS).map(({ ks, n, body }) => ({
    code: perElement([...ks.map((k, b) => param(`x${b}`, ins[k].dtype)), param("out", out.dtype, true)], n, body(declare)),
    bindings: [...ks.map((k) => ({ in: k }) as Ref), { out: 0 } as Ref],
    blocks: blocks(n),
    threads: THREADS,
  })),
}));
