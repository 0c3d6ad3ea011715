import { describe, expect, it } from "vitest";
import { np } from "../../index.ts";

describe("NumPy edge cases", () => {
  it("bool + bool is logical or and bool * bool is logical and", async () => {
    const a = np.array([true, true, false, false]);
    const b = np.array([true, false, true, false]);
    expect(await np.add(a, b).toArray()).toEqual([true, true, true, false]);
    expect(await np.mul(a, b).toArray()).toEqual([true, false, false, false]);
  });
  it("fractional JS indices are rejected, integral ones (negative too) accepted", async () => {
    const x = np.array([10, 20, 30]);
    expect(() => np.take(x, [0.5])).toThrow(/indices must be integers/);
    expect(await np.take(x, [2, -1, 0]).toArray()).toEqual([30, 30, 10]);
  });
  it("matmul names the shapes the caller passed", () => {
    expect(() => np.matmul(np.ones([3]), np.ones([4, 2]))).toThrow("matmul: inner dimensions differ: [3] @ [4,2] (3 vs 4)");
  });
});
