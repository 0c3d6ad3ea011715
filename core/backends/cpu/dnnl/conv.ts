/**
 * float32 conv_general_dilated on oneDNN. Two shapes of the primitive's call are recognised:
 * a convolution whose window is larger than its output (the kernel gradient that the
 * transpose rule emits: input [C, N, H, W], the cotangent [O, N, Ho, Wo] as the kernel)
 * runs as oneDNN's backward-weights pass on strided descriptors of the same arrays (no
 * copies); any other convolution without input dilation as a forward pass. Primitives are
 * built once per shape and parameters and cached; a shape oneDNN rejects is cached as
 * rejected and stays on the BLAS path.
 */
import type { ConvParams } from "../../../routines.ts";
import { cpuDnnl, DNNL, OP_DESC_BYTES, type Dnnl } from "./library.ts";

/** One operand of a primitive: its argument and layout query ids, logical dims and element strides in our array, and which array. */
interface Operand {
  arg: number;
  query: number;
  dims: number[];
  strides: number[];
  array: "x" | "w" | "out";
}

type Arrays = Record<Operand["array"], Float32Array>;

/** Builds the op descriptor from the operands' memory descriptors (in operand order); false if rejected. */
type InitDesc = (dnnl: Dnnl, opDesc: Uint8Array, mds: Uint8Array[]) => boolean;

interface Plan {
  kind: keyof typeof dnnlConvRuns;
  run(arrays: Arrays): void;
}

const plans = new Map<string, Plan | null>();

/** Convolutions run on oneDNN so far, by kind (tests check which path a case took). */
export const dnnlConvRuns = { forward: 0, kernelGradient: 0 };

/** Row-major strides of dims. */
const contiguous = (dims: readonly number[]) => dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
/** Strides of a contiguous array of shape `shape` read with its two leading axes swapped. */
const swapped = (shape: readonly number[]) => {
  const s = contiguous(shape);
  return [s[1], s[0], ...s.slice(2)];
};

/**
 * out = conv(x, w) on oneDNN, for operands of shapes `ls` and `rs`; false when it is off,
 * absent, or takes no implementation for this case. With `swappedOperands`, x and w hold
 * those operands with their two leading axes swapped (conv_swapped_operands: the forward
 * input and the output's cotangent of a kernel gradient, in their own layouts).
 */
export function convDnnl(x: Float32Array, w: Float32Array, out: Float32Array, p: ConvParams, ls: readonly number[], rs: readonly number[], os: readonly number[], swappedOperands = false): boolean {
  const dnnl = cpuDnnl();
  if (!dnnl) return false;
  const key = JSON.stringify([ls, rs, p, swappedOperands]);
  let plan = plans.get(key);
  if (plan === undefined) plans.set(key, (plan = planConv(dnnl, p, ls, rs, os, swappedOperands)));
  if (!plan) return false;
  plan.run({ x, w, out });
  dnnlConvRuns[plan.kind]++;
  return true;
}

function planConv(dnnl: Dnnl, p: ConvParams, ls: readonly number[], rs: readonly number[], os: readonly number[], swappedOperands: boolean): Plan | null {
  if (p.lhsDilation[0] !== 1 || p.lhsDilation[1] !== 1) return null;
  // A grouped kernel gradient reads its input as [Cg, G*N, H, W], which no strided
  // descriptor of a [N, G*Cg, H, W] source describes; it stays on the BLAS path (convDual).
  if (rs[2] * rs[3] > os[2] * os[3]) return p.groups === 1 ? planKernelGradient(dnnl, p, ls, rs, os, swappedOperands) : null;
  return swappedOperands ? null : planForward(dnnl, p, ls, rs, os);
}

const dilates = (d: readonly number[]) => d.map((v) => v - 1);

function planForward(dnnl: Dnnl, p: ConvParams, ls: readonly number[], rs: readonly number[], os: readonly number[]): Plan | null {
  const G = p.groups;
  // Grouped weights are [G, O/G, I, KH, KW] to oneDNN: the same memory as OIHW.
  const wd = G === 1 ? [...rs] : [G, rs[0] / G, ...rs.slice(1)];
  const operands: Operand[] = [
    { arg: DNNL.argSrc, query: DNNL.querySrcMd, dims: [...ls], strides: contiguous(ls), array: "x" },
    { arg: DNNL.argWeights, query: DNNL.queryWeightsMd, dims: wd, strides: contiguous(wd), array: "w" },
    { arg: DNNL.argDst, query: DNNL.queryDstMd, dims: [...os], strides: contiguous(os), array: "out" },
  ];
  const init: InitDesc = (d, cd, [src, wei, dst]) =>
    d.fn.convFwd(
      cd,
      DNNL.forwardInference,
      DNNL.convolutionDirect,
      src,
      wei,
      null,
      dst,
      i64(p.strides),
      i64(dilates(p.rhsDilation)),
      i64(p.padding.map((q) => q[0])),
      i64(p.padding.map((q) => q[1])),
    ) === DNNL.success;
  return buildPlan("forward", dnnl, operands, init, [0, 1], [2]);
}

/**
 * out[c, o, i, j] = sum over n, y, x of lhs[c, n, i*s + y*r - lo] rhs[o, n, y, x] (per axis)
 * is the weight gradient of a forward convolution with input lhs read as [N=lhs's C, C=lhs's
 * N], output gradient rhs read as [N, O], stride r (our rhs dilation), dilation s (our
 * stride), and the high padding that makes its output exactly rhs's spatial size.
 */
