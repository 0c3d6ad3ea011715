/**
 * Schedules against their closed forms (optax's definitions) at many steps, evaluated
 * on float64 counts (exact), on int32 counts (float32 values) and under jit. The float64
 * counts live on the CPU (WebGPU has no float64); the others on the backend under test.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, jit, type Array } from "../../index.ts";
import * as optim from "../../optim/index.ts";
import { scalarOf } from "../helpers.ts";
import { onCpu } from "../backend-under-test.ts";

const STEPS = [0, 1, 2, 3, 5, 8, 13, 49, 50, 51, 99, 100, 101, 150, 199, 200, 201, 500, 999, 1000, 1001, 5000];

/** Checks a schedule against a closed form on float64, int32 and jitted int32 counts. */
async function checkAgainst(schedule: optim.Schedule, closed: (t: number) => number) {
  const jitted = jit((c: Array) => schedule(c));
  for (const t of STEPS) {
    const want = closed(t);
    const exact = onCpu(() => schedule(np.array(t, { dtype: "float64" })));
    expect(exact.dtype).toBe("float64");
    expect(Math.abs((exact.item() as number) - want)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want)));
    const count = np.array(t, { dtype: "int32" });
    const f32 = schedule(count);
    expect(f32.dtype).toBe("float32");
    const value = await scalarOf(f32);
    expect(Math.abs(value - want)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want)));
    expect(await scalarOf(jitted(count))).toBe(value);
  }
  expect(jitted.cacheSize()).toBe(1);
}

describe("schedules", () => {
  it("constantSchedule", async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: -10, max: 10, noNaN: true }), async (v) => checkAgainst(optim.constantSchedule(v), () => v)),
      { numRuns: 5 },
    );
  });

  it("cosineDecay is init * ((1 - alpha) * (0.5 (1 + cos(pi min(t,T)/T)))^p + alpha)", async () => {
    const opts = fc.record({
      init: fc.double({ min: 1e-4, max: 1, noNaN: true }),
      decaySteps: fc.integer({ min: 1, max: 2000 }),
      alpha: fc.double({ min: 0, max: 1, noNaN: true }),
      exponent: fc.constantFrom(1, 2, 0.5),
    });
    await fc.assert(
      fc.asyncProperty(opts, async (o) => {
        const closed = (t: number) => o.init * ((1 - o.alpha) * (0.5 * (1 + Math.cos((Math.PI * Math.min(t, o.decaySteps)) / o.decaySteps))) ** o.exponent + o.alpha);
        await checkAgainst(optim.cosineDecay(o), closed);
      }),
      { numRuns: 8 },
    );
  });

  it("piecewiseConstant multiplies by each factor from its boundary on (count >= boundary, as optax)", async () => {
    const opts = fc.record({
      init: fc.double({ min: 1e-3, max: 1, noNaN: true }),
      boundaries: fc.dictionary(fc.integer({ min: 0, max: 1200 }).map(String), fc.double({ min: 0, max: 2, noNaN: true }), { maxKeys: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(opts, async ({ init, boundaries }) => {
        const closed = (t: number) => Object.entries(boundaries).reduce((v, [b, f]) => (t >= Number(b) ? v * f : v), init);
        await checkAgainst(optim.piecewiseConstant({ init, boundaries }), closed);
      }),
      { numRuns: 10 },
    );
    const lr = optim.piecewiseConstant({ init: 0.1, boundaries: { 100: 0.1 } });
    expect(await scalarOf(lr(99))).toBeCloseTo(0.1, 7);
    expect(await scalarOf(lr(100))).toBeCloseTo(0.01, 7);
  });

  it("warmupCosine: linear warmup to the peak, then cosine to end at decaySteps", async () => {
    const opts = fc.record({
      init: fc.double({ min: 0, max: 0.01, noNaN: true }),
      peak: fc.double({ min: 0.01, max: 1, noNaN: true }),
      warmupSteps: fc.integer({ min: 0, max: 300 }),
      extra: fc.integer({ min: 1, max: 1500 }),
      end: fc.double({ min: 0, max: 0.01, noNaN: true }),
    });
    await fc.assert(
      fc.asyncProperty(opts, async ({ init, peak, warmupSteps, extra, end }) => {
        const decaySteps = warmupSteps + extra;
        const closed = (t: number) => {
          if (t < warmupSteps) return init + ((peak - init) * t) / warmupSteps;
          const s = Math.min(t - warmupSteps, extra);
          return end + (peak - end) * 0.5 * (1 + Math.cos((Math.PI * s) / extra));
        };
        await checkAgainst(optim.warmupCosine({ init, peak, warmupSteps, decaySteps, end }), closed);
      }),
      { numRuns: 10 },
    );
  });

  it("linearSchedule and exponentialDecay", async () => {
    await checkAgainst(optim.linearSchedule({ init: 1, end: 0.1, transitionSteps: 100, transitionBegin: 50 }), (t) => 1 - (0.9 * Math.min(Math.max(t - 50, 0), 100)) / 100);
    await checkAgainst(optim.exponentialDecay({ init: 2, transitionSteps: 100, decayRate: 0.5 }), (t) => 2 * 0.5 ** (t / 100));
    await checkAgainst(optim.exponentialDecay({ init: 2, transitionSteps: 100, decayRate: 0.5, staircase: true, end: 0.1 }), (t) => Math.max(0.1, 2 * 0.5 ** Math.floor(t / 100)));
  });

  it("rejects settings that have no meaning", () => {
    expect(() => optim.cosineDecay({ init: 1, decaySteps: 0 })).toThrow(/decaySteps must be positive/);
    expect(() => optim.piecewiseConstant({ init: 1, boundaries: { 10: -1 } })).toThrow(/non-negative/);
    expect(() => optim.warmupCosine({ peak: 1, warmupSteps: 10, decaySteps: 10 })).toThrow(/must exceed warmupSteps/);
  });
});
