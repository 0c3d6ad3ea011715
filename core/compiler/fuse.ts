/**
 * Fusion: partitions a jaxpr into steps. A step is either one equation run through its
 * backend as before, or a kernel standing for a group of fusible equations (elementwise,
 * broadcast_in_dim, reshape, transpose, optionally ending in reduce_sum/max/min/prod)
 * whose intermediates are read only inside the group, so they are never materialised.
 * A cheap value read by several groups (`recomputable`: x - mean, a broadcast scale) is
 * copied into each of them instead, and stored only where some reader cannot compute it.
 *
 * A kernel without a reduction may also take a `head`: the dot_general or
 * conv_general_dilated producing one of its inputs, when that product is read only by the
 * kernel and only through elementwise ops of its own shape. Every element of the product
 * is then read exactly at the kernel's own loop point, so a backend can run the kernel as
 * the product program's epilogue (in its final stores) and never materialise the product.
 */
import type { Eqn, Jaxpr, Var } from "../jaxpr.ts";
import type { Kernel } from "./ir.ts";
import { isFusible, lowerGroup } from "./lower.ts";
import { sizeOf } from "../shape.ts";

/**
 * A kernel step's `head` is a product equation whose single output is the kernel's
 * `inputs[input]`; it runs with the kernel (as its epilogue, or just before it), not as a step.
 */
export type Step = { kind: "eqn"; eqn: Eqn } | { kind: "kernel"; kernel: Kernel; inputs: Var[]; out: Var; eqns: Eqn[]; head?: { eqn: Eqn; input: number } };

/** Primitives whose programs can take an elementwise epilogue. */
const HEADS = new Set(["dot_general", "conv_general_dilated"]);

/**
 * Greedy grouping from the last equation backwards: each fusible equation (or reduction)
 * not yet taken roots a group, which absorbs the producers of its inputs while every
 * reader of the produced value is already in the group and the value is not a program
 * output. A group may be one equation: as a kernel it runs in the backend's generated code
 * (WebAssembly on all cores on the CPU) instead of the primitive's own loop. Kernels read
 * the variables in `literals` (scalar constants whose values are known) as literals.
 * A group stops growing where it would read more than `maxInputs` buffers (a WebGPU
 * kernel binds at most the adapter's storage buffers per stage), so every kernel runs as
 * one kernel instead of falling back to its equations one by one.
 */
export function partition(jaxpr: Jaxpr, literals: ReadonlyMap<Var, number> = new Map(), maxInputs = Infinity): Step[] {
  const producer = new Map<Var, Eqn>();
  const readers = new Map<Var, Eqn[]>();
  for (const e of jaxpr.eqns) {
    for (const v of e.outs) producer.set(v, e);
    for (const v of e.inputs) {
      const r = readers.get(v) ?? [];
      r.push(e);
      readers.set(v, r);
    }
  }
  const outputs = new Set(jaxpr.outs);
  const taken = new Set<Eqn>();
  const groupOfRoot = new Map<Eqn, Set<Eqn>>();
  const copyable = recomputable(producer);
  // Equations copied into some group (they may also run in a group of their own).
  const copied = new Set<Eqn>();
  // The groups holding each equation, as owner or copy.
  const groupsOf = new Map<Eqn, Set<Eqn>[]>();
  // Whether every reader of e's output computes it (copies it) in each group the reader is in.
  const computedByReaders = (e: Eqn) => (readers.get(e.outs[0]) ?? []).every((r) => groupsOf.has(r) && groupsOf.get(r)!.every((g) => g.has(e)));

  for (let k = jaxpr.eqns.length - 1; k >= 0; k--) {
    const root = jaxpr.eqns[k];
    if (taken.has(root) || root.outs.length !== 1) continue;
    if (!isFusible(root) && !root.prim.reduction) continue;
    // Every reader computes this value itself: nothing stores it.
    if (copied.has(root) && !outputs.has(root.outs[0]) && computedByReaders(root)) continue;
    const copyHere = copiesFit(root, producer);
    // Whether the group may take p: within the input limit, or (looking ahead) back within it once it has taken what p's inputs bring along.
    const fits = (members: Set<Eqn>, p: Eqn, lookahead: boolean) =>
      maxInputs === Infinity ||
      inputCount([...members, p], literals) <= maxInputs ||
      (lookahead && inputCount(absorbable(new Set([...members, p]), producer, readers, taken, outputs), literals) <= maxInputs);
    const grow = (lookahead: boolean) => {
      const members = new Set<Eqn>([root]);
      const copies = new Set<Eqn>();
      // Members whose values the group computes at every point of a widening pad.
      const wide = new Set<Eqn>();
      for (let grew = true; grew;) {
        grew = false;
        for (const m of [...members]) {
          for (const v of m.inputs) {
            const p = producer.get(v);
            if (!p || members.has(p) || taken.has(p) || !isFusible(p) || outputs.has(v)) continue;
            // Under a widening pad only cheap values join (see `widens`).
            const wideHere = wide.has(m) || widens(m, v);
            if (wideHere && !copyable(p)) continue;
            if (!fits(members, p, lookahead)) continue;
            // A copy's inputs come from copies or storage, since other groups read them too.
            const rs = readers.get(v)!;
            if (!copies.has(m) && rs.every((r) => members.has(r) && !copies.has(r) && !copied.has(r))) members.add(p);
            else if (copyHere(p, m) && copyable(p)) {
              members.add(p);
              copies.add(p);
            } else continue;
            if (wideHere) wide.add(p);
            grew = true;
          }
        }
      }
      return { members, copies };
    };
    let { members, copies } = grow(true);
    // What the lookahead promised did not come (a producer joined no group here): grow again one safe step at a time.
    if (maxInputs !== Infinity && inputCount(members, literals) > maxInputs) ({ members, copies } = grow(false));
    for (const m of members) {
      groupsOf.set(m, [...(groupsOf.get(m) ?? []), members]);
      if (copies.has(m)) copied.add(m);
      else taken.add(m);
    }
    groupOfRoot.set(root, members);
  }

  const steps: Step[] = [];
  const heads = new Set<Eqn>();
  for (const e of jaxpr.eqns) {
    const members = groupOfRoot.get(e);
    // A reshape alone stays an equation: a backend shares its buffer instead of copying it.
    if (members?.size === 1 && e.prim.viewOf !== undefined) steps.push({ kind: "eqn", eqn: e });
    else if (members) {
      const eqns = jaxpr.eqns.filter((x) => members.has(x));
      const { kernel, inputs } = lowerGroup(eqns, e, literals);
      const step: Step = { kind: "kernel", kernel, inputs, out: e.outs[0], eqns };
      if (!kernel.reduce) {
        const input = inputs.findIndex((v) => headable(v, e, members, producer, readers, outputs, heads, copied));
        if (input >= 0) {
          step.head = { eqn: producer.get(inputs[input])!, input };
          heads.add(step.head.eqn);
        }
      }
      steps.push(step);
    } else if (!taken.has(e) && !copied.has(e)) steps.push({ kind: "eqn", eqn: e });
  }
  // A head runs inside its kernel's step, which comes later in program order than the head's own place.
  return steps.filter((s) => s.kind !== "eqn" || !heads.has(s.eqn));
}

