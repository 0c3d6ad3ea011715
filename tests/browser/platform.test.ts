/**
 * In Chromium (the browser-cpu project, tests/browser/projects.ts): the library loads
 * without Node, CUDA and files say they need Node, checkpoints go through bytes, and the
 * CPU backend's wasm kernels run on Web Workers over shared memory when the page is
 * cross-origin isolated (the project's server sends COOP/COEP), with the page's thread
 * never blocking.
 */
import { describe, expect, it } from "vitest";
import { initBackend, jit, np, random } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import { isNode } from "../../core/env.ts";
import { cpuThreads, setCpuThreads, startWorkers, workerBlockCount } from "../../core/backends/cpu/wasm/pool.ts";
import { wasmKernelStats } from "../../core/backends/cpu/wasm/kernels.ts";
import { hasRelaxedSimd } from "../../core/backends/cpu/wasm/matmul.ts";

describe("the library in a browser", () => {
  it("runs as a browser library (no Node), and says that CUDA and files need Node", async () => {
    expect(isNode).toBe(false);
    await expect(initBackend("cuda")).rejects.toThrow(/runs only in Node/);
    await expect(nn.save("w.safetensors", { w: np.ones([2]) })).rejects.toThrow(/w\.safetensors: a browser has no file system; use nn\.saveBytes/);
  });

  it("round-trips a checkpoint through bytes", async () => {
    const params = { w: random.normal(random.key(1), [3, 4]), b: [np.ones([5], "int32"), null] };
    const back = await nn.loadBytes(await nn.saveBytes(params));
    expect([...(await back.w.data())]).toEqual([...(await params.w.data())]);
    expect([...(await back.b[0].data())]).toEqual([1, 1, 1, 1, 1]);
    expect(back.b[1]).toBeNull();
  });
});

describe("the CPU backend's threads in a cross-origin isolated page", () => {
  it("is isolated, so shared memory can reach Web Workers", () => {
    expect((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated).toBe(true);
  });

  it("matmul and fused kernels give the single-thread results while Web Workers take blocks", async () => {
    const saved = cpuThreads();
    try {
      setCpuThreads(2);
      expect(await startWorkers()).toBe(1);
      const a = random.uniform(random.key(2), [256, 256]);
      const chain = jit((x: typeof a) => np.tanh(x.mul(3).add(1)).mul(x).sub(np.exp(x.neg())));
      const big = random.uniform(random.key(3), [512, 512]);
      setCpuThreads(1);
      const [mm1, ch1] = [await np.matmul(a, a).data(), await chain(big).data()];
      setCpuThreads(2);
      const before = workerBlockCount();
      const threadedBefore = wasmKernelStats.threaded;
      let mm2 = await np.matmul(a, a).data();
      let ch2 = await chain(big).data();
      // Workers join once they have the fused module, which arrives between jobs.
      for (let i = 0; i < 20 && wasmKernelStats.threaded === threadedBefore; i++) ch2 = await chain(big).data();
      for (let i = 0; i < 20 && workerBlockCount() === before; i++) mm2 = await np.matmul(a, a).data();
      expect(workerBlockCount()).toBeGreaterThan(before);
      expect(wasmKernelStats.threaded).toBeGreaterThan(threadedBefore);
      expect([...ch2]).toEqual([...ch1]);
      for (let i = 0; i < mm1.length; i++) expect(Math.abs(mm2[i] - mm1[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(mm1[i])));
    } finally {
      setCpuThreads(saved);
    }
  });
});

describe("the float32 product kernel in Chromium", () => {
  it("multiplies and adds with relaxed SIMD, within float32 rounding of a float64 product", async () => {
    // Chromium has shipped relaxed SIMD since 114; Node 20 has it only behind a flag.
    expect(hasRelaxedSimd()).toBe(true);
    const [m, k, n] = [37, 300, 29];
    const a = random.uniform(random.key(5), [m, k], { minval: -1, maxval: 1 });
    const b = random.uniform(random.key(6), [k, n], { minval: -1, maxval: 1 });
    const got = await np.matmul(a, b).data();
    const [av, bv] = [await a.data(), await b.data()];
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let abs = 0;
        for (let q = 0; q < k; q++) {
          sum += av[i * k + q] * bv[q * n + j];
          abs += Math.abs(av[i * k + q] * bv[q * n + j]);
        }
        expect(Math.abs(got[i * n + j] - sum)).toBeLessThanOrEqual(2 * k * 2 ** -23 * abs);
      }
  });
});
