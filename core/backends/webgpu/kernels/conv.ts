/**
 * conv_general_dilated (NCHW input, OIHW kernel; strides, [lo, hi] padding that may crop,
 * lhs and rhs dilation, feature groups) as im2col plus the batched product kernels of
 * dot.ts: per group, the patches of a chunk of n images form a [Cg·KH·KW, n·Ho·Wo] matrix
 * in a scratch buffer (the images side by side, so a small Ho·Wo, as in a weight gradient's
 * 3x3 output, still fills the kernels' column tiles), and the group's kernel rows
 * [Og, Cg·KH·KW] (already contiguous in OIHW) multiply it; the stores map each
 * [G, Og, n·Ho·Wo] element to its place in [N, G, Og, Ho·Wo], which is NCHW. Images are
 * taken in chunks so the scratch stays under PATCH_LIMIT elements; a convolution whose
 * single image exceeds it runs the direct kernel shared with CUDA (../../clike/kernels/conv.ts).
 */
import type { ConvParams } from "../../../primitives/conv.ts";
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { gpuProgram, PLAIN_STORE, wgslPass, type GpuProgram, type OutputStore, type PassCode, type ProgramCode, type Ref } from "../program.ts";
import { convDirectPass, tap } from "../../clike/kernels/conv.ts";
import type { Wgsl } from "../../clike/wgsl.ts";
import { preferredStrategy, productPasses, zeroPass, type DotStrategy, type RhsSource } from "./dot.ts";
import { perElements } from "./grid.ts";
import type { Scratch } from "./split-k.ts";

/** Largest patch scratch buffer, in elements (64 MiB of f32). */
export const PATCH_LIMIT = 1 << 24;

const u = (n: number) => `${n >>> 0}u`;
const ceilTo = (n: number, m: number) => Math.ceil(n / m) * m;

interface Dims {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  Cg: number;
  KH: number;
  KW: number;
  Ho: number;
  Wo: number;
  G: number;
  Og: number;
}

/**
 * Gathers the patches of images [n0, n0 + cnt) into [G, Kp, Np], column j of a group's
 * matrix being position j % (Ho·Wo) of image n0 + j / (Ho·Wo) (zero-padded, zero where the
 * window leaves the input). An invocation fills one output row's Wo columns of one patch
 * row, so the index arithmetic (divisions that lavapipe runs lane by lane) is paid once per
 * row, not per element; where Wo is not a multiple of 4, one more item per patch row
 * zeroes its padding columns.
 */
function im2colPass(w: Wgsl, d: Dims, p: ConvParams, n0: number, cnt: number, Kp: number, Np: number, dst: Ref): PassCode {
  const K = d.Cg * d.KH * d.KW,
    S = d.Ho * d.Wo;
  // Rows of a multiple of 4 columns start aligned (Np is a multiple of 4), are stored as
  // vec4s, and leave no padding columns.
  const vec = d.Wo % 4 === 0;
  const rows = cnt * d.Ho + (vec ? 0 : 1);
  const total = d.G * Kp * rows;
  const element = (wo: string, v: string) => `{
      let wo_ = ${wo};
      ${tap(w, "ix", "wo_", "kx", p.strides[1], p.rhsDilation[1], p.padding[1][0], p.lhsDilation[1], d.W)}
      if (live && ok_ix) { ${v} = ${w.ld("x", "xrow + u32(ix)")}; }
    }`;
  const fill = vec
    ? `for (var wq = 0u; wq < ${u(d.Wo / 4)}; wq++) {
    var v4 = vec4<f32>();
    ${[0, 1, 2, 3].map((q) => element(`wq * 4u + ${u(q)}`, `v4[${q}]`)).join("\n    ")}
    ${w.st("dst", "jb / 4u + wq", "v4")}
  }`
    : `for (var wo = 0u; wo < ${u(d.Wo)}; wo++) {
    var v = 0.0;
    ${element("wo", "v")}
    ${w.st("dst", "jb + wo", "v")}
  }`;
  const body = `  let r = gi % ${u(rows)};
  let kp = (gi / ${u(rows)}) % ${u(Kp)};
  let g = gi / ${u(rows * Kp)};
  let prow = (g * ${u(Kp)} + kp) * ${u(Np)};
${
  vec
    ? ""
    : `  if (r == ${u(rows - 1)}) {
    for (var j = ${u(cnt * S)}; j < ${u(Np)}; j++) { ${w.st("dst", "prow + j", "0.0")} }
    continue;
  }
`
}  // Columns (n - n0)·S + ho·Wo + wo = r·Wo + wo.
  let jb = prow + r * ${u(d.Wo)};
  let n = ${u(n0)} + r / ${u(d.Ho)};
  let ho = r % ${u(d.Ho)};
  let c = kp / ${u(d.KH * d.KW)};
  let ky = (kp / ${u(d.KW)}) % ${u(d.KH)};
  let kx = kp % ${u(d.KW)};
  ${tap(w, "iy", "ho", "ky", p.strides[0], p.rhsDilation[0], p.padding[0][0], p.lhsDilation[0], d.H)}
  let live = kp < ${u(K)} && ok_iy;
  let xrow = ((n * ${u(d.C)} + g * ${u(d.Cg)} + c) * ${u(d.H)} + select(0u, u32(iy), live)) * ${u(d.W)};
  ${fill}`;
  return { ...perElements([w.storage(0, "x", "f32", false), w.storage(1, "dst", vec ? "vec4<f32>" : "f32", true)], total, body), bindings: [{ in: 0 }, dst] };
}

