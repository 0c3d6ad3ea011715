/**
 * Fusion through a widening pad: a kernel computes the padded value at every point of the
 * pad, so an expensive producer is stored once instead of being fused (and repeated at
 * every padded point), while a cheap one still fuses; results are those of running unfused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { jit, np } from "../../../index.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { partition, setFusion } from "../../../core/compiler/index.ts";
import { onWebgpu } from "../../backend-under-test.ts";

afterEach(() => setFusion(undefined));

const x = np.array(Array.from({ length: 48 }, (_, i) => Math.sin(i) * 2)).reshape([6, 8]);
// More equations than a copy may take, reading x: not cheap to recompute.
const expensive = (x: Tracer) =>
  np
    .tanh(np.exp(x.mul(0.5)).mul(x).add(np.sin(x)))
    .mul(np.cos(x))
    .sub(np.sqrt(np.abs(x)))
    .add(1);

function kernelsOf(f: (x: Tracer) => Tracer): string[][] {
  return partition(jit(f).lower(x).jaxpr).flatMap((s) => (s.kind === "kernel" ? [s.eqns.map((e) => e.prim.name)] : []));
}

/** Fused = unfused: bit for bit on the CPU; within float32 rounding in WGSL, which may contract a*b+c. */
async function expectUnfusedResult(f: (x: Tracer) => Tracer): Promise<void> {
  setFusion(false);
  const want = Array.from(await jit(f)(x).data());
  setFusion(true);
  const got = Array.from(await jit(f)(x).data());
  if (!onWebgpu) expect(got).toEqual(want);
  else got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]))));
}

describe("fusion through a widening pad", () => {
  it("stores an expensive producer before a pad that doubles it", async () => {
    const f = (x: Tracer) =>
      np.pad(expensive(x), [
        [0, 0],
        [0, 8],
      ]);
    const kernels = kernelsOf(f);
    expect(kernels).toHaveLength(2);
    // The pad's kernel recomputes only the cheap tail (+ 1) of the stored value.
    expect(kernels[0]).toContain("tanh");
    expect(kernels[1]).toEqual(["broadcast_in_dim", "add", "pad"]);
    await expectUnfusedResult(f);
  });

  it("fuses a cheap producer, and an expensive one through a pad that widens little", async () => {
    const cheap = (x: Tracer) =>
      np.pad(x.mul(2).add(1), [
        [0, 0],
        [0, 8],
      ]);
    expect(kernelsOf(cheap)).toHaveLength(1);
    await expectUnfusedResult(cheap);
    const narrow = (x: Tracer) =>
      np.pad(expensive(x), [
        [0, 0],
        [0, 1],
      ]);
    expect(kernelsOf(narrow)).toHaveLength(1);
    await expectUnfusedResult(narrow);
  });
});
