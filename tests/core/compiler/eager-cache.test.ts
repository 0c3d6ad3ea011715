/** The eager kernel cache (core/compiler/eager.ts) is bounded and evicts the least recently used signature. */
import { describe, expect, it } from "vitest";
import "../../../index.ts";
import { EAGER_CACHE_LIMIT, eagerCacheSize, eagerKernel } from "../../../core/compiler/eager.ts";
import { getPrimitive } from "../../../core/primitive.ts";

describe("eager kernel cache", () => {
  it("stays within its bound, keeps a signature in use and evicts one left unused", () => {
    const neg = getPrimitive("neg");
    const call = (n: number) => {
      const avals = [{ shape: [n], dtype: "float32" as const }];
      return eagerKernel(neg, avals, {}, avals);
    };
    const used = call(1);
    const unused = call(2);
    expect(call(2)).toBe(unused);
    for (let n = 3; n < EAGER_CACHE_LIMIT + 50; n++) {
      call(n);
      if (n % 64 === 0) expect(call(1)).toBe(used);
    }
    expect(eagerCacheSize()).toBeLessThanOrEqual(EAGER_CACHE_LIMIT);
    expect(call(1)).toBe(used);
    expect(call(2)).not.toBe(unused);
  });
});