/** Kernel rows [O, K] zero-padded to [O, Kp]. */
function padRowsPass(w: Wgsl, O: number, K: number, Kp: number, dst: Ref): PassCode {
  const total = O * Kp;
  const body = `  let k = gi % ${u(Kp)};
  var v = 0.0;
  if (k < ${u(K)}) { v = ${w.ld("w", `(gi / ${u(Kp)}) * ${u(K)} + k`)}; }
  ${w.st("dst", "gi", "v")}`;
  return { ...perElements([w.storage(0, "w", "f32", false), w.storage(1, "dst", "f32", true)], total, body), bindings: [{ in: 1 }, dst] };
}

/**
 * The patch matrix of group ob over all images (column j = image j / S, position j % S)
 * without materialising it: the subgroup product kernel loads element (k, j) from the input
 * directly.
 */
function patchRhs(w: Wgsl, d: Dims, p: ConvParams): RhsSource {
  const K = d.Cg * d.KH * d.KW,
    S = d.Ho * d.Wo;
  const decls = `fn patch_elem(xb: u32, ho: u32, wo: u32, kr: u32) -> f32 {
  let c = kr / ${u(d.KH * d.KW)};
  let ky = (kr / ${u(d.KW)}) % ${u(d.KH)};
  let kx = kr % ${u(d.KW)};
  ${tap(w, "iy", "ho", "ky", p.strides[0], p.rhsDilation[0], p.padding[0][0], p.lhsDilation[0], d.H)}
  ${tap(w, "ix", "wo", "kx", p.strides[1], p.rhsDilation[1], p.padding[1][0], p.lhsDilation[1], d.W)}
  let ok = kr < ${u(K)} && ok_iy && ok_ix;
  let v = ${w.ld("b", `select(0u, xb + (c * ${u(d.H)} + u32(iy)) * ${u(d.W)} + u32(ix), ok)`)};
  return select(0.0, v, ok);
}`;
  return {
    decls,
    column: (m) => `  let jc${m} = min(j0 + l + ${u(8 * m)}, ${u(d.N * S - 1)});
  let s${m} = jc${m} % ${u(S)};
  let xb${m} = ((jc${m} / ${u(S)}) * ${u(d.C)} + ob * ${u(d.Cg)}) * ${u(d.H * d.W)};
  let ho${m} = s${m} / ${u(d.Wo)};
  let wo${m} = s${m} % ${u(d.Wo)};`,
    load: (m, kk) => `patch_elem(xb${m}, ho${m}, wo${m}, k + ${u(kk)})`,
  };
}

/**
 * `out` for a product over images [n0, n0 + cnt) laid out [G, Og, cnt·S]: each store goes to
 * that element's place in the NCHW output [N, G·Og, S].
 */
function imagesStore(d: Dims, n0: number, cnt: number, out: OutputStore): OutputStore {
  const S = d.Ho * d.Wo,
    cols = cnt * S;
  const fn = `fn image_index(i: u32) -> u32 {
  let j = i % ${u(cols)};
  return (${u(n0)} + j / ${u(S)}) * ${u(d.O * S)} + (i / ${u(cols)}) * ${u(S)} + j % ${u(S)};
}`;
  return { ...out, store: (w, i, v) => out.store(w, `image_index(${i})`, v), decls: (w) => `${out.decls(w)}\n${fn}` };
}

