/** Broadcasting and dtype promotion follow NumPy (with JAX's weakly typed JS numbers). */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np } from "../../index.ts";
import type { DType } from "../../core/dtype.ts";
import { FLOAT, itOnCpu, onWebgpu } from "../backend-under-test.ts";
import { bget, broadcastPairArb, broadcastRule, build, config, expectRef, ref, shapeArb, toArray, valuesArb, type Ref } from "./np-reference.ts";

const refOf = (shape: number[]) => valuesArb(shape).map((data): Ref => ({ shape, data }));
const pairs = broadcastPairArb.chain(([a, b]) => fc.tuple(refOf(a), refOf(b)));

describe("broadcast shapes", () => {
  it("the result shape is NumPy's rule, and incompatible shapes throw naming the op and shapes", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(4, 3), shapeArb(4, 3), async (a, b) => {
        const want = broadcastRule(a, b);
        const f = () => np.add(np.zeros(a), np.zeros(b));
        if (want === null) expect(f).toThrow(`add: cannot broadcast [${a.join(",")}] with [${b.join(",")}]`);
        else expect(f().shape).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it("broadcastTo repeats values along new and size-1 axes", async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async ([a, b]) => {
        const shape = broadcastRule(a.shape, b.shape)!;
        await expectRef(
          np.broadcastTo(toArray(a), shape),
          build(shape, (i) => bget(a, i)),
        );
        await expectRef(
          toArray(a).broadcastTo(shape),
          build(shape, (i) => bget(a, i)),
        );
      }),
      config,
    );
  });

  it("broadcast(x) + y == x + broadcast(y) == x + y, and add / mul commute exactly", async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async ([a, b]) => {
        const x = toArray(a);
        const y = toArray(b);
        const shape = broadcastRule(a.shape, b.shape)!;
        const direct = await ref(np.add(x, y));
        await expectRef(np.add(np.broadcastTo(x, shape), y), direct, 0);
        await expectRef(np.add(x, np.broadcastTo(y, shape)), direct, 0);
        await expectRef(np.add(y, x), direct, 0);
        await expectRef(np.mul(y, x), await ref(np.mul(x, y)), 0);
        await expectRef(np.maximum(y, x), await ref(np.maximum(x, y)), 0);
        // Methods broadcast the same way.
        await expectRef(x.add(y), direct, 0);
      }),
      config,
    );
  });

  it("where broadcasts all three operands", async () => {
    await fc.assert(
      fc.asyncProperty(pairs, shapeArb(2, 1), async ([a, b], cs) => {
        const c = build(cs, () => 1);
        const shape = broadcastRule(a.shape, b.shape, cs)!;
        const out = np.where(np.greater(toArray(a), 0), toArray(b), np.zeros(cs, { dtype: FLOAT }));
        await expectRef(
          out,
          build(shape, (i) => (bget(a, i) > 0 ? bget(b, i) : 0 * bget(c, i))),
        );
      }),
      config,
    );
  });
});

describe("dtype promotion", () => {
  const arr = (dtype: DType) => np.ones([2], { dtype });
  it("JS numbers are weakly typed", async () => {
    expect(np.add(arr("int32"), 1.5).dtype).toBe("float32");
    expect(np.mul(arr("int32"), 2).dtype).toBe("int32");
    expect(np.add(arr("float32"), 2).dtype).toBe("float32");
    expect(np.add(arr("bool"), 1).dtype).toBe("int32");
    expect(np.add(2, arr("uint32")).dtype).toBe("uint32");
    await expectRef(np.add(arr("int32"), 1.5), { shape: [2], data: [2.5, 2.5] });
  });

  // float64 is promoted to in the CPU-only case below (WebGPU has no float64 arrays).
  it("arrays promote bool < uint32 < int32 < float32", async () => {
    const order: DType[] = ["bool", "uint32", "int32", "float32"];
    for (const [i, a] of order.entries()) {
      for (const [j, b] of order.entries()) {
        if (a === "bool" && b === "bool") continue;
        expect(np.maximum(arr(a), arr(b)).dtype, `${a} with ${b}`).toBe(order[Math.max(i, j)]);
      }
    }
  });

  it("division is true division; reductions of bool count", async () => {
    expect(np.div(arr("int32"), arr("int32")).dtype).toBe("float32");
    await expectRef(np.div(np.array([1, 3], { dtype: "int32" }), 2), { shape: [2], data: [0.5, 1.5] });
    expect(np.sum(arr("bool")).dtype).toBe("int32");
    await expectRef(np.sum(np.array([true, false, true])), { shape: [], data: [2] });
    expect(np.mean(arr("int32")).dtype).toBe("float32");
    expect(np.equal(arr("int32"), 1).dtype).toBe("bool");
  });

  itOnCpu("WebGPU has no float64 arrays")("float64 is the widest type: arrays and JS numbers promote to it, division keeps it", () => {
    for (const a of ["bool", "uint32", "int32", "float32", "float64"] as DType[]) {
      expect(np.maximum(arr(a), arr("float64")).dtype, `${a} with float64`).toBe("float64");
      expect(np.maximum(arr("float64"), arr(a)).dtype, `float64 with ${a}`).toBe("float64");
    }
    expect(np.add(arr("float64"), 1.5).dtype).toBe("float64");
    expect(np.div(arr("float64"), 2).dtype).toBe("float64");
  });

  it("np.array infers float32 from JS numbers and bool from booleans; TypedArrays keep their dtype", async () => {
    expect(np.array([1, 2]).dtype).toBe("float32");
    expect(np.array([true, false]).dtype).toBe("bool");
    expect(np.array(new Int32Array([1, 2])).dtype).toBe("int32");
    // WebGPU refuses a float64 array with a message saying what to do instead.
    if (onWebgpu) expect(() => np.array(new Float64Array([1, 2]))).toThrow(/float64 is not supported/);
    else expect(np.array(new Float64Array([1, 2])).dtype).toBe("float64");
    expect(np.array([[1, 2]], { dtype: "int32" }).shape).toEqual([1, 2]);
  });
});
