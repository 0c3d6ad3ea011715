/**
 * How a CPU renderer (render-js.ts, the wasm renderer) loops over a kernel's space: the
 * kept axes, then the reduced ones; trailing axes of the last group that no `idx` node
 * reads individually and that are consecutive merge into one loop. Each node gets the
 * loop level it must be computed in: the innermost loop whose index it reads, so
 * invariant work (a broadcast operand's load, its index arithmetic) is hoisted out.
 */
import { stridesOf } from "../shape.ts";
import { topoSort, type IRNode, type Kernel } from "./ir.ts";

/** One loop: over one axis (`axes` has one entry), or over merged trailing axes. */
export interface PlannedLoop {
  axes: number[];
  extent: number;
  /** The element stride of the loop variable in the loop space (row-major). */
  stride: number;
}

export interface LoopPlan {
  loops: PlannedLoop[];
  /** The first `keptLoops` loops run over kept axes; the rest over reduced ones. */
  keptLoops: number;
  /** Whether some node reads the flat index of the loop point. */
  usesFlat: boolean;
  /** Whether the flat index is a counter stepping by one per innermost iteration (else a sum of loop variables times strides). */
  counted: boolean;
  /**
   * Accumulators of a sum: 4 when each output sums at least 4 elements, else 1, in order.
   * With 4, each element (row-major over the reduced axes) adds to the first accumulator
   * and the four rotate, so element j joins chain j % 4, and the four combine as
   * (a0 + a1) + (a2 + a3) at the end (for a count that is not a multiple of 4, the chains
   * are rotated accordingly). Four independent float64 chains run at memory speed where
   * one waits on each add; the order depends only on the kernel's shape and the count, so
   * a fused and an eager reduction (whose loops may merge differently) and both CPU
   * renderers sum alike.
   */
  sumLanes: 1 | 4;
  /**
   * Set on an interleaved plan (`interleavedPlan`): the loops run in memory order, as
   * `outer` kept loops, `r1` reduced, `k2` kept, then the rest reduced; each of the `k2`
   * group's `k2Size` outputs keeps its accumulators between its runs of the last group.
   */
  interleave?: { outer: number; r1: number; k2: number; k2Size: number };
  levelOfAxis(axis: number): number;
  /** The loop level (-1: before every loop) at which each node can be computed. */
  depthOf(nodes: readonly IRNode[]): Map<IRNode, number>;
}

export function loopPlan(k: Kernel): LoopPlan {
  const rank = k.shape.length;
  const reduced = new Set(k.reduce?.axes ?? []);
  const kept = [...k.shape.keys()].filter((d) => !reduced.has(d));
  const red = [...reduced].sort((a, b) => a - b);
  // Row-major unless a reduced axis precedes a kept one.
  const rowMajor = red.every((a, i) => a === rank - red.length + i);
  const keptLoops = groupLoops(k, kept, !k.reduce || red.length === 0);
  const loops = [...keptLoops, ...(k.reduce ? groupLoops(k, red, true) : [])];
  return finishPlan(k, loops, keptLoops.length, rowMajor);
}

/** Longest run of the innermost reduced axes an interleaved plan takes (longer runs stream well in order). */
const MAX_INTERLEAVED_RUN = 1024;
/** Most accumulator bytes an interleaved plan's scratch may take. */
const MAX_INTERLEAVE_SCRATCH = 1 << 22;

/**
 * A sum whose axes are, in order, kept (possibly none), reduced, kept, reduced (the last a
 * short contiguous run: batch-norm statistics over [N, C, H, W] reduced on N, H and W)
 * walks its input in memory order: for each output of the inner kept group, its four
 * accumulators are saved between its runs, so each output adds the same elements in the
 * same order as `loopPlan`'s output-by-output walk, whose jumps between short runs leave
 * the memory mostly idle. Null when the kernel has another form or the runs are long.
 * `scratchBytes` is 32 bytes per accumulated output per iteration of the outermost loop.
 */
