/**
 * scatter_add along one axis, indices clamped into the axis as on the CPU (take is a kernel
 * of the IR: a load at a gathered index).
 * scatter_add has colliding indices. Where the dialect has float atomics (CUDA) each
 * update adds itself to its target with `atomicAdd`; elsewhere (WGSL), and for bytes
 * (bool), a float CAS loop would spin without bound when many updates hit one element (the
 * gradient of a broadcast row), so the updates are grouped by index with a counting sort
 * (integer atomics only) and each output element sums its group: O(m + n) work whatever
 * the collisions. Either way the order of colliding float updates is not fixed, so float
 * sums may differ from the CPU's in the last bits; integer sums are exact.
 */
import type { DType } from "../../../dtype.ts";
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { elementwise, type Buf, type Clike, type ClikePass, type Ref } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";
import type { RoutineParams } from "../../../routines.ts";

/** Statements declaring `k`, element `j` of idx clamped into [0, n). */
function clamped(d: Clike, idx: ShapedArray, j: string, n: number): string {
  const last = `${n - 1}u`;
  const v = d.cast("v", idx.dtype, "index");
  const k = idx.dtype === "int32" ? d.select("v < 0", "0u", d.select(`${v} > ${last}`, last, v)) : d.select(`v > ${last}`, last, "v");
  return `${d.let("v", idx.dtype, d.ld("idx", j))}\n  ${d.let("k", "index", k)}`;
}

