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
  const nodes = topoSort(k.body);
  const usesFlat = nodes.some((n) => n.op === "flat");
  const st = stridesOf(k.shape);

  const read = new Set(nodes.filter((n) => n.op === "idx").map((n) => n.arg!));
  const last = k.reduce && red.length > 0 ? red : kept;
  let from = last.length;
  while (from > 0 && !read.has(last[from - 1]) && (from === last.length || last[from - 1] === last[from] - 1)) from--;
  if (from === last.length - 1) from = last.length;
  const single = (d: number): PlannedLoop => ({ axes: [d], extent: k.shape[d], stride: st[d] });
  const group = (axes: number[]): PlannedLoop[] => {
    if (axes !== last || from === last.length) return axes.map(single);
    const tail = last.slice(from);
    return [...last.slice(0, from).map(single), { axes: tail, extent: tail.reduce((a, d) => a * k.shape[d], 1), stride: st[tail[tail.length - 1]] }];
  };
  const keptLoops = group(kept);
  const loops = [...keptLoops, ...(k.reduce ? group(red) : [])];
  const level = new Map<number, number>();
  loops.forEach((l, i) => l.axes.forEach((a) => level.set(a, i)));
  const inner = loops.length - 1;
  return {
    loops,
    keptLoops: keptLoops.length,
    usesFlat,
    counted: !k.reduce || (usesFlat && rowMajor),
    sumLanes: k.reduce?.op === "sum" && red.reduce((n, d) => n * k.shape[d], 1) >= 4 ? 4 : 1,
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
