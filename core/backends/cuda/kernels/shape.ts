/**
 * Shape primitives that move elements without arithmetic: slice, pad, concatenate, rev.
 * Each output element finds its source (reshape, transpose and broadcast_in_dim go through
 * the IR renderer instead). Shapes and params are baked in as constants.
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineCuda, type CudaProgram, type Pass, type Ref } from "../program.ts";
import { blocks, param, perElement, THREADS } from "../cuda-c.ts";

const u = (v: number) => `${v >>> 0}u`;

/** C lines giving `c0..c{r-1}`, the coordinates in `shape` of the linear index `gi`. */
export function unravel(shape: readonly number[], v = "gi", prefix = "c"): string {
  const st = stridesOf(shape);
  return shape.map((n, d) => `  const unsigned ${prefix}${d} = ${d === 0 ? `${v} / ${u(st[d])}` : `(${v} / ${u(st[d])}) % ${u(n)}`};`).join("\n");
}

/** The C sum `base + sum_d coeff[d] * c_d` (terms with zero coefficients dropped). */
function affine(base: number, coeff: readonly number[], prefix = "c"): string {
  const terms = coeff.flatMap((k, d) => (k === 0 ? [] : [`${prefix}${d} * ${u(k)}`]));
  return [u(base), ...terms].join(" + ");
}

/** A one-pass copy program: out[gi] = x[src], with `src` a C expression over the coordinates. */
function gatherCopy(x: ShapedArray, out: ShapedArray, src: string): CudaProgram {
  const n = sizeOf(out.shape);
  const body = `${unravel(out.shape)}\n  out[gi] = x[${src}];`;
  return { passes: [{ code: perElement([param("x", x.dtype), param("out", out.dtype, true)], n, body), bindings: [{ in: 0 }, { out: 0 }], blocks: blocks(n), threads: THREADS }] };
}

defineCuda("slice", ([x], [out], { start, strides }) => {
  const st = stridesOf(x.shape);
  const base = start.reduce((acc: number, s: number, d: number) => acc + s * st[d], 0);
  return gatherCopy(x, out, affine(base, st.map((s, d) => s * strides[d])));
});

defineCuda("rev", ([x], [out], { axes }) => {
  const st = stridesOf(x.shape);
  // A reversed axis reads (n - 1 - c) * s = (n - 1) * s - c * s; unsigned wrap-around makes the sum right.
  let base = 0;
  const terms = x.shape.map((n, d) => {
    if (!axes.includes(d)) return ` + c${d} * ${u(st[d])}`;
    base += (n - 1) * st[d];
    return ` - c${d} * ${u(st[d])}`;
  });
  return gatherCopy(x, out, `${u(base)}${terms.join("")}`);
});

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
  const body = `${unravel(out.shape)}\n  unsigned src = 0u;\n${checks.join("\n")}\n  out[gi] = x[src];`;
  const params = [param("x", x.dtype), param("v", v.dtype), param("out", out.dtype, true)];
  return { passes: [{ code: perElement(params, n, body), bindings: [{ in: 0 }, { in: 1 }, { out: 0 }], blocks: blocks(n), threads: THREADS }] };
});

/** Inputs per concatenate launch (kernel parameters are limited; the runtime takes 64 pointers). */
const CONCAT_INPUTS_PER_PASS = 32;

defineCuda("concatenate", (ins, [out], { axis }) => {
  const outer = sizeOf(out.shape.slice(0, axis));
  const innerOut = sizeOf(out.shape.slice(axis));
  const inner = ins.map((a) => sizeOf(a.shape.slice(axis)));
  const offsets = inner.map((_, k) => inner.slice(0, k).reduce((a, b) => a + b, 0));
  // Each launch covers the output columns [off, off + width) of a run of inputs.
  const passes: Pass[] = [];
  for (let first = 0; first < ins.length; first += CONCAT_INPUTS_PER_PASS) {
    const ks = [...Array(Math.min(CONCAT_INPUTS_PER_PASS, ins.length - first)).keys()].map((i) => first + i).filter((k) => inner[k] > 0);
    if (ks.length === 0) continue;
    const off = offsets[ks[0]];
    const width = ks.reduce((acc, k) => acc + inner[k], 0);
    const n = outer * width;
    const params = [...ks.map((k, b) => param(`x${b}`, ins[k].dtype)), param("out", out.dtype, true)];
    const branches = ks.map((k, b) => {
      const lo = offsets[k] - off;
      const read = `out[o * ${u(innerOut)} + ${u(off)} + r] = x${b}[o * ${u(inner[k])} + r - ${u(lo)}];`;
      return b === ks.length - 1 ? `{ ${read} }` : `if (r < ${u(lo + inner[k])}) { ${read} }`;
    });
    const body = `  const unsigned o = gi / ${u(width)};\n  const unsigned r = gi % ${u(width)};\n  ${branches.join(" else ")}`;
    passes.push({ code: perElement(params, n, body), bindings: [...ks.map((k) => ({ in: k }) as Ref), { out: 0 } as Ref], blocks: blocks(n), threads: THREADS });
  }
  return { passes };
});
