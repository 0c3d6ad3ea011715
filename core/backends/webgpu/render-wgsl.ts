/**
 * How WGSL spells kernel IR (core/compiler/ir.ts): the ALU ops' WGSL spellings
 * (core/compiler/alu.ts), on the kernel skeleton of ../clike/kernels/ir-kernel.ts. Floats are f32 throughout, so results match the CPU's
 * (which rounds every op to float32 but accumulates sums in float64) within float32 error.
 */
import type { DType } from "../../dtype.ts";
import { emitBody, type Dialect, type Kernel } from "../../compiler/ir.ts";
import { aluDef, aluTypes } from "../../compiler/alu.ts";
import { decoder, renderIrKernel } from "../clike/kernels/ir-kernel.ts";
import type { Buf, OutputStore } from "../clike/dialect.ts";
import { gpuProgram, wgslPass, type GpuProgram, type Pass } from "./program.ts";
import { helpers, literal, wgslType } from "./wgsl.ts";

/** How WGSL spells kernel bodies; `use` collects the helper functions the body calls. */
function wgslDialect(use: (h: string) => void, load?: Dialect["load"]): Dialect {
  return {
    literal: (n) => literal(n.arg!, n.dtype as DType | "index"),
    idiv: (x, y) => `${x} / ${y}`,
    alu(n, a) {
      return aluDef(n.op, "webgpu").wgsl(a, aluTypes(n), use);
    },
    declare: (v, _n, expr) => `  let ${v} = ${expr};`,
    load,
  };
}

/** One WGSL pass computing the kernel; binding k < inputs.length is input k, the last is the output. */
export function renderWgsl(k: Kernel): Pass {
  return gpuProgram((d) => ({ passes: [wgslPass(renderIrKernel(d, k, (use) => wgslDialect((h) => use.add(h))))] })).passes[0];
}

/**
 * The program `make` builds (a dot or convolution) with kernel `k` applied in every store to
 * its output, so the fused pair runs as one program: `make` routes each write of output 0
 * through the `OutputStore` it is given, which wraps the value in `epi_`. `k`'s input
 * `input` is the value being stored, read at `k`'s own loop point (fuse.ts only attaches
 * such kernels); its other inputs j are bound as `ep{slot}` after each storing pass's own
 * bindings and refer to the program's input `base + slot`. Null where the program stores
 * nothing through the hook or a pass would bind more than `maxBindings`.
 *
 * @example
 * const fused = withEpilogue((out) => dotProgram(ins, [outAval], params, undefined, out), kernel, 0, 2, 8);
 * // run with runProgram(fused, [lhs, rhs, ...kernelInputsBut0], [kernelOut])
 */
export function withEpilogue(make: (out: OutputStore) => GpuProgram, k: Kernel, input: number, base: number, maxBindings: number): GpuProgram | null {
  if (k.reduce || k.inputs[input]?.dtype !== k.out.dtype) return null;
  const T = wgslType(k.out.dtype);
  const slot = (j: number) => (j < input ? j : j - 1);
  const idx = decoder(k.shape, [...k.shape.keys()], "ei");
  const others = k.inputs.flatMap((b, j) => (j === input ? [] : [b]));
  let stores = 0;
  const out: OutputStore = {
    store(d, i, v) {
      stores++;
      return d.st("out", i, `epi_(${i}, ${v})`);
    },
    bufs: others.map((b, j): Buf => ({ name: `ep${j}`, dtype: b.dtype })),
    decls(d) {
      const used = new Set<string>();
      const load = (buf: number, index: string) => (buf === input ? "ev" : d.ld(`ep${slot(buf)}`, index));
      const { lines, value } = emitBody(
        k.body,
        wgslDialect((h) => used.add(h), load),
        (a) => idx.get(a)!,
        "ei",
      );
      return [...helpers(used), `fn epi_(ei: u32, ev: ${T}) -> ${T} {\n${lines.join("\n")}\n  return ${value};\n}`].join("\n");
    },
    bindings: others.map((_, j) => ({ in: base + j })),
  };
  const program = make(out);
  if (stores === 0 || program.passes.some((p) => p.bindings.length > maxBindings)) return null;
  return program;
}
