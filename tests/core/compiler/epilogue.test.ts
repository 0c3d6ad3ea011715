/**
 * Kernel heads (fuse.ts): `partition` gives a kernel the dot_general or conv producing one
 * of its inputs exactly when the product is read only by that kernel, through elementwise
 * ops of its own shape and dtype, and is no program output; and jit on the CPU (which runs
 * the head, then the kernel; WebGPU, in the webgpu project, runs one kernel) still equals
 * eager, bit for bit, with or without a head.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { jit, lax, np } from "../../../index.ts";
import type { NDArray } from "../../../core/array.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { fusionStats, partition, setFusion } from "../../../core/compiler/index.ts";
import { Rng } from "../../cases/types.ts";

afterEach(() => setFusion(undefined));

type F = (...xs: Tracer[]) => Tracer | Tracer[];
const relu = (x: Tracer) => np.maximum(x, 0);

/** Programs over x [M, K], w [K, N], b [N] and y [M, N], and whether their product should head a kernel. */
const dotPrograms: [string, F, boolean][] = [
  ["relu(x @ w + b)", (x, w, b) => relu(np.add(np.matmul(x, w), b)), true],
  // The head reads a kernel's output, which must live until the head's step.
  ["relu(tanh(x) @ w + b)", (x, w, b) => relu(np.add(np.matmul(np.tanh(x), w), b)), true],
  ["(x @ w) * y + 1", (x, w, _b, y) => np.add(np.mul(np.matmul(x, w), y), 1), true],
  [
    "where(x @ w > 0, x @ w, y)",
    (x, w, _b, y) => {
      const p = np.matmul(x, w);
      return np.where(np.greater(p, 0), p, y);
    },
    true,
  ],
  [
    "the product is also an output",
    (x, w) => {
      const p = np.matmul(x, w);
      return [p, relu(p)];
    },
    false,
  ],
  ["a reduction follows", (x, w) => np.sum(relu(np.matmul(x, w))), false],
  ["a transpose sits between", (x, w) => np.add(np.transpose(np.matmul(x, w)), 1), false],
  ["a reshape sits between", (x, w) => np.exp(np.reshape(np.matmul(x, w), [-1])), false],
  ["a broadcast sits between", (x, w) => np.tanh(np.broadcastTo(np.matmul(x, w), [2, ...np.matmul(x, w).shape])), false],
  [
    "two kernels read the product",
    (x, w) => {
      const p = np.matmul(x, w);
      return [relu(p), np.exp(p)];
    },
    false,
  ],
  ["the kernel changes the dtype", (x, w) => np.greater(np.matmul(x, w), 0), false],
];

/** Head eqns attached by partition, and dot/conv equations left as their own steps. */
function heads(f: F, args: Tracer[]): { attached: string[]; alone: string[] } {
  const steps = partition(jit(f).lower(...args).jaxpr);
  return {
    attached: steps.flatMap((s) => (s.kind === "kernel" && s.head ? [s.head.eqn.prim.name] : [])),
    alone: steps.flatMap((s) => (s.kind === "eqn" && /^(dot_general|conv_general_dilated)$/.test(s.eqn.prim.name) ? [s.eqn.prim.name] : [])),
  };
}

async function expectBitEqual(want: Tracer[], got: Tracer[], label: string): Promise<void> {
  expect(got.length, label).toBe(want.length);
  for (const [i, w] of want.entries()) {
    const [a, b] = await Promise.all([(w as NDArray).data(), (got[i] as NDArray).data()]);
    expect(b.length, label).toBe(a.length);
    for (let j = 0; j < a.length; j++) if (!Object.is(a[j], b[j])) throw new Error(`${label}: output ${i} element ${j}: eager ${a[j]}, jit ${b[j]}`);
  }
}

describe("kernel heads (dot/conv epilogues) in partition", () => {
  it("a head is attached exactly in the eligible cases, and jit = eager", async () => {
    setFusion(true);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 1e9 }), async (M, K, N, seed) => {
        const rng = new Rng(seed);
        const args = [rng.array([M, K], "float32"), rng.array([K, N], "float32"), rng.array([N], "float32"), rng.array([M, N], "float32")];
        for (const [label, f, eligible] of dotPrograms) {
          const { attached, alone } = heads(f, args);
          expect(attached, label).toEqual(eligible ? ["dot_general"] : []);
          expect(alone, label).toEqual(eligible ? [] : ["dot_general"]);
          const runs = fusionStats.kernelsRun;
          await expectBitEqual([f(...args)].flat(), [jit(f)(...args)].flat(), label);
          expect(fusionStats.kernelsRun, label).toBeGreaterThan(runs);
        }
      }),
      { numRuns: 15 },
    );
  });

  it("a convolution with a bias heads its kernel; jit = eager", async () => {
    setFusion(true);
    const rng = new Rng(3);
    const x = rng.array([2, 4, 7, 6], "float32"),
      w = rng.array([6, 2, 3, 2], "float32"),
      b = rng.array([6], "float32");
    const opts = {
      strides: [2, 1],
      padding: [
        [1, 0],
        [0, 1],
      ] as [number, number][],
      groups: 2,
    };
    const f = (x: Tracer, w: Tracer, b: Tracer) => np.tanh(np.add(lax.convGeneralDilated(x, w, opts), np.reshape(b, [1, 6, 1, 1])));
    expect(heads(f, [x, w, b])).toEqual({ attached: ["conv_general_dilated"], alone: [] });
    await expectBitEqual([f(x, w, b)], [jit(f)(x, w, b)], "conv");
    // Two products feeding one kernel: only one can be its head.
    const g = (x: Tracer, w: Tracer, v: Tracer) => np.add(np.matmul(x, w), np.matmul(x, v));
    const [x2, w2, v2] = [
      [3, 4],
      [4, 5],
      [4, 5],
    ].map((s) => rng.array(s, "float32"));
    expect(heads(g, [x2, w2, v2])).toEqual({ attached: ["dot_general"], alone: ["dot_general"] });
    await expectBitEqual([g(x2, w2, v2)], [jit(g)(x2, w2, v2)], "two products");
  });
});