function planKernelGradient(dnnl: Dnnl, p: ConvParams, ls: readonly number[], rs: readonly number[], os: readonly number[], swappedOperands: boolean): Plan | null {
  const src = [ls[1], ls[0], ls[2], ls[3]];
  const diffDst = [rs[1], rs[0], rs[2], rs[3]];
  const diffWei = [os[1], os[0], os[2], os[3]];
  const stride = p.rhsDilation;
  const dil = p.strides;
  const lo = p.padding.map((q) => q[0]);
  const hi = [0, 1].map((d) => (diffDst[2 + d] - 1) * stride[d] + (diffWei[2 + d] - 1) * dil[d] + 1 - src[2 + d] - lo[d]);
  // oneDNN rejects a negative high padding (the last rows are never read): the source is
  // described as only the rows that are, with the same strides.
  for (const d of [0, 1])
    if (hi[d] < 0) {
      src[2 + d] += hi[d];
      hi[d] = 0;
    }
  // The operands as the backward-weights pass sees them ([N, C, H, W] and [N, O, Ho, Wo]):
  // our arrays read with their leading axes swapped, or, when they are swapped already, as they are.
  const view = (shape: readonly number[]) => (swappedOperands ? contiguous([shape[1], shape[0], ...shape.slice(2)]) : swapped(shape));
  const operands: Operand[] = [
    { arg: DNNL.argSrc, query: DNNL.querySrcMd, dims: src, strides: view(ls), array: "x" },
    { arg: DNNL.argDiffDst, query: DNNL.queryDiffDstMd, dims: diffDst, strides: view(rs), array: "w" },
    { arg: DNNL.argDiffWeights, query: DNNL.queryDiffWeightsMd, dims: diffWei, strides: swapped(os), array: "out" },
  ];
  const init: InitDesc = (d, cd, [s, dd, dw]) => d.fn.convBwdWeights(cd, DNNL.convolutionDirect, s, dw, null, dd, i64(stride), i64(dilates(dil)), i64(lo), i64(hi)) === DNNL.success;
  return buildPlan("kernelGradient", dnnl, operands, init, [0, 1], [2]);
}

const i64 = (v: readonly number[]) => BigInt64Array.from(v, BigInt);

/** Operands in oneDNN's layouts, one buffer per operand slot shared by all plans (they run one at a time), grown as needed. */
const stagingBuffers: Float32Array[] = [];
function staging(slot: number, floats: number): Float32Array {
  if (!(stagingBuffers[slot]?.length >= floats)) stagingBuffers[slot] = new Float32Array(floats);
  return stagingBuffers[slot];
}

/**
 * The primitive for `init` on the layouts oneDNN picks (format `any`), with reorders from
 * and to our arrays where they differ; `inputs`/`outputs` index the operands. On our own
 * (strided) layouts oneDNN falls back to slow kernels: im2col + its sgemm for a forward
 * pass (slower than the BLAS path) and its reference loop for backward weights, where the
 * reorders plus its blocked kernels (AVX2 / AVX-512 JIT) took about half the BLAS path's time.
 */
function buildPlan(kind: Plan["kind"], dnnl: Dnnl, operands: Operand[], init: InitDesc, inputs: number[], outputs: number[]): Plan | null {
  const user = operands.map((o) => dnnl.stridedDesc(o.dims, o.strides));
  if (user.some((md) => md === null)) return null;
  const userMds = user as Uint8Array[];
  const opDesc = new Uint8Array(OP_DESC_BYTES);
  if (
    !init(
      dnnl,
      opDesc,
      operands.map((o) => dnnl.anyDesc(o.dims)),
    )
  )
    return null;
  const made = dnnl.primitive(
    opDesc,
    operands.map((o) => o.query),
  );
  if (!made) return null;
  const userMem = userMds.map((md) => dnnl.memory(md));
  // Per operand: the memory the primitive reads or writes, and the reorder to or from ours when its layout differs.
  const staged = operands.map((_, i) => {
    const chosen = made.mds[i];
    if (dnnl.fn.mdEqual(chosen, userMds[i])) return { memory: userMem[i], reorder: null, floats: 0 };
    const reorder = outputs.includes(i) ? dnnl.reorder(chosen, userMds[i]) : dnnl.reorder(userMds[i], chosen);
    return { memory: dnnl.memory(chosen), reorder, floats: Math.ceil(dnnl.bytes(chosen) / 4) };
  });
  const args = operands.map((o, i) => ({ arg: o.arg, memory: staged[i].memory }));
  return {
    kind,
    run(arrays) {
      operands.forEach((o, i) => {
        dnnl.setData(userMem[i], arrays[o.array]);
        if (staged[i].reorder) dnnl.setData(staged[i].memory, staging(i, staged[i].floats));
      });
      for (const i of inputs)
        if (staged[i].reorder)
          dnnl.execute(staged[i].reorder, [
            { arg: DNNL.argSrc, memory: userMem[i] },
            { arg: DNNL.argDst, memory: staged[i].memory },
          ]);
      dnnl.execute(made.primitive, args);
      for (const i of outputs)
        if (staged[i].reorder)
          dnnl.execute(staged[i].reorder, [
            { arg: DNNL.argSrc, memory: staged[i].memory },
            { arg: DNNL.argDst, memory: userMem[i] },
          ]);
    },
  };
}