/** How many buffers a group of `eqns` reads: the values they read and do not compute, literals aside. */
function inputCount(eqns: Iterable<Eqn>, literals: ReadonlyMap<Var, number>): number {
  const group = [...eqns];
  const made = new Set(group.flatMap((e) => e.outs));
  return new Set(group.flatMap((e) => e.inputs).filter((v) => !made.has(v) && !literals.has(v))).size;
}

/** `group` with every fusible producer it could absorb, transitively: those read only inside it, not taken, not program outputs. */
function absorbable(group: Set<Eqn>, producer: Map<Var, Eqn>, readers: Map<Var, Eqn[]>, taken: Set<Eqn>, outputs: Set<Var>): Set<Eqn> {
  for (let grew = true; grew;) {
    grew = false;
    for (const e of [...group]) {
      for (const v of e.inputs) {
        const q = producer.get(v);
        if (!q || group.has(q) || taken.has(q) || !isFusible(q) || outputs.has(v) || !readers.get(v)!.every((r) => group.has(r))) continue;
        group.add(q);
        grew = true;
      }
    }
  }
  return group;
}

/**
 * Whether `m` pads its operand `v` to at least twice its size. A kernel computes a padded
 * value at every point of the pad and selects the padding value where it lies outside
 * (its expression has no branches), so fusing an expensive producer through such a pad
 * (a slice's transpose, the gradient of grid[..., 0] and grid[..., 1] summed) repeats its
 * work at every padded point; it is stored once instead, unless it is cheap to recompute.
 */
function widens(m: Eqn, v: Var): boolean {
  return m.prim.name === "pad" && v === m.inputs[0] && sizeOf(m.outs[0].aval.shape) >= 2 * sizeOf(v.aval.shape);
}

/**
 * Whether kernel input `v` (of the group `members` rooted at `root`) may be computed by its
 * producer as the kernel's head: the producer is a single-output product, `v` is no program
 * output, and everything in the group downstream of `v` is elementwise over `v`'s shape,
 * so the kernel reads `v` once per loop point, at that point (and stores the same dtype).
 */
