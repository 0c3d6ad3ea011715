/**
 * scatter_add along one axis, indices clamped into the axis as on the CPU (take is a
 * kernel of the IR: a load at a gathered index).
 * scatter_add has colliding indices and WGSL has no float atomics. A float CAS loop would
 * spin without bound when many updates hit one element (the gradient of a broadcast
 * row), so it groups the updates by index with a counting sort (integer atomics only),
 * then each output element sums its group: O(m + n) work whatever the collisions. The
 * order inside a group is not fixed, so float sums may differ from the CPU's in the
 * last bits; integer sums are exact.
 */
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineWgsl, type Pass, type Ref } from "../program.ts";
import { binding, groups, perElement } from "../wgsl.ts";

/** WGSL for index `e` of idx clamped into [0, n), as u32. */
function clamped(idx: ShapedArray, e: string, n: number): string {
  return idx.dtype === "int32" ? `u32(clamp(${e}, 0, ${n - 1}))` : `min(u32(${e}), ${n - 1}u)`;
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

const rw = (k: number, name: string, t = "u32") => `@group(0) @binding(${k}) var<storage, read_write> ${name}: array<${t}>;`;

/** Elements one invocation scans serially; the chunk totals are scanned recursively. */
const CHUNK = 256;

/**
 * Passes replacing the L u32s of `buf` by their exclusive prefix sums, also written to `out`.
 * Each invocation scans one chunk serially (no workgroup barriers, which software
 * adapters run slowly); three passes per level, CHUNK-fold fewer elements each level.
 */
function scanPasses(buf: Ref, out: Ref, L: number, scratch: Scratch): Pass[] {
  const serial = (from: string, to: string, init: string) => `  var run = ${init};
  for (var i = ${from}; i < ${to}; i = i + 1u) { let c = buf[i]; buf[i] = run; out[i] = run; run = run + c; }`;
  if (L <= 4 * CHUNK) {
    return [{ code: perElement([rw(0, "buf"), rw(1, "out")], 1, serial("0u", `${L}u`, "0u")), bindings: [buf, out], workgroups: 1 }];
  }
  const G = Math.ceil(L / CHUNK);
  const sums = scratch.add(G);
  const offs = scratch.add(G);
  const chunk = `  let lo = gi * ${CHUNK}u;
  let hi = min(lo + ${CHUNK}u, ${L}u);`;
  return [
    {
      code: perElement([rw(0, "buf"), rw(1, "sums")], G, `${chunk}
  var s = 0u;
  for (var i = lo; i < hi; i = i + 1u) { s = s + buf[i]; }
  sums[gi] = s;`),
      bindings: [buf, sums],
      workgroups: groups(G),
    },
    ...scanPasses(sums, offs, G, scratch),
    { code: perElement([rw(0, "buf"), rw(1, "out"), rw(2, "offs")], G, `${chunk}
${serial("lo", "hi", "offs[gi]")}`), bindings: [buf, out, offs], workgroups: groups(G) },
  ];
}

defineWgsl("scatter_add", ([op, idx, upd], [out], { axis }) => {
  const [, n, inner] = split(op.shape, axis);
  const m = sizeOf(idx.shape);
  const size = sizeOf(out.shape);
  const scratch = new Scratch();
  // A counting sort of the updates by clamped index: count each index's updates, prefix-sum
  // the counts into run starts, place each update's position j in its run.
  const counts = scratch.add(n + 1);
  const starts = scratch.add(n + 1);
  const order = scratch.add(Math.max(1, m));
  const key = clamped(idx, "idx[gi]", n);
  const passes: Pass[] = [
    { code: perElement([rw(0, "counts")], n + 1, "  counts[gi] = 0u;"), bindings: [counts], workgroups: groups(n + 1) },
    {
      code: perElement([binding(0, "idx", idx.dtype), rw(1, "counts", "atomic<u32>")], m, `  atomicAdd(&counts[${key}], 1u);`),
      bindings: [{ in: 1 }, counts],
      workgroups: m === 0 ? 0 : groups(m),
    },
    ...scanPasses(counts, starts, n + 1, scratch),
    {
      // counts now holds the run starts too: each update claims the next free slot of its run.
      code: perElement([binding(0, "idx", idx.dtype), rw(1, "counts", "atomic<u32>"), rw(2, "order")], m, `  order[atomicAdd(&counts[${key}], 1u)] = gi;`),
      bindings: [{ in: 1 }, counts, order],
      workgroups: m === 0 ? 0 : groups(m),
    },
  ];
  const decls = [binding(0, "op", op.dtype), binding(1, "upd", upd.dtype), rw(2, "order"), rw(3, "starts"), binding(4, "out", out.dtype, true)];
  passes.push({
    code: perElement(decls, size, `  let o = gi / ${n * inner}u;
  let k = (gi / ${inner}u) % ${n}u;
  let i = gi % ${inner}u;
  var acc = op[gi];
  for (var p = starts[k]; p < starts[k + 1u]; p = p + 1u) {
    acc = acc + upd[(o * ${m}u + order[p]) * ${inner}u + i];
  }
  out[gi] = acc;`),
    bindings: [{ in: 0 }, { in: 2 }, order, starts, { out: 0 }],
    workgroups: groups(size),
  });
  return { passes, temps: scratch.temps };
});
