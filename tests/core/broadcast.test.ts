/** Broadcasting and dtype promotion follow NumPy (with JAX's weakly typed JS numbers). */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np } from "../../index.ts";
import type { DType } from "../../core/dtype.ts";
import { bget, broadcastPairArb, broadcastRule, build, config, expectRef, ref, shapeArb, toArray, valuesArb, type Ref } from "./np-reference.ts";

const refOf = (shape: number[]) => valuesArb(shape).map((data): Ref => ({ shape, data }));
const pairs = broadcastPairArb.chain(([a, b]) => fc.tuple(refOf(a), refOf(b)));

describe("broadcast shapes", () => {
  it("the result shape is NumPy's rule, and incompatible shapes throw naming the op and shapes", () => {
    fc.assert(
      fc.property(shapeArb(4, 3), shapeArb(4, 3), (a, b) => {
        const want = broadcastRule(a, b);
        const f = () => np.add(np.zeros(a), np.zeros(b));
        if (want === null) expect(f).toThrow(`add: cannot broadcast [${a.join(",")}] with [${b.join(",")}]`);
        else expect(f().shape).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it("broadcastTo repeats values along new and size-1 axes", () => {
    fc.assert(
      fc.property(pairs, ([a, b]) => {
        const shape = broadcastRule(a.shape, b.shape)!;
        expectRef(np.broadcastTo(toArray(a), shape), build(shape, (i) => bget(a, i)));
        expectRef(toArray(a).broadcastTo(shape), build(shape, (i) => bget(a, i)));
      }),
      config,
    );
  });

  it("broadcast(x) + y == x + broadcast(y) == x + y, and add / mul commute exactly", () => {
    fc.assert(
      fc.property(pairs, ([a, b]) => {
        const x = toArray(a);
        const y = toArray(b);
        const shape = broadcastRule(a.shape, b.shape)!;
        const direct = ref(np.add(x, y));
        expectRef(np.add(np.broadcastTo(x, shape), y), direct, 0);
        expectRef(np.add(x, np.broadcastTo(y, shape)), direct, 0);
        expectRef(np.add(y, x), direct, 0);
        expectRef(np.mul(y, x), ref(np.mul(x, y)), 0);
        expectRef(np.maximum(y, x), ref(np.maximum(x, y)), 0);
        // Methods broadcast the same way.
        expectRef(x.add(y), direct, 0);
      }),
      config,
    );
  });

  it("where broadcasts all three operands", () => {
    fc.assert(
      fc.property(pairs, shapeArb(2, 1), ([a, b], cs) => {
        const c = build(cs, () => 1);
        const shape = broadcastRule(a.shape, b.shape, cs)!;
        const out = np.where(np.greater(toArray(a), 0), toArray(b), np.zeros(cs, { dtype: "float64" }));
        expectRef(out, build(shape, (i) => (bget(a, i) > 0 ? bget(b, i) : 0 * bget(c, i))));
      }),
      config,
    );
  });
});

describe("dtype promotion", () => {
  const arr = (dtype: DType) => np.ones([2], { dtype });
  it("JS numbers are weakly typed", () => {
    expect(np.add(arr("int32"), 1.5).dtype).toBe("float32");
    expect(np.mul(arr("int32"), 2).dtype).toBe("int32");
    expect(np.add(arr("float64"), 1.5).dtype).toBe("float64");
    expect(np.add(arr("float32"), 2).dtype).toBe("float32");
    expect(np.add(arr("bool"), 1).dtype).toBe("int32");
    expect(np.add(2, arr("uint32")).dtype).toBe("uint32");
    expectRef(np.add(arr("int32"), 1.5), { shape: [2], data: [2.5, 2.5] });
  });

  it("arrays promote bool < uint32 < int32 < float32 < float64", () => {
    const order: DType[] = ["bool", "uint32", "int32", "float32", "float64"];
    for (const [i, a] of order.entries()) {
      for (const [j, b] of order.entries()) {
        if (a === "bool" && b === "bool") continue;
        expect(np.maximum(arr(a), arr(b)).dtype, `${a} with ${b}`).toBe(order[Math.max(i, j)]);
      }
    }
  });

  it("division is true division; reductions of bool count", () => {
    expect(np.div(arr("int32"), arr("int32")).dtype).toBe("float32");
    expectRef(np.div(np.array([1, 3], { dtype: "int32" }), 2), { shape: [2], data: [0.5, 1.5] });
    expect(np.div(arr("float64"), 2).dtype).toBe("float64");
    expect(np.sum(arr("bool")).dtype).toBe("int32");
    expectRef(np.sum(np.array([true, false, true])), { shape: [], data: [2] });
    expect(np.mean(arr("int32")).dtype).toBe("float32");
    expect(np.equal(arr("int32"), 1).dtype).toBe("bool");
  });

  it("np.array infers float32 from JS numbers and bool from booleans; TypedArrays keep their dtype", () => {
    expect(np.array([1, 2]).dtype).toBe("float32");
    expect(np.array([true, false]).dtype).toBe("bool");
    expect(np.array(new Int32Array([1, 2])).dtype).toBe("int32");
    expect(np.array(new Float64Array([1, 2])).dtype).toBe("float64");
    expect(np.array([[1, 2]], { dtype: "int32" }).shape).toEqual([1, 2]);
  });
});
