/**
 * conv_general_dilated (NCHW input, OIHW kernel; strides, [lo, hi] padding that may crop,
 * lhs and rhs dilation, feature groups) as the direct kernel: one invocation per output
 * element loops over the input channels of its group and the window, accumulating as the
 * dialect sums (CUDA: double). WebGPU runs it where im2col's patches would not fit and
 * otherwise its tuned product kernels (webgpu/kernels/conv.ts); CUDA runs it always.
 */
import type { ConvParams } from "../../../primitives/conv.ts";
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { elementwise, PLAIN_STORE, type Clike, type ClikePass, type OutputStore } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";

const u = (n: number) => `${n >>> 0}u`;

/**
 * Statements setting `ok_${v}` and `${v}` (the input coordinate along one spatial axis) for
 * output position `o` and kernel tap `k`: false in the padding and in the holes of lhs dilation.
 */
export function tap(d: Clike, v: string, o: string, k: string, stride: number, rhsDil: number, lo: number, lhsDil: number, n: number): string {
  const pos = `${d.cast(`(${o} * ${u(stride)} + ${k} * ${u(rhsDil)})`, "index", "int32")} ${lo >= 0 ? `- ${lo}` : `+ ${-lo}`}`;
  if (lhsDil === 1) return `${d.let(v, "int32", pos)}\n  ${d.test(`ok_${v}`, `${v} >= 0 && ${v} < ${n}`)}`;
  return `${d.let(`p_${v}`, "int32", pos)}\n  ${d.let(v, "int32", `p_${v} / ${lhsDil}`)}\n  ${d.test(`ok_${v}`, `p_${v} >= 0 && p_${v} % ${lhsDil} == 0 && ${v} < ${n}`)}`;
}

/** The direct kernel's pass for lhs `x`, rhs `w` and output `out`, storing through `store`. */
export function convDirectPass(d: Clike, [x, w]: ShapedArray[], [oa]: ShapedArray[], p: ConvParams, store: OutputStore = PLAIN_STORE): ClikePass {
  const [N, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const [, , Ho, Wo] = oa.shape;
  const Og = O / p.groups;
  const A = d.sumType(oa.dtype);
  const idx = (e: string) => d.cast(e, "int32", "index");
  const body = `  ${d.let("wo", "index", `gi % ${u(Wo)}`)}
  ${d.let("ho", "index", `(gi / ${u(Wo)}) % ${u(Ho)}`)}
  ${d.let("o", "index", `(gi / ${u(Wo * Ho)}) % ${u(O)}`)}
  ${d.let("n", "index", `gi / ${u(Wo * Ho * O)}`)}
  ${d.let("g", "index", `o / ${u(Og)}`)}
  ${d.var("acc", A, d.literal(0, A))}
  ${d.loop("c", "0u", `c < ${u(Cg)}`, "c += 1u")} {
    ${d.let("xc", "index", `(n * ${u(C)} + g * ${u(Cg)} + c) * ${u(H)}`)}
    ${d.let("wc", "index", `(o * ${u(Cg)} + c) * ${u(KH)}`)}
    ${d.loop("ky", "0u", `ky < ${u(KH)}`, "ky += 1u")} {
      ${tap(d, "iy", "ho", "ky", p.strides[0], p.rhsDilation[0], p.padding[0][0], p.lhsDilation[0], H)}
      if (!ok_iy) { continue; }
      ${d.loop("kx", "0u", `kx < ${u(KW)}`, "kx += 1u")} {
        ${tap(d, "ix", "wo", "kx", p.strides[1], p.rhsDilation[1], p.padding[1][0], p.lhsDilation[1], W)}
        if (ok_ix) { acc += ${d.cast(`${d.ld("x", `(xc + ${idx("iy")}) * ${u(W)} + ${idx("ix")}`)} * ${d.ld("w", `(wc + ky) * ${u(KW)} + kx`)}`, oa.dtype, A)}; }
      }
    }
  }
  ${store.store(d, "gi", d.cast("acc", A, oa.dtype))}`;
  const bufs = [{ name: "x", dtype: x.dtype }, { name: "w", dtype: w.dtype }, { name: "out", dtype: oa.dtype, write: true }, ...store.bufs];
  const e = d.perElement(N * O * Ho * Wo, body);
  const code = d.module({ bufs, threads: d.threads, body: e.body, decls: [store.decls(d)] });
  return { code, bindings: [{ in: 0 }, { in: 1 }, { out: 0 }, ...store.bindings], groups: e.groups, threads: d.threads };
}

/** The whole convolution as the direct kernel (an empty window stores zeros). */
export const convGeneralDilated: ClikeRule<ConvParams> = (d, ins, outs, params) => {
  const [oa] = outs;
  const n = sizeOf(oa.shape);
  if (n === 0) return { passes: [] };
  const [, Cg, KH, KW] = ins[1].shape;
  if (Cg * KH * KW === 0) return { passes: [elementwise(d, [{ name: "out", dtype: oa.dtype, write: true }], [{ out: 0 }], n, `  ${d.st("out", "gi", d.literal(0, oa.dtype))}`)] };
  return { passes: [convDirectPass(d, ins, outs, params)] };
};
