/**
 * dot_general as a batched matrix product [B, M, K] x [B, K, N] -> [B, M, N]. Operands whose
 * axes are not already in that order, or whose K (lhs) or N (rhs) is not a multiple of 4,
 * are first gathered into zero-padded scratch buffers. Three product kernels, chosen per
 * adapter:
 * - real GPUs: shared-memory tiles (64x64 per workgroup).
 * - lavapipe (llvmpipe runs 8 invocations as one SIMD vector and loads every lane's element
 *   separately, about 12 FMAs' worth each; barriers are costly too): register blocks without
 *   workgroup memory, so what counts is multiply-adds per loaded element.
 * - lavapipe with the `subgroups` feature: lanes load disjoint pieces of the rhs row and
 *   share them with subgroupBroadcast (a register shuffle there), 1.6x the register kernel.
 * Integer products wrap (WGSL's i32/u32 arithmetic), like the CPU's Math.imul path.
 */
import type { DType } from "../../../dtype.ts";
import type { RoutineParams } from "../../../routines.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { productDims } from "../../clike/kernels/dot-dims.ts";
import { getBackend } from "../../../backend.ts";
import type { GpuContext } from "../device.ts";
import { gpuProgram, PLAIN_STORE, type GpuProgram, type OutputStore, type PassCode, type Ref } from "../program.ts";
import { storageType, type Wgsl } from "../../clike/wgsl.ts";
import { LINEAR_WORKGROUP, literal, MAIN_ARGS, NONFINITE, wgslType } from "../wgsl.ts";
import { perElements } from "./grid.ts";
import { chooseSplit, kRange, partialStore, partialsRef, sumSplitsPass, type KSplit, type Scratch } from "./split-k.ts";

export type DotStrategy = "register" | "subgroup" | "shared";

/** What the kernels of this file need to know about the adapter. */
export interface GpuCaps {
  software: boolean;
  /** The device has `subgroups` enabled and every subgroup has 8 invocations (lavapipe on AVX2). */
  subgroups8: boolean;
  /** The product kernel timed fastest at start (autotune.ts), for an adapter that does not say what it is. */
  tuned?: DotStrategy;
}