function headable(v: Var, root: Eqn, members: Set<Eqn>, producer: Map<Var, Eqn>, readers: Map<Var, Eqn[]>, outputs: Set<Var>, heads: Set<Eqn>, copied: Set<Eqn>): boolean {
  const d = producer.get(v);
  if (!d || !HEADS.has(d.prim.name) || d.outs.length !== 1 || heads.has(d) || outputs.has(v)) return false;
  if (v.aval.dtype !== root.outs[0].aval.dtype) return false;
  const shape = v.aval.shape.join(",");
  const seen = new Set<Eqn>();
  const todo = [...(readers.get(v) ?? [])];
  for (let r = todo.pop(); r; r = todo.pop()) {
    if (seen.has(r)) continue;
    seen.add(r);
    // A reader copied into other groups would read the product there too.
    if (!members.has(r) || copied.has(r) || !r.prim.pointwise) return false;
    if (r.outs.some((o) => o.aval.shape.join(",") !== shape)) return false;
    if (r !== root) for (const o of r.outs) todo.push(...(readers.get(o) ?? []));
  }
  return true;
}

/** Most arithmetic equations one copied value may take to recompute (bounds the repeated arithmetic). */
const MAX_COPY_EQNS = 6;
/** An input at most this fraction of a value's size is small: a copy reading it adds no pass over memory. */
const SMALL_FRACTION = 1 / 8;

/**
 * Which values each reading group may compute itself instead of reading them from memory:
 * outputs of pointwise equations, broadcasts and reshapes whose recomputation,
 * through other such equations, reads at most one large buffer and takes at most
 * MAX_COPY_EQNS equations. Reading that buffer costs each reader what reading the value
 * would, so storing it is a write and a pass saved (x - mean, a broadcast of a scale, the
 * zeros of a ReLU's max).
 */
function recomputable(producer: Map<Var, Eqn>): (e: Eqn) => boolean {
  const memo = new Map<Eqn, { sources: Set<Var>; eqns: number } | null>();
  const cost = (e: Eqn): { sources: Set<Var>; eqns: number } | null => {
    if (memo.has(e)) return memo.get(e)!;
    memo.set(e, null);
    let result: { sources: Set<Var>; eqns: number } | null = null;
    const cheap = isFusible(e) && e.outs.length === 1 && (e.prim.pointwise || e.prim.viewOf !== undefined || e.prim.name === "broadcast_in_dim");
    if (cheap) {
      const size = sizeOf(e.outs[0].aval.shape);
      const sources = new Set<Var>();
      // Broadcasts and reshapes only remap indices (hoisted where they read a small value): the budget counts arithmetic.
      let eqns = e.prim.pointwise ? 1 : 0;
      for (const v of e.inputs) {
        if (sizeOf(v.aval.shape) <= size * SMALL_FRACTION) continue;
        const p = producer.get(v);
        const c = p && isFusible(p) ? cost(p) : null;
        if (c) {
          c.sources.forEach((x) => sources.add(x));
          eqns += c.eqns;
        } else sources.add(v);
      }
      if (sources.size <= 1 && eqns <= MAX_COPY_EQNS) result = { sources, eqns };
    }
    memo.set(e, result);
    return result;
  };
  return (e) => cost(e) !== null;
}

/**
 * Where a group rooted at `root` may compute a copy of `p` for its member `reader`: anywhere
 * in a slice (it computes only the points it keeps); else when p is shaped like the loop
 * space or broadcast or reshaped into it (so the copy reads its operands at the loop's own
 * indices, hoisted out of the inner loop), and in a reduction only when the innermost loop
 * runs over the last axis (a reduction over leading axes alone runs its
 * innermost loop across rows, where each copied operation would cost a step per element).
 */
/** The longest stacking axis along which a sum's group may compute copies of the stacked values. */
const MAX_STACKED = 4;

function copiesFit(root: Eqn, producer: Map<Var, Eqn>): (p: Eqn, reader: Eqn) => boolean {
  const reduction = root.prim.reduction;
  const space = reduction ? root.inputs[0].aval.shape : root.outs[0].aval.shape;
  if (reduction && !reduction.axes(root.params).includes(space.length - 1)) return () => false;
  // A reshape at the root (values reshaped for a product that reads them) maps its input's points cheaply (posThroughReshape).
  const keys = new Set([space.join(","), ...(root.prim.viewOf !== undefined ? [root.inputs[0].aval.shape.join(",")] : [])]);
  // A sum of values stacked on a short axis (merge-sibling-sums.ts) computes each of them at each of its few points.
  const stack = reduction && producer.get(root.inputs[0]);
  if (stack && stack.prim.name === "concatenate" && space[(stack.params as { axis: number }).axis] <= MAX_STACKED) {
    // Each stacked value, and what a reshape stacking it read.
    for (const v of stack.inputs) {
      keys.add(v.aval.shape.join(","));
      const r = producer.get(v);
      if (r?.prim.viewOf !== undefined) keys.add(r.inputs[0].aval.shape.join(","));
    }
  }
  const inSpace = (e: Eqn) => keys.has(e.outs[0].aval.shape.join(","));
  // A slice's points are its only work (batch norm's shift reads one value per channel): it may compute what it reads.
  if (root.prim.name === "slice") return () => true;
  return (p, reader) => inSpace(p) || ((reader.prim.name === "broadcast_in_dim" || reader.prim.viewOf !== undefined) && inSpace(reader));
}
