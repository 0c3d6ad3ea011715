/** argmax and argmin along one axis on the CPU: the first index of the best value, a NaN winning (as NumPy). */
import type { TypedArray } from "../../../dtype.ts";
import { stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import type { CpuRoutines } from "./registry.ts";

function argImpl(better: (v: number, best: number) => boolean) {
  return ([x]: TypedArray[], [out]: TypedArray[], { axis }: { axis: number }, [xa]: readonly ShapedArray[]) => {
    const n = xa.shape[axis];
    const inner = stridesOf(xa.shape)[axis];
    const outer = out.length / inner;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        let best = x[base];
        let bi = 0;
        for (let k = 1; k < n && best === best; k++) {
          const v = x[base + k * inner];
          if (better(v, best)) {
            best = v;
            bi = k;
          }
        }
        out[o * inner + j] = bi;
      }
    }
  };
}

// NaN wins (NumPy returns the first NaN's index).
export const argRoutines: CpuRoutines<"argmax" | "argmin"> = {
  argmax: argImpl((v, best) => v > best || v !== v),
  argmin: argImpl((v, best) => v < best || v !== v),
};