/**
 * The program for one convolution; `strategy` picks the product kernel, or "direct", and
 * `patchLimit` and `splitK` (see `productPasses`) force chunked patches and split K (tests).
 */
export function convProgram(
  [la, ra]: ShapedArray[],
  [oa]: ShapedArray[],
  params: ConvParams,
  strategy: DotStrategy | "direct" = preferredStrategy(),
  patchLimit = PATCH_LIMIT,
  out: OutputStore = PLAIN_STORE,
  splitK?: number,
): GpuProgram {
  return gpuProgram((w) => convPasses(w, [la, ra], [oa], params, strategy, patchLimit, out, splitK));
}

function convPasses(
  w: Wgsl,
  [la, ra]: ShapedArray[],
  [oa]: ShapedArray[],
  p: ConvParams,
  strategy: DotStrategy | "direct",
  patchLimit: number,
  out: OutputStore,
  splitK: number | undefined,
): ProgramCode {
  const [N, C, H, W] = la.shape;
  const [O, Cg, KH, KW] = ra.shape;
  const [, , Ho, Wo] = oa.shape;
  const d: Dims = { N, C, H, W, O, Cg, KH, KW, Ho, Wo, G: p.groups, Og: O / p.groups };
  const total = sizeOf(oa.shape);
  if (total === 0) return { passes: [] };
  const K = Cg * KH * KW,
    S = Ho * Wo;
  if (K === 0) {
    return { passes: [zeroPass(w, "float32", total, out)] };
  }
  const Kp = ceilTo(K, 4),
    Sp = ceilTo(S, 4);
  if (strategy === "direct") return { passes: [wgslPass(convDirectPass(w, [la, ra], [oa], p, out))] };
  if (strategy === "subgroup") {
    // Implicit im2col: no patch buffer, no chunks.
    const passes: PassCode[] = [];
    const scratch: Scratch = { temps: [] };
    let wRef: Ref = { in: 1 };
    if (Kp !== K) {
      wRef = { tmp: scratch.temps.push({ dtype: "float32", size: O * Kp }) - 1 };
      passes.push(padRowsPass(w, O, K, Kp, wRef));
    }
    const g = { dtype: "float32" as const, B: d.G, M: d.Og, N: N * S, Kp, Ma: d.Og, Np: ceilTo(N * S, 4), Ga: d.G, bb0: 0, rhs: patchRhs(w, d, p) };
    passes.push(...productPasses(w, strategy, g, wRef, { in: 0 }, imagesStore(d, 0, N, out), scratch, splitK));
    return { passes, temps: scratch.temps };
  }
  // A chunk of n images takes at most n times this (its columns pad to 4 once, not per image).
  const perImage = d.G * Kp * Sp;
  if (perImage > patchLimit) return { passes: [wgslPass(convDirectPass(w, [la, ra], [oa], p, out))] };
  const chunks = Math.ceil((N * perImage) / patchLimit);
  const per = Math.ceil(N / chunks);
  const scratch: Scratch = { temps: [{ dtype: "float32", size: d.G * Kp * ceilTo(per * S, 4) }] };
  const patches: Ref = { tmp: 0 };
  const passes: PassCode[] = [];
  let wRef: Ref = { in: 1 };
  if (Kp !== K) {
    wRef = { tmp: scratch.temps.push({ dtype: "float32", size: O * Kp }) - 1 };
    passes.push(padRowsPass(w, O, K, Kp, wRef));
  }
  for (let n0 = 0; n0 < N; n0 += per) {
    const cnt = Math.min(per, N - n0);
    const Np = ceilTo(cnt * S, 4);
    passes.push(im2colPass(w, d, p, n0, cnt, Kp, Np, patches));
    const g = { dtype: "float32" as const, B: d.G, M: d.Og, N: cnt * S, Kp, Ma: d.Og, Np, Ga: d.G, bb0: 0 };
    passes.push(...productPasses(w, strategy, g, wRef, patches, imagesStore(d, n0, cnt, out), scratch, splitK));
  }
  return { passes, temps: scratch.temps };
}
