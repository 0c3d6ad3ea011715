/**
 * scatter_add on the CPU: updates added at indices clamped into the axis (take is a kernel of the IR).
 */
import { sizeOf } from "../../../shape.ts";
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

const scatter_add: CpuRoutine<"scatter_add"> = ([op, idx, upd], [out], { axis }, [oa]) => {
  out.set(op);
  const outer = sizeOf(oa.shape.slice(0, axis));
  const n = oa.shape[axis];
  const inner = sizeOf(oa.shape.slice(axis + 1));
  const m = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const k = Math.min(Math.max(idx[j], 0), n - 1);
      const dst = (o * n + k) * inner;
      const src = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] += upd[src + i];
    }
  }
};

export const scatterRoutines: CpuRoutines<"scatter_add"> = { scatter_add };
