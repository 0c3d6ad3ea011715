/**
 * threefry2x32 on CUDA: one thread per counter, the 20 rounds unrolled. Unsigned 32-bit
 * arithmetic in C wraps modulo 2^32, so the bits equal the CPU kernel's
 * (core/primitives/random.ts) exactly.
 */
import { sizeOf } from "../../../shape.ts";
import { defineCuda } from "../program.ts";
import { blocks, param, perElement, THREADS } from "../cuda-c.ts";

// Random123's R_32x2 rotations and the key-schedule parity, as in the CPU kernel.
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const KS_PARITY = 0x1bd11bda;

/** The statements of one block: reads k0, k1, x0, x1 at gi, writes y0, y1. */
export function threefryBody(): string {
  const lines = [
    "  const unsigned ks0 = k0[gi];",
    "  const unsigned ks1 = k1[gi];",
    `  const unsigned ks2 = 0x${KS_PARITY.toString(16)}u ^ ks0 ^ ks1;`,
    "  unsigned a = x0[gi] + ks0;",
    "  unsigned b = x1[gi] + ks1;",
  ];
  const ks = ["ks0", "ks1", "ks2"];
  for (let blk = 0; blk < 5; blk++) {
    for (let r = 0; r < 4; r++) {
      const s = ROTATIONS[(blk & 1) * 4 + r];
      lines.push(`  a += b; b = ((b << ${s}) | (b >> ${32 - s})) ^ a;`);
    }
    lines.push(`  a += ${ks[(blk + 1) % 3]};`, `  b += ${ks[(blk + 2) % 3]} + ${blk + 1}u;`);
  }
  lines.push("  y0[gi] = a;", "  y1[gi] = b;");
  return lines.join("\n");
}

defineCuda("threefry2x32", (_ins, [out]) => {
  const n = sizeOf(out.shape);
  const params = [
    param("k0", "uint32"), param("k1", "uint32"), param("x0", "uint32"), param("x1", "uint32"),
    param("y0", "uint32", true), param("y1", "uint32", true),
  ];
  return {
    passes: [{
      code: perElement(params, n, threefryBody()),
      bindings: [{ in: 0 }, { in: 1 }, { in: 2 }, { in: 3 }, { out: 0 }, { out: 1 }],
      blocks: blocks(n),
      threads: THREADS,
    }],
  };
});
