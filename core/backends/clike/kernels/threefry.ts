/**
 * threefry2x32: one invocation per counter, the 20 rounds unrolled. 32-bit unsigned
 * addition wraps modulo 2^32 in both dialects, so the bits equal the CPU kernel's
 * (core/primitives/random.ts).
 */
import { sizeOf } from "../../../shape.ts";
import { elementwise } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";

// Random123's R_32x2 rotations and the key-schedule parity, as in the CPU kernel.
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const KS_PARITY = 0x1bd11bda;

export const threefry2x32: ClikeRule = (d, _ins, [out]) => {
  const n = sizeOf(out.shape);
  const lines = [
    d.let("ks0", "uint32", d.ld("k0", "gi")),
    d.let("ks1", "uint32", d.ld("k1", "gi")),
    d.let("ks2", "uint32", `${d.literal(KS_PARITY, "uint32")} ^ ks0 ^ ks1`),
    d.var("a", "uint32", `${d.ld("x0", "gi")} + ks0`),
    d.var("b", "uint32", `${d.ld("x1", "gi")} + ks1`),
  ];
  const ks = ["ks0", "ks1", "ks2"];
  for (let blk = 0; blk < 5; blk++) {
    for (let r = 0; r < 4; r++) {
      const s = ROTATIONS[(blk & 1) * 4 + r];
      lines.push(`a += b; b = ((b << ${s}u) | (b >> ${32 - s}u)) ^ a;`);
    }
    lines.push(`a += ${ks[(blk + 1) % 3]};`, `b += ${ks[(blk + 2) % 3]} + ${blk + 1}u;`);
  }
  lines.push(d.st("y0", "gi", "a"), d.st("y1", "gi", "b"));
  const names = ["k0", "k1", "x0", "x1"];
  const bufs = [...names.map((name) => ({ name, dtype: "uint32" as const })), { name: "y0", dtype: "uint32" as const, write: true }, { name: "y1", dtype: "uint32" as const, write: true }];
  const bindings = [{ in: 0 }, { in: 1 }, { in: 2 }, { in: 3 }, { out: 0 }, { out: 1 }];
  return { passes: [elementwise(d, bufs, bindings, n, lines.map((l) => `  ${l}`).join("\n"))] };
};
