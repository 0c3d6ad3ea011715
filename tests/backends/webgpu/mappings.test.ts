/**
 * The guard against the process's memory-mapping limit (core/backends/webgpu/mappings.ts):
 * lavapipe maps memory for every launch's bind group, which a loop that never yields
 * never releases. Near vm.max_map_count, launches are refused with a clear error instead
 * of the driver crashing, and the backend works again once the loop yields.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { getBackend, np } from "../../../index.ts";
import type { NDArray } from "../../../core/array.ts";
import { gpuStats, type WebGpuBackend } from "../../../core/backends/webgpu/index.ts";
import { CHECK_EVERY, MappingGuard, processMappings } from "../../../core/backends/webgpu/mappings.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { gc, settle } from "../../helpers.ts";
import { gpuSkipReason, onGpu } from "./gpu.ts";

const linux = processMappings() !== null;
const step = (w: Tracer, x: Tracer) => w.sub(np.matmul(w, x).sum({ axis: 1, keepdims: true }).mul(1e-6));

/** A guard over a simulated count: each group made adds `perGroup` mappings. */
function simulated(limit: number | null, perGroup: number, start = 0) {
  const sim = { count: start, reads: 0, collections: 0 };
  const guard = new MappingGuard({ limit, read: () => (sim.reads++, Math.round(sim.count)), collect: () => sim.collections++ });
  /** Makes n groups, checking before each like a launch; returns the error, if any. */
  const launch = (n: number): Error | null => {
    for (let k = 0; k < n; k++) {
      try {
        guard.check("a test kernel");
      } catch (e) {
        return e as Error;
      }
      guard.made++;
      sim.count += perGroup;
    }
    return null;
  };
  return { sim, launch };
}

describe("the memory-mapping guard's policy (simulated counts)", () => {
  const limit = 40 * CHECK_EVERY;

  it("collects once the count heads past a quarter of the limit, refuses before the limit, and says what to do", () => {
    const { sim, launch } = simulated(limit, 1);
    const error = launch(2 * limit);
    expect(sim.count).toBeLessThan(limit);
    expect(sim.count).toBeGreaterThan(0.9 * limit);
    expect(error?.message).toMatch(
      new RegExp(`^webgpu: a test kernel: this process holds \\d+ memory mappings, near the system's limit \\(vm\\.max_map_count = ${limit}\\), and gains about 1\\.00 per kernel launch`),
    );
    expect(error?.message).toContain("await now and then");
    // One collection per 8 * CHECK_EVERY groups from a quarter of the limit on.
    const span = ((0.97 - 0.25) * limit) / (8 * CHECK_EVERY);
    expect(sim.collections).toBeGreaterThanOrEqual(Math.floor(span));
    expect(sim.collections).toBeLessThanOrEqual(Math.ceil(span) + 1);
    // The count is read once per CHECK_EVERY groups, not per launch.
    expect(sim.reads).toBeLessThanOrEqual(Math.ceil(sim.count / CHECK_EVERY) + 1);
  });

  it("a slower growth is refused later, still before the limit", () => {
    const { sim, launch } = simulated(limit, 0.3);
    expect(launch(4 * limit)).not.toBeNull();
    expect(sim.count).toBeLessThan(limit);
    expect(sim.count).toBeGreaterThan(0.95 * limit);
  });

  it("a high count that no longer grows (released groups reused) is neither collected for nor refused", () => {
    const { sim, launch } = simulated(limit, 0, 0.95 * limit);
    expect(launch(20 * CHECK_EVERY)).toBeNull();
    expect(sim.collections).toBe(0);
  });

  it("does nothing without a limit to watch", () => {
    const { sim, launch } = simulated(null, 1);
    expect(launch(4 * limit)).toBeNull();
    expect(sim.reads).toBe(1); // the reading at construction
    expect(sim.collections).toBe(0);
  });
});

describe.skipIf(gpuSkipReason !== null || !linux)("webgpu memory-mapping guard (Linux: reads /proc)", () => {
  it.skipIf(!gc)("refuses launches in a synchronous loop near the limit, then works again once the loop yields (needs node --expose-gc, set in vitest.config.ts)", async () => {
    const b = getBackend("webgpu") as WebGpuBackend;
    const saved = b.mappings.hooks.limit;
    const x = onGpu(np.ones([16, 8]));
    let w = onGpu(np.ones([64, 16])) as Tracer;
    try {
      await settle();
      // Room for several thousand launches: a thousand-odd steps of five kernels each.
      b.mappings.hooks.limit = processMappings()! + 8 * CHECK_EVERY;
      const start = gpuStats.dispatches;
      let error: Error | null = null;
      try {
        for (let k = 0; k < 20 * CHECK_EVERY; k++) w = step(w, x);
      } catch (e) {
        error = e as Error;
      }
      const launched = gpuStats.dispatches - start;
      expect(error?.message).toMatch(/webgpu: \w+: this process holds \d+ memory mappings, near the system's limit \(vm\.max_map_count = \d+\)/);
      expect(error?.message).toContain("await now and then");
      expect(launched).toBeGreaterThan(4 * CHECK_EVERY);
      // The mappings stay, but once the bind groups are released Dawn reuses them: another
      // synchronous stretch, of half as many launches, adds almost none and is not refused.
      await settle();
      await w.data();
      await settle();
      const before = processMappings()!;
      const again = gpuStats.dispatches;
      while (gpuStats.dispatches - again < launched / 2) w = step(w, x);
      const got = (await (w as NDArray).data())[0];
      expect(Number.isFinite(got)).toBe(true);
      // Without reuse the stretch's groups (over 2 * CHECK_EVERY) would add at least as many
      // mappings; with reuse a few hundred appear at most (435 in a CI run with the other test
      // processes busy, under 100 alone), from lavapipe and Dawn themselves.
      expect(processMappings()! - before).toBeLessThan(CHECK_EVERY);
    } finally {
      b.mappings.hooks.limit = saved;
      await settle();
    }
  });

  it("a synchronous loop of 20000 eager steps ends in that error, not in a crash of the driver", () => {
    const script = new URL("./fixtures/sync-loop.ts", import.meta.url).pathname;
    const r = spawnSync(process.execPath, ["--import", "tsx", script, "20000"], { encoding: "utf8", timeout: 120_000 });
    expect(r.signal, r.stderr).toBeNull();
    const out = r.stdout.trim();
    // Where the system allows enough mappings, the loop simply finishes.
    if (r.status === 0) expect(out).toMatch(/^finished /);
    else {
      expect(r.status).toBe(1);
      expect(out).toMatch(/near the system's limit \(vm\.max_map_count = \d+\)/);
    }
  });
});