/** outer, n, inner of an operand split at `axis`. */
function split(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

/** Scratch buffers of a program, handed out as they are needed. */
class Scratch {
  readonly temps: { dtype: "uint32"; size: number }[] = [];
  add(size: number): Ref {
    this.temps.push({ dtype: "uint32", size });
    return { tmp: this.temps.length - 1 };
  }
}

const u32 = (name: string, atomic = false): Buf => ({ name, dtype: "uint32", write: true, atomic });

/** Elements one invocation scans serially; the chunk totals are scanned recursively. */
const CHUNK = 256;

/**
 * Passes replacing the L u32s of `buf` by their exclusive prefix sums, also written to `out`.
 * Each invocation scans one chunk serially (no group barriers, which software adapters
 * run slowly); three passes per level, CHUNK-fold fewer elements each level.
 */
function scanPasses(d: Clike, buf: Ref, out: Ref, L: number, scratch: Scratch): ClikePass[] {
  const serial = (from: string, to: string, init: string) => `  ${d.var("run", "uint32", init)}
  ${d.loop("i", from, `i < ${to}`, "i += 1u")} { ${d.let("c", "uint32", d.ld("buf", "i"))} ${d.st("buf", "i", "run")} ${d.st("out", "i", "run")} run += c; }`;
  if (L <= 4 * CHUNK) return [elementwise(d, [u32("buf"), u32("out")], [buf, out], 1, serial("0u", `${L}u`, "0u"))];
  const G = Math.ceil(L / CHUNK);
  const sums = scratch.add(G);
  const offs = scratch.add(G);
  const chunk = `  ${d.let("lo", "index", `gi * ${CHUNK}u`)}
  ${d.let("hi", "index", d.select(`lo + ${CHUNK}u < ${L}u`, `lo + ${CHUNK}u`, `${L}u`))}`;
  return [
    elementwise(
      d,
      [u32("buf"), u32("sums")],
      [buf, sums],
      G,
      `${chunk}
  ${d.var("s", "uint32", "0u")}
  ${d.loop("i", "lo", "i < hi", "i += 1u")} { s += ${d.ld("buf", "i")}; }
  ${d.st("sums", "gi", "s")}`,
    ),
    ...scanPasses(d, sums, offs, G, scratch),
    elementwise(d, [u32("buf"), u32("out"), u32("offs")], [buf, out, offs], G, `${chunk}\n${serial("lo", "hi", "offs[gi]")}`),
  ];
}

/** scatter_add by a counting sort of the updates by clamped index. */
function countingSort(d: Clike, [op, idx, upd]: ShapedArray[], out: ShapedArray, axis: number): { passes: ClikePass[]; temps: { dtype: DType; size: number }[] } {
  const [, n, inner] = split(op.shape, axis);
  const m = sizeOf(idx.shape);
  const scratch = new Scratch();
  // Count each index's updates, prefix-sum the counts into run starts, place each update's position j in its run.
  const counts = scratch.add(n + 1);
  const starts = scratch.add(n + 1);
  const order = scratch.add(Math.max(1, m));
  const key = clamped(d, idx, "gi", n);
  const idxBuf = { name: "idx", dtype: idx.dtype };
  const skipEmpty = (p: ClikePass) => (m === 0 ? { ...p, groups: 0 } : p);
  const passes: ClikePass[] = [
    elementwise(d, [u32("counts")], [counts], n + 1, `  ${d.st("counts", "gi", "0u")}`),
    skipEmpty(elementwise(d, [idxBuf, u32("counts", true)], [{ in: 1 }, counts], m, `  ${key}\n  ${d.atomic("atomicAdd", "counts", "k", ["1u"])};`)),
    ...scanPasses(d, counts, starts, n + 1, scratch),
    // counts now holds the run starts too: each update claims the next free slot of its run.
    skipEmpty(elementwise(d, [idxBuf, u32("counts", true), u32("order")], [{ in: 1 }, counts, order], m, `  ${key}\n  ${d.st("order", d.atomic("atomicAdd", "counts", "k", ["1u"]), "gi")}`)),
  ];
  const bufs = [{ name: "op", dtype: op.dtype }, { name: "upd", dtype: upd.dtype }, u32("order"), u32("starts"), { name: "out", dtype: out.dtype, write: true }];
  passes.push(
    elementwise(
      d,
      bufs,
      [{ in: 0 }, { in: 2 }, order, starts, { out: 0 }],
      sizeOf(out.shape),
      `  ${d.let("o", "index", `gi / ${n * inner}u`)}
  ${d.let("k", "index", `(gi / ${inner}u) % ${n}u`)}
  ${d.let("i", "index", `gi % ${inner}u`)}
  ${d.var("acc", op.dtype, d.ld("op", "gi"))}
  ${d.loop("p", d.ld("starts", "k"), `p < ${d.ld("starts", "k + 1u")}`, "p += 1u")} {
    acc = acc + ${d.ld("upd", `(o * ${m}u + ${d.ld("order", "p")}) * ${inner}u + i`)};
  }
  ${d.st("out", "gi", "acc")}`,
    ),
  );
  return { passes, temps: scratch.temps };
}

export const scatterAdd: ClikeRule<RoutineParams["scatter_add"]> = (d, ins, [out], { axis }) => {
  const [op, idx, upd] = ins;
  if (!d.floatAtomics || op.dtype === "bool") return countingSort(d, ins, out, axis);
  const [outer, n, inner] = split(op.shape, axis);
  const m = sizeOf(idx.shape);
  const size = sizeOf(out.shape);
  const copy = elementwise(
    d,
    [
      { name: "op", dtype: op.dtype },
      { name: "out", dtype: out.dtype, write: true },
    ],
    [{ in: 0 }, { out: 0 }],
    size,
    `  ${d.st("out", "gi", d.ld("op", "gi"))}`,
  );
  const updates = outer * m * inner;
  if (updates === 0) return { passes: [copy] };
  const body = `  ${d.let("o", "index", `gi / ${m * inner}u`)}
  ${d.let("j", "index", `(gi / ${inner}u) % ${m}u`)}
  ${clamped(d, idx, "j", n)}
  ${d.atomic("atomicAdd", "out", `(o * ${n}u + k) * ${inner}u + gi % ${inner}u`, [d.ld("upd", "gi")])};`;
  const bufs = [
    { name: "idx", dtype: idx.dtype },
    { name: "upd", dtype: upd.dtype },
    { name: "out", dtype: out.dtype, write: true },
  ];
  return { passes: [copy, elementwise(d, bufs, [{ in: 1 }, { in: 2 }, { out: 0 }], updates, body)] };
};
