/**
 * threefry2x32 on WebGPU: one invocation per counter, the 20 rounds unrolled. WGSL's u32
 * addition wraps modulo 2^32, so the bits equal the CPU kernel's (core/primitives/random.ts).
 */
import { sizeOf } from "../../../shape.ts";
import { defineWgsl } from "../program.ts";
import { binding, groups, perElement } from "../wgsl.ts";

// Random123's R_32x2 rotations and the key-schedule parity, as in the CPU kernel.
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const KS_PARITY = 0x1bd11bda;

function threefryBody(): string {
  const lines = [
    "  let ks0 = k0[gi];",
    "  let ks1 = k1[gi];",
    `  let ks2 = ${KS_PARITY}u ^ ks0 ^ ks1;`,
    "  var a = x0[gi] + ks0;",
    "  var b = x1[gi] + ks1;",
  ];
  const ks = ["ks0", "ks1", "ks2"];
  for (let blk = 0; blk < 5; blk++) {
    for (let r = 0; r < 4; r++) {
      const s = ROTATIONS[(blk & 1) * 4 + r];
      lines.push(`  a = a + b; b = ((b << ${s}u) | (b >> ${32 - s}u)) ^ a;`);
    }
    lines.push(`  a = a + ${ks[(blk + 1) % 3]};`, `  b = b + ${ks[(blk + 2) % 3]} + ${blk + 1}u;`);
  }
  lines.push("  y0[gi] = a;", "  y1[gi] = b;");
  return lines.join("\n");
}

defineWgsl("threefry2x32", (_ins, [out]) => {
  const n = sizeOf(out.shape);
  const decls = [
    binding(0, "k0", "uint32"), binding(1, "k1", "uint32"), binding(2, "x0", "uint32"), binding(3, "x1", "uint32"),
    binding(4, "y0", "uint32", true), binding(5, "y1", "uint32", true),
  ];
  return {
    passes: [{
      code: perElement(decls, n, threefryBody()),
      bindings: [{ in: 0 }, { in: 1 }, { in: 2 }, { in: 3 }, { out: 0 }, { out: 1 }],
      workgroups: groups(n),
    }],
  };
});