/** What the device of `ctx` offers the product kernels, and the kernel timed for it if any. */
export function capsOf(ctx: GpuContext, tuned?: DotStrategy): GpuCaps {
  const info = (ctx.device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const subgroups8 = ctx.device.features.has("subgroups") && info?.subgroupMinSize === 8 && info?.subgroupMaxSize === 8;
  return { software: ctx.software, subgroups8, ...(tuned ? { tuned } : {}) };
}

/** The running WebGPU backend's adapter, read when a kernel is built. */
export function gpuCaps(): GpuCaps {
  try {
    const be = getBackend("webgpu") as unknown as { ctx: GpuContext; tuning?: { strategy: DotStrategy } };
    return capsOf(be.ctx, be.tuning?.strategy);
  } catch {
    return { software: true, subgroups8: false };
  }
}

/** The product kernels an adapter of `caps` can run (the subgroup kernel assumes 8-wide subgroups). */
export function productStrategies(caps: GpuCaps = gpuCaps()): DotStrategy[] {
  return caps.subgroups8 ? ["register", "shared", "subgroup"] : ["register", "shared"];
}

/** The product kernel this adapter prefers: the timed one, else by what the adapter says it is. */
export function preferredStrategy(): DotStrategy {
  const caps = gpuCaps();
  return caps.tuned ?? (!caps.software ? "shared" : caps.subgroups8 ? "subgroup" : "register");
}

const u = (n: number) => `${n >>> 0}u`;
const ceilTo = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * WGSL statements setting `off` to the source offset of index `idx` of a row-major walk over
 * `axes` of a tensor with strides `st` (each group flattened in the order listed).
 */
function groupOffset(off: string, idx: string, axes: number[], shape: readonly number[], st: number[]): string {
  const lines = [`var ${off} = 0u;`, `var ${off}_r = ${idx};`];
  for (let k = axes.length - 1; k >= 0; k--) {
    const a = axes[k];
    lines.push(`${off} += (${off}_r % ${u(shape[a])}) * ${u(st[a])};`, `${off}_r = ${off}_r / ${u(shape[a])};`);
  }
  return lines.join("\n  ");
}

/**
 * A pass gathering `src` (shape `shape`) into a row-major [G0, P1, P2] scratch buffer whose
 * rows are the axis groups `g0`, `g1`, `g2`, zero-padded from their sizes n1, n2 to P1, P2.
 */
function packPass(d: Wgsl, dtype: DType, shape: readonly number[], [g0, g1, g2]: number[][], [P1, P2]: number[], src: Ref, dst: Ref): PassCode {
  const st = stridesOf(shape);
  const n1 = sizeOf(g1.map((a) => shape[a]));
  const n2 = sizeOf(g2.map((a) => shape[a]));
  const total = sizeOf(g0.map((a) => shape[a])) * P1 * P2;
  const body = `  let j2 = gi % ${u(P2)};
  let j1 = (gi / ${u(P2)}) % ${u(P1)};
  let j0 = gi / ${u(P1 * P2)};
  if (j1 >= ${u(n1)} || j2 >= ${u(n2)}) { ${d.st("dst", "gi", literal(0, dtype))} continue; }
  ${groupOffset("o0", "j0", g0, shape, st)}
  ${groupOffset("o1", "j1", g1, shape, st)}
  ${groupOffset("o2", "j2", g2, shape, st)}
  ${d.st("dst", "gi", d.ld("src", "o0 + o1 + o2"))}`;
  return { ...perElements([d.storage(0, "src", wgslType(dtype), false), d.storage(1, "dst", wgslType(dtype), true)], total, body), bindings: [src, dst] };
}

const isIdentity = (perm: number[]) => perm.every((p, i) => p === i);

/** A batched product [B, M, Kp] x [B, Kp, Np] -> [B, M, N] as the product kernels see it. */
export interface Geometry {
  /** The operands' and output's element type (the kernels' WGSL type follows from it). */
  dtype: DType;
  /** Batches this pass computes. */
  B: number;
  M: number;
  N: number;
  /** K padded to a multiple of 4. */
  Kp: number;
  /** Rows per lhs batch (M; a convolution group's output channels). */
  Ma: number;
  /** Columns of the rhs buffer (N rounded up to 4). */
  Np: number;
  /** Batches of the lhs buffer: batch bb reads lhs batch (bb0 + bb) % Ga (a convolution's groups). */
  Ga: number;
  /** The first batch of this pass in the lhs and output numbering (chunked convolutions). */
  bb0: number;
  /**
   * Where the subgroup kernel's rhs elements come from, when not from a dense [B, Kp, Np]
   * buffer (a convolution reads its patches straight from the input). WGSL, given the
   * column slot m (column j0 + l + 8m) and the K offset kk within an unrolled step.
   */
  rhs?: RhsSource;
  /** K split over workgroups (split-k.ts): the kernel sums chunk `ks` of K and stores it through a `partialStore`. */
  split?: KSplit;
}

export interface RhsSource {
  /** Module-scope WGSL (helper functions; the rhs binding is `b`). */
  decls: string;
  /** Declarations before the K loop for column slot m (may use ob, j0, l). */
  column(m: number): string;
  /** An expression for the element at column slot m, row k + kk. */
  load(m: number, kk: number): string;
}

/** The dense rhs [B, Kp, Np]. */
function denseRhs(d: Wgsl, g: Geometry): RhsSource {
  return {
    decls: "",
    column: (m) => `  let bc${m} = bb * ${u(g.Kp * g.Np)} + min(j0 + l + ${u(8 * m)}, ${u(g.N - 1)});`,
    load: (m, kk) => d.ld("b", `bc${m} + (k + ${u(kk)}) * ${u(g.Np)}`),
  };
}

/** WGSL declaring `ab` (lhs batch) and `ob` (output batch) from the pass-local batch `bb`. */
function batchIndices(g: Geometry): string {
  const ob = g.bb0 === 0 ? "bb" : `(bb + ${u(g.bb0)})`;
  const ab = g.Ga === g.B && g.bb0 === 0 ? "bb" : `(${ob} % ${u(g.Ga)})`;
  return `  let ab = ${ab};\n  let ob = ${ob};`;
}

/**
 * Register blocking: each invocation computes TM rows x 4·TN4 columns, reading TM vec4s of
 * lhs and 4·TN4 vec4s of rhs per 4 steps of K (TM·4·TN4·4 multiply-adds per 4·(TM + 4·TN4)
 * loaded elements; larger blocks spill on lavapipe).
 */
function registerPass(d: Wgsl, g: Geometry, TM: number, TN4: number, KV: number, [aw, bw]: boolean[], out: OutputStore): PassCode {
  const { B, M, N, Kp, Ma, Np } = g;
  const T = wgslType(g.dtype);
  const K4 = Kp / 4,
    N4 = Np / 4;
  const MT = Math.ceil(M / TM),
    NT = Math.ceil(N4 / TN4);
  // A workgroup takes RB row tiles by 64 / RB column tiles, and consecutive workgroups
  // walk the row blocks first: the rhs columns a workgroup reads are read again by the next
  // ones while still in cache. (Walking all column tiles of one row first streamed a wide
  // rhs from memory once per row tile: a convolution's [64, 288] x [288, 65536] took 3x as
  // long as a square product of the same work.)
  const RB = Math.min(8, 2 ** Math.floor(Math.log2(MT))),
    CB = 64 / RB;
  const RBn = Math.ceil(MT / RB),
    CBn = Math.ceil(NT / CB);
  const blocks = B * RBn * CBn;
  const total = blocks * (g.split?.splits ?? 1);
  const R = [...Array(TM).keys()],
    C = [...Array(TN4).keys()],
    Q = [0, 1, 2, 3];
  const lines: string[] = [batchIndices(g)];
  // KV = 4: lhs read as vec4s along K; KV = 1: as scalars, a 4x smaller loop body (faster to compile).
  const aStride = KV === 4 ? K4 : Kp;
  for (const r of R) lines.push(`  let ar${r} = (ab * ${u(Ma)} + min(i0 + ${u(r)}, ${u(M - 1)})) * ${u(aStride)};`);
  for (const c of C) lines.push(`  let bc${c} = bb * ${u(Kp * N4)} + min(j0 + ${u(c)}, ${u(N4 - 1)});`);
  for (const r of R) for (const c of C) lines.push(`  var acc${r}_${c} = vec4<${T}>();`);
  lines.push(kRange(g.split, Kp, KV), `  for (var k = kb; k < ke; k++) {`);
  for (const r of R) lines.push(`    let a${r} = ${d.ld("a", `ar${r} + k`)};`);
  lines.push(`    let kr = k * ${u(KV * N4)};`);
  const QV = KV === 4 ? Q : [0];
  for (const c of C) for (const q of QV) lines.push(`    let b${q}_${c} = ${d.ld("b", `bc${c} + kr + ${u(q * N4)}`)};`);
  for (const r of R)
    for (const c of C) {
      if (KV === 4) lines.push(`    acc${r}_${c} += a${r}.x * b0_${c} + a${r}.y * b1_${c} + a${r}.z * b2_${c} + a${r}.w * b3_${c};`);
      else lines.push(`    acc${r}_${c} += a${r} * b0_${c};`);
    }
  lines.push("  }");
  for (const r of R) {
    lines.push(`  if (i0 + ${u(r)} < ${u(M)}) {`, `    let o = (ob * ${u(M)} + i0 + ${u(r)}) * ${u(N)};`);
    for (const c of C) {
      for (const q of Q) lines.push(`    if ((j0 + ${u(c)}) * 4u + ${u(q)} < ${u(N)}) { ${out.store(d, `o + (j0 + ${u(c)}) * 4u + ${u(q)}`, `acc${r}_${c}[${q}]`)} }`);
    }
    lines.push("  }");
  }
  const code = `${d.storage(0, "a", KV === 4 ? `vec4<${T}>` : T, aw)}
${d.storage(1, "b", `vec4<${T}>`, bw)}
${productOut(d, T, out)}
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  let wg = ${LINEAR_WORKGROUP};
  if (wg >= ${u(total)}) { return; }
  let ks = wg / ${u(blocks)};
  let blk = wg % ${u(blocks)};
  let ti = (blk % ${u(RBn)}) * ${u(RB)} + lid / ${u(CB)};
  let tj = ((blk / ${u(RBn)}) % ${u(CBn)}) * ${u(CB)} + lid % ${u(CB)};
  if (ti >= ${u(MT)} || tj >= ${u(NT)}) { return; }
  let j0 = tj * ${u(TN4)};
  let i0 = ti * ${u(TM)};
  let bb = blk / ${u(RBn * CBn)};
${lines.join("\n")}
}
`;
  return { code, bindings: [], workgroups: total };
}

/**
 * Shared-memory tiles for real GPUs: a 16x16 workgroup computes a 64x64 tile, staging
 * 64x16 slices of both operands in workgroup memory; each invocation owns a 4x4 block
 * strided by 16 (conflict-free reads).
 */
function sharedPass(d: Wgsl, g: Geometry, [aw, bw]: boolean[], out: OutputStore): PassCode {
  const { B, M, N, Kp, Ma, Np } = g;
  const T = wgslType(g.dtype);
  const MT = Math.ceil(M / 64),
    NT = Math.ceil(N / 64);
  const tiles = B * MT * NT;
  const total = tiles * (g.split?.splits ?? 1);
  const R = [0, 1, 2, 3];
  const zero = `${T}(0)`;
  const acc = R.flatMap((r) => R.map((c) => `  var c${r}${c} = ${zero};`)).join("\n");
  const fma = R.flatMap((r) => R.map((c) => `      c${r}${c} += a${r} * b${c};`)).join("\n");
  const store = R.flatMap((r) =>
    R.map((c) => `  if (row0 + ${u(16 * r)} < ${u(M)} && col0 + ${u(16 * c)} < ${u(N)}) { ${out.store(d, `(ob * ${u(M)} + row0 + ${u(16 * r)}) * ${u(N)} + col0 + ${u(16 * c)}`, `c${r}${c}`)} }`),
  ).join("\n");
  const code = `${d.storage(0, "a", T, aw)}
${d.storage(1, "b", T, bw)}
${productOut(d, T, out)}
var<workgroup> As: array<${T}, 1024>;
var<workgroup> Bs: array<${T}, 1024>;
@compute @workgroup_size(256)
fn main(${MAIN_ARGS}) {
  let wg = ${LINEAR_WORKGROUP};
  if (wg >= ${u(total)}) { return; }
  let ks = wg / ${u(tiles)};
  let tile = wg % ${u(tiles)};
  let tn = tile % ${u(NT)};
  let tm = (tile / ${u(NT)}) % ${u(MT)};
  let bb = tile / ${u(NT * MT)};
  let tx = lid % 16u;
  let ty = lid / 16u;
${batchIndices(g)}
${acc}
${kRange(g.split, Kp)}
  for (var k0 = kb; k0 < ke; k0 += 16u) {
    for (var l = 0u; l < 4u; l++) {
      let e = lid + l * 256u;
      let m = e / 16u;
      let kk = e % 16u;
      let row = tm * 64u + m;
      var av = ${zero};
      if (row < ${u(M)} && k0 + kk < ke) { av = ${d.ld("a", `(ab * ${u(Ma)} + row) * ${u(Kp)} + k0 + kk`)}; }
      As[kk * 64u + m] = av;
      let kr = e / 64u;
      let n = e % 64u;
      let col = tn * 64u + n;
      var bv = ${zero};
      if (col < ${u(Np)} && k0 + kr < ke) { bv = ${d.ld("b", `(bb * ${u(Kp)} + k0 + kr) * ${u(Np)} + col`)}; }
      Bs[kr * 64u + n] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
${R.map((r) => `      let a${r} = As[kk * 64u + ty + ${u(16 * r)}];`).join("\n")}
${R.map((c) => `      let b${c} = Bs[kk * 64u + tx + ${u(16 * c)}];`).join("\n")}
${fma}
    }
    workgroupBarrier();
  }
  let row0 = tm * 64u + ty;
  let col0 = tn * 64u + tx;
${store}
}
`;
  return { code, bindings: [], workgroups: total };
}

/**
 * Subgroup sharing (lavapipe, subgroups of 8): a subgroup computes 8·RL rows x SC columns;
 * lane l owns rows l, l+8, ... and loads rhs columns l, l+8, ... of each k, which all lanes
 * then take by subgroupBroadcast. Per k a lane loads RL + SC/8 elements for RL·SC
 * multiply-adds. No early returns: subgroup operations need uniform control flow.
 */
function subgroupPass(d: Wgsl, g: Geometry, [aw, bw]: boolean[], out: OutputStore): PassCode {
  const { B, M, N, Kp, Ma } = g;
  const T = wgslType(g.dtype);
  const rhs = g.rhs ?? denseRhs(d, g);
  const RL = 2,
    SC = 16,
    KU = 2;
  const R = [...Array(RL).keys()],
    C = [...Array(SC).keys()],
    CM = [...Array(SC / 8).keys()],
    KK = [...Array(KU).keys()];
  const MT = Math.ceil(M / (8 * RL)),
    NT = Math.ceil(N / SC);
  const tiles = B * MT * NT;
  // Split K is taken per workgroup, so the K loop's bounds stay uniform (subgroupBroadcast needs that).
  const perSplit = Math.ceil(tiles / 8);
  const L: string[] = [batchIndices(g)];
  for (const r of R) L.push(`  let ar${r} = (ab * ${u(Ma)} + min(i0 + l + ${u(8 * r)}, ${u(M - 1)})) * ${u(Kp)};`);
  for (const m of CM) L.push(rhs.column(m));
  for (const r of R) for (const c of C) L.push(`  var acc${r}_${c} = ${T}(0);`);
  L.push(kRange(g.split, Kp), `  for (var k = kb; k < ke; k += ${u(KU)}) {`);
  for (const kk of KK) {
    for (const r of R) L.push(`    let a${r}_${kk} = ${d.ld("a", `ar${r} + k + ${u(kk)}`)};`);
    for (const m of CM) L.push(`    let b${m}_${kk} = ${rhs.load(m, kk)};`);
    for (const c of C) {
      L.push(`    { let s = subgroupBroadcast(b${c >> 3}_${kk}, ${u(c & 7)});`);
      for (const r of R) L.push(`      acc${r}_${c} += a${r}_${kk} * s;`);
      L.push("    }");
    }
  }
  L.push("  }");
  for (const r of R) {
    L.push(`  if (i0 + l + ${u(8 * r)} < ${u(M)} && t0 < ${u(tiles)}) {`, `    let o = (ob * ${u(M)} + i0 + l + ${u(8 * r)}) * ${u(N)} + j0;`);
    for (const c of C) L.push(`    if (j0 + ${u(c)} < ${u(N)}) { ${out.store(d, `o + ${u(c)}`, `acc${r}_${c}`)} }`);
    L.push("  }");
  }
  const code = `enable subgroups;
${d.storage(0, "a", T, aw)}
${d.storage(1, "b", T, bw)}
${productOut(d, T, out)}
${rhs.decls}
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  let wg = ${LINEAR_WORKGROUP};
  let ks = wg / ${u(perSplit)};
  let t0 = (wg % ${u(perSplit)}) * 8u + lid / 8u;
  let t = min(t0, ${u(tiles - 1)});
  let l = lid % 8u;
  let j0 = (t % ${u(NT)}) * ${u(SC)};
  let i0 = ((t / ${u(NT)}) % ${u(MT)}) * ${u(8 * RL)};
  let bb = t / ${u(NT * MT)};
${L.join("\n")}
}
`;
  return { code, bindings: [], workgroups: perSplit * (g.split?.splits ?? 1) };
}

/** Register-blocking tile per invocation (rows, vec4 column groups); tuned on lavapipe. */
export const REGISTER_TILE = { TM: 4, TN4: 1, KV: 4 };

/** The declarations of a product pass's output (binding 2) and of what its stores need (bindings 3 on). */
function productOut(d: Wgsl, T: string, out: OutputStore): string {
  return [NONFINITE, d.storage(2, "out", T, true), ...out.bufs.map((b, j) => d.storage(3 + j, b.name, storageType(b), !!b.write)), out.decls(d)].join("\n");
}

/** The program for one dot_general; `strategy` picks the product kernel (tests force each). */
export function dotProgram(
  ins: ShapedArray[],
  outs: ShapedArray[],
  params: RoutineParams["dot_general"],
  strategy: DotStrategy = preferredStrategy(),
  out: OutputStore = PLAIN_STORE,
  splitK?: number,
): GpuProgram {
  return gpuProgram((d) => dotPasses(d, ins, outs, params, strategy, out, splitK));
}

function dotPasses(
  d: Wgsl,
  [la, ra]: ShapedArray[],
  [oa]: ShapedArray[],
  params: RoutineParams["dot_general"],
  strategy: DotStrategy,
  out: OutputStore,
  splitK: number | undefined,
): { passes: PassCode[]; temps?: { dtype: DType; size: number }[] } {
  const { lb, lf, lc, rb, rf, rc, B, M, K, N } = productDims(la, ra, params);
  if (B * M * N === 0) return { passes: [] };
  if (K === 0) {
    const n = B * M * N;
    return { passes: [zeroPass(d, oa.dtype, n, out)] };
  }
  const Kp = ceilTo(K, 4),
    Np = ceilTo(N, 4);
  const packK = Kp !== K;
  const packA = packK || !isIdentity([...lb, ...lf, ...lc]);
  const packB = packK || Np !== N || !isIdentity([...rb, ...rc, ...rf]);
  const scratch: Scratch = { temps: [] };
  const temps = scratch.temps;
  const passes: PassCode[] = [];
  let aRef: Ref = { in: 0 },
    bRef: Ref = { in: 1 };
  if (packA) {
    aRef = { tmp: temps.length };
    temps.push({ dtype: la.dtype, size: B * M * Kp });
    passes.push(packPass(d, la.dtype, la.shape, [lb, lf, lc], [M, Kp], { in: 0 }, aRef));
  }
  if (packB) {
    bRef = { tmp: temps.length };
    temps.push({ dtype: ra.dtype, size: B * Kp * Np });
    passes.push(packPass(d, ra.dtype, ra.shape, [rb, rc, rf], [Kp, Np], { in: 1 }, bRef));
  }
  passes.push(...productPasses(d, strategy, { dtype: oa.dtype, B, M, N, Kp, Ma: M, Np, Ga: B, bb0: 0 }, aRef, bRef, out, scratch, splitK));
  return { passes, temps };
}

/**
 * The passes of one product of `strategy` over lhs `aRef`, rhs `bRef` into output 0: the
 * product kernel alone, or, where few output tiles meet a long K (split-k.ts), the kernel
 * over chunks of K into partial sums and a pass adding them. `splitK` forces a number of
 * splits (tests; 1 never splits).
 */
export function productPasses(d: Wgsl, strategy: DotStrategy, g: Geometry, aRef: Ref, bRef: Ref, out: OutputStore, scratch: Scratch, splitK?: number): PassCode[] {
  const whole = productKernel(d, strategy, g, aRef, bRef, out);
  const split = chooseSplit(whole.workgroups, g.Kp, splitK);
  if (!split) return [{ ...whole, bindings: [aRef, bRef, { out: 0 }, ...out.bindings] }];
  const n = g.B * g.M * g.N,
    base = g.bb0 * g.M * g.N;
  const part = partialsRef(scratch, g.dtype, split.splits * n);
  const partial = productKernel(d, strategy, { ...g, split }, aRef, bRef, partialStore(n, base));
  return [{ ...partial, bindings: [aRef, bRef, part] }, sumSplitsPass(d, wgslType(g.dtype), n, base, split.splits, part, out)];
}

function productKernel(d: Wgsl, strategy: DotStrategy, g: Geometry, aRef: Ref, bRef: Ref, out: OutputStore): PassCode {
  // Scratch buffers are bound read_write (the runtime's layout follows the Ref kind).
  const writable = [aRef, bRef].map((r) => !("in" in r));
  return strategy === "register"
    ? registerPass(d, g, REGISTER_TILE.TM, REGISTER_TILE.TN4, REGISTER_TILE.KV, writable, out)
    : strategy === "subgroup"
      ? subgroupPass(d, g, writable, out)
      : sharedPass(d, g, writable, out);
}

/** Output 0 (n elements) all zeros, as a product over an empty K stores them. */
export function zeroPass(d: Wgsl, dtype: DType, n: number, out: OutputStore): PassCode {
  const decls = [d.storage(0, "out", wgslType(dtype), true), ...out.bufs.map((b, j) => d.storage(1 + j, b.name, storageType(b), !!b.write)), out.decls(d)];
  return { ...perElements(decls, n, `  ${out.store(d, "gi", literal(0, dtype))}`), bindings: [{ out: 0 }, ...out.bindings] };
}