export function interleavedPlan(k: Kernel): (LoopPlan & { scratchBytes: number }) | null {
  if (k.reduce?.op !== "sum") return null;
  const groups = interleavedGroups(k.shape, k.reduce.axes);
  if (!groups) return null;
  const [outer, r1, k2, r2] = groups;
  const size = (axes: number[]) => axes.reduce((a, d) => a * k.shape[d], 1);
  // A block of the outermost loop per thread (one block when that loop is reduced).
  const scratchBytes = (outer.length > 0 ? k.shape[0] : 1) * size(k2) * 32;
  if (scratchBytes > MAX_INTERLEAVE_SCRATCH) return null;
  const [o, a, b, c] = [groupLoops(k, outer, false), groupLoops(k, r1, false), groupLoops(k, k2, false), groupLoops(k, r2, true)];
  const plan = finishPlan(k, [...o, ...a, ...b, ...c], o.length, true);
  return { ...plan, interleave: { outer: o.length, r1: a.length, k2: b.length, k2Size: size(k2) }, scratchBytes };
}

/**
 * The axis groups [kept, reduced, kept, reduced] of a sum over `axes` of `shape` that an
 * interleaved plan walks in memory order (see `interleavedPlan`), or null for another form,
 * a long last run, or fewer than four elements per output.
 */
export function interleavedGroups(shape: readonly number[], axes: readonly number[]): [number[], number[], number[], number[]] | null {
  const reduced = new Set(axes);
  const groups: number[][] = [];
  for (let d = 0; d < shape.length; d++) {
    const last = groups[groups.length - 1];
    if (last && reduced.has(last[0]) === reduced.has(d)) last.push(d);
    else groups.push([d]);
  }
  // Without leading kept axes (NCHW statistics over N, H, W) the outer group is empty.
  if (groups.length === 3 && reduced.has(0)) groups.unshift([]);
  if (groups.length !== 4 || reduced.has(groups[0][0])) return null;
  const size = (g: number[]) => g.reduce((a, d) => a * shape[d], 1);
  if (size(groups[3]) > MAX_INTERLEAVED_RUN || size(groups[1]) * size(groups[3]) < 4) return null;
  return groups as [number[], number[], number[], number[]];
}

/** One loop per axis; with `mergeTail`, the trailing axes that no `idx` node reads individually merge into one. */
function groupLoops(k: Kernel, axes: number[], mergeTail: boolean): PlannedLoop[] {
  const st = stridesOf(k.shape);
  const single = (d: number): PlannedLoop => ({ axes: [d], extent: k.shape[d], stride: st[d] });
  if (!mergeTail) return axes.map(single);
  const read = new Set(topoSort(k.body).flatMap((n) => (n.op === "idx" ? [n.arg!] : [])));
  let from = axes.length;
  while (from > 0 && !read.has(axes[from - 1]) && (from === axes.length || axes[from - 1] === axes[from] - 1)) from--;
  if (from >= axes.length - 1) return axes.map(single);
  const tail = axes.slice(from);
  return [...axes.slice(0, from).map(single), { axes: tail, extent: tail.reduce((a, d) => a * k.shape[d], 1), stride: st[tail[tail.length - 1]] }];
}

function finishPlan(k: Kernel, loops: PlannedLoop[], keptLoops: number, rowMajor: boolean): LoopPlan {
  const nodes = topoSort(k.body);
  const usesFlat = nodes.some((n) => n.op === "flat");
  const level = new Map<number, number>();
  loops.forEach((l, i) => l.axes.forEach((a) => level.set(a, i)));
  const inner = loops.length - 1;
  const reducedCount = (k.reduce?.axes ?? []).reduce((n, d) => n * k.shape[d], 1);
  return {
    loops,
    keptLoops,
    usesFlat,
    counted: !k.reduce || (usesFlat && rowMajor),
    sumLanes: k.reduce?.op === "sum" && reducedCount >= 4 ? 4 : 1,
    levelOfAxis: (axis) => level.get(axis)!,
    depthOf(ns) {
      const depth = new Map<IRNode, number>();
      for (const n of ns) {
        const d = n.op === "idx" ? level.get(n.arg!)! : n.op === "flat" ? inner : Math.max(-1, ...n.args.map((a) => depth.get(a)!));
        depth.set(n, d);
      }
      return depth;
    },
  };
}
