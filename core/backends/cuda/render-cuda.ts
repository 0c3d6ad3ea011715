/**
 * How CUDA C spells kernel IR (core/compiler/ir.ts): the ALU ops' CUDA spellings
 * (core/compiler/alu.ts), on the kernel skeleton of ../clike/kernels/ir-kernel.ts.
 *
 * Semantics follow the CPU kernels (core/primitives/elementwise.ts, render-js.ts): float32
 * values are rounded to float32 after every op, and float products are `__fmul_rn`, which
 * the compiler never contracts into a fused multiply-add, so +, -, *, / chains are bit for
 * bit the CPU's; transcendental functions are CUDA's float32 ones (a few ulp). Integer
 * arithmetic wraps modulo 2^32, division by zero gives 0, shifts by 32 or more give 0,
 * float-to-integer conversion wraps like JavaScript's ToInt32/ToUint32, and max/min
 * propagate NaN. float32 sums and products accumulate in double, as the CPU's do.
 */
import type { Dialect, Kernel } from "../../compiler/ir.ts";
import { aluDef, aluTypes } from "../../compiler/alu.ts";
import { renderIrKernel, type ReduceStrategy } from "../clike/kernels/ir-kernel.ts";
import { CUDA } from "../clike/cuda.ts";
import { cudaPass, type Pass } from "./program.ts";
import { ctype, literal } from "./cuda-c.ts";

export type { ReduceStrategy };

/** How CUDA C spells kernel bodies; `use` collects the helper functions the body calls. */
function cudaDialect(use: (h: string) => void): Dialect {
  return {
    literal: (n) => literal(n.arg!, n.dtype),
    idiv: (x, y) => `${x} / ${y}`,
    alu(n, a) {
      return aluDef(n.op, "cuda").cuda(a, aluTypes(n), use);
    },
    declare: (v, n, expr) => `const ${ctype(n.dtype)} ${v} = ${expr};`,
  };
}

/**
 * One launch computing the kernel; parameter k < inputs.length is input k, the last is the
 * output. `reduce` forces a reduction strategy (tests render both).
 */
export function renderCuda(k: Kernel, opts: { reduce?: ReduceStrategy } = {}): Pass {
  return cudaPass(renderIrKernel(CUDA, k, (use) => cudaDialect((h) => use.add(h)), opts));
}
