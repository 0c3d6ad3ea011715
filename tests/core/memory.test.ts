import { describe, expect, it } from "vitest";
import { gc, settle } from "../helpers.ts";
import { np, getBackend, type Array } from "../../index.ts";
import { NDArray } from "../../core/array.ts";
import { testBackend } from "../backend-under-test.ts";

describe("memory", () => {
  it("dispose() and `using` release buffers at once; use after dispose is an error", () => {
    const stats = () => getBackend(testBackend).memoryStats();
    const before = stats().liveBuffers;
    const x = np.ones([1000]) as NDArray;
    expect(stats().liveBuffers).toBe(before + 1);
    x.dispose();
    expect(stats().liveBuffers).toBe(before);
    expect(() => x.dataSync()).toThrow(/used after dispose/);
    {
      using y = np.zeros([10]) as NDArray;
      expect(stats().liveBuffers).toBe(before + 1);
      void y;
    }
    expect(stats().liveBuffers).toBe(before);
  });

  it("a reshape shares its input's buffer, which lives until both arrays are released", async () => {
    const stats = () => getBackend(testBackend).memoryStats().liveBuffers;
    const before = stats();
    const x = np.arange(6).astype("float32") as NDArray;
    const afterX = stats();
    const y = x.reshape([2, 3]) as NDArray;
    expect(stats()).toBe(afterX);
    x.dispose();
    expect(await y.toArray()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    y.dispose();
    expect(stats()).toBeLessThanOrEqual(before + 1);
    const z = np.ones([3]) as NDArray;
    expect(await z.toArray()).toEqual([1, 1, 1]);
  });

  it.skipIf(!gc)("10,000 eager update steps run in flat memory (pool and heap; needs node --expose-gc, set in vitest.config.ts)", async () => {
    const backend = getBackend(testBackend);
    let w: Array = np.ones([64, 16]);
    const x = np.ones([16, 8]);
    const step = (w: Array) => w.sub(np.matmul(w, x).sum({ axis: 1, keepdims: true }).mul(1e-6));
    const sample = async () => {
      await settle();
      return { live: backend.memoryStats().liveBuffers, pooled: backend.memoryStats().pooledBytes, heap: process.memoryUsage().heapUsed };
    };
    for (let i = 0; i < 1000; i++) w = step(w);
    const early = await sample();
    for (let i = 1000; i < 10_000; i++) {
      w = step(w);
      if (i % 1000 === 0) await settle();
    }
    const late = await sample();
    // Every step allocates several arrays; without release we would hold tens of thousands.
    expect(late.live).toBeLessThanOrEqual(early.live + 16);
    expect(late.pooled).toBeLessThanOrEqual(early.pooled + 64 * 1024);
    expect(late.heap - early.heap).toBeLessThan(8 * 1024 * 1024);
  });
});
