/**
 * Split-K for the product kernels of dot.ts. The kernels tile only the output, so a product
 * whose output is small but whose K is huge (a weight gradient: [Og, N·Ho·Wo] x
 * [N·Ho·Wo, KH·KW], K = 200704 for a batch of 256 28x28 images) runs on a handful of
 * workgroups, each walking all of K: a big GPU sits idle, and so do lavapipe's threads.
 * Split, each workgroup takes one chunk of K and writes its partial sums into a scratch
 * buffer [splits, B, M, N]; a second pass adds the splits in order (so results do not depend
 * on scheduling) and makes the final store, through the `OutputStore`, so a fused epilogue
 * applies once, to the sum.
 */
import type { DType } from "../../../dtype.ts";
import type { Wgsl } from "../../clike/wgsl.ts";
import { storageType } from "../../clike/wgsl.ts";
import type { OutputStore, PassCode, Ref } from "../program.ts";
import { perElements } from "./grid.ts";

/** K cut into `splits` chunks of `chunk` elements (a multiple of `SPLIT_GRANULE`; the last may be shorter). */
export interface KSplit {
  splits: number;
  chunk: number;
}

/**
 * Workgroups a split product aims for. A large GPU keeps a few workgroups per SM resident
 * (132 SMs on an H100), so 512 fills one with room for imbalance; lavapipe needs far fewer
 * but pays little for more (a workgroup costs microseconds there).
 */
export const SPLIT_WORKGROUPS = 512;
/**
 * The shortest chunk of K worth splitting off: each split stores and the sum pass reloads
 * its whole output tile once, which is under 1% of the tile's multiply-adds from 256 steps of
 * K on; shorter chunks would trade that for nothing.
 */
export const MIN_CHUNK = 256;
/** Chunks are whole steps of every kernel's K loop (the shared-memory kernel stages 16). */
export const SPLIT_GRANULE = 16;

const u = (n: number) => `${n >>> 0}u`;
const ceilTo = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * How to split K (padded to `Kp`) for a product kernel that runs `workgroups` workgroups
 * unsplit; undefined to run it whole. The rule: enough splits to reach SPLIT_WORKGROUPS,
 * but no chunk under MIN_CHUNK, so only products with few output tiles and a long K split
 * (the output, and so the scratch, stays under SPLIT_WORKGROUPS tiles). `force` (tests)
 * asks for that many splits, as far as chunks of SPLIT_GRANULE allow; 1 never splits.
 *
 * @example
 * chooseSplit(16, 200704); // { splits: 32, chunk: 6272 }: 512 workgroups
 * chooseSplit(16, 1024); // { splits: 4, chunk: 256 }
 * chooseSplit(600, 200704); // undefined: the output alone fills the GPU
 */
export function chooseSplit(workgroups: number, Kp: number, force?: number): KSplit | undefined {
  const want = force ?? Math.min(Math.ceil(SPLIT_WORKGROUPS / workgroups), Math.floor(Kp / MIN_CHUNK));
  if (want < 2) return undefined;
  const chunk = ceilTo(Math.ceil(Kp / want), SPLIT_GRANULE);
  const splits = Math.ceil(Kp / chunk);
  return splits < 2 ? undefined : { splits, chunk };
}

/**
 * WGSL declaring `kb` and `ke`, the K range (in steps of `unit` elements) of split `ks`,
 * or the whole of K (`Kp` elements) unsplit.
 */
export function kRange(split: KSplit | undefined, Kp: number, unit = 1): string {
  if (!split) return `  let kb = 0u;\n  let ke = ${u(Kp / unit)};`;
  return `  let kb = ks * ${u(split.chunk / unit)};\n  let ke = min(kb + ${u(split.chunk / unit)}, ${u(Kp / unit)});`;
}

/**
 * Stores of split `ks` of a product whose output elements [base, base + n) this pass
 * computes: into the scratch buffer (bound as the product's `out`) at [ks, index - base].
 */
export function partialStore(n: number, base: number): OutputStore {
  const off = base === 0 ? "" : ` - ${u(base)}`;
  return { store: (d, i, v) => d.st("out", `ks * ${u(n)} + ${i}${off}`, v), bufs: [], decls: () => "", bindings: [] };
}

/** Output elements [base, base + n): the sum of `splits` partial results in `part`, stored through `out`. */
export function sumSplitsPass(d: Wgsl, T: string, n: number, base: number, splits: number, part: Ref, out: OutputStore): PassCode {
  // Scratch buffers are bound read_write (the runtime's layout follows the Ref kind).
  const decls = [d.storage(0, "part", T, true), d.storage(1, "out", T, true), ...out.bufs.map((b, j) => d.storage(2 + j, b.name, storageType(b), !!b.write)), out.decls(d)];
  const body = `  var s = ${d.ld("part", "gi")};
  for (var ks = 1u; ks < ${u(splits)}; ks++) { s += ${d.ld("part", `ks * ${u(n)} + gi`)}; }
  ${out.store(d, base === 0 ? "gi" : `${u(base)} + gi`, "s")}`;
  return { ...perElements(decls, n, body), bindings: [part, { out: 0 }, ...out.bindings] };
}

/** A program's scratch buffers as its passes are written; the product passes share one partial-sum buffer. */
export interface Scratch {
  temps: { dtype: DType; size: number }[];
  /** Which of `temps` holds partial sums, once a split product needs it. */
  partials?: number;
}

/** The partial-sum buffer of `scratch`, grown to `size` elements. */
export function partialsRef(scratch: Scratch, dtype: DType, size: number): Ref {
  if (scratch.partials === undefined) {
    scratch.partials = scratch.temps.length;
    scratch.temps.push({ dtype, size });
  } else {
    const t = scratch.temps[scratch.partials];
    t.size = Math.max(t.size, size);
  }
  return { tmp: scratch.partials };
}
