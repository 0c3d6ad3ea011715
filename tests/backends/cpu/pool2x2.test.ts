/** The one-pass 2x2 / stride 2 pooling kernels against a direct reading of window.ts's pick rule, with many ties, NaNs and signed zeros. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { extreme2x2, gather2x2, pool2x2Geometry, scatter2x2, type Pool2x2 } from "../../../core/backends/cpu/pool2x2.ts";
import { pool2x2Wasm } from "../../../core/backends/cpu/wasm/pool2x2.ts";
import { heapArray, releaseHeapArray } from "../../../core/backends/cpu/wasm/kernels.ts";
import { startWorkers } from "../../../core/backends/cpu/wasm/pool.ts";

const same = (a: number, b: number) => Object.is(a, b);

describe("2x2 pooling kernels", () => {
  it("pick the first extreme in window order (a NaN first), gather at it and scatter to it, for max and min, odd sizes included", () => {
    const values = fc.constantFrom(-1, 0, -0, 1, 2, NaN);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 7 }), fc.integer({ min: 2, max: 7 }), fc.constantFrom(1, -1), fc.infiniteStream(values), (batch, h, w, sign, stream) => {
        const x = Float32Array.from({ length: batch * h * w }, () => stream.next().value);
        const t = Float32Array.from(x, (_, i) => i + 1);
        const g = pool2x2Geometry([batch, h, w], {
          window: [1, 2, 2],
          strides: [1, 2, 2],
          padding: [
            [0, 0],
            [0, 0],
            [0, 0],
          ],
        })!;
        const n = batch * g.oh * g.ow;
        const picks: number[] = [];
        for (let b = 0; b < batch; b++) {
          for (let y = 0; y < g.oh; y++) {
            for (let xo = 0; xo < g.ow; xo++) {
              const taps = [0, 1, w, w + 1].map((d) => b * h * w + 2 * y * w + 2 * xo + d);
              let best = taps[0];
              for (const i of taps) {
                if (Number.isNaN(x[best])) break;
                if (Number.isNaN(x[i]) || sign * x[i] > sign * x[best]) best = i;
              }
              picks.push(best);
            }
          }
        }
        const out = new Float32Array(n);
        extreme2x2(x, out, g, sign);
        picks.forEach((p, o) => expect(same(out[o], x[p]), `extreme at ${o}`).toBe(true));
        gather2x2(t, x, out, g, sign);
        picks.forEach((p, o) => expect(out[o]).toBe(t[p]));
        const s = Float32Array.from({ length: n }, (_, o) => 100 + o);
        const back = new Float32Array(x.length).fill(NaN);
        scatter2x2(s, x, back, g, sign);
        const want = new Float32Array(x.length);
        picks.forEach((p, o) => (want[p] = s[o]));
        expect(Array.from(back)).toEqual(Array.from(want));
      }),
      { numRuns: 300 },
    );
  });

  it("applies only to 2x2 windows of stride 2 without padding on the last two axes", () => {
    const p = (window: number[], strides: number[], pad = 0) => ({ window, strides, padding: window.map(() => [0, pad] as [number, number]) });
    expect(pool2x2Geometry([4, 6, 8], p([1, 2, 2], [1, 2, 2]))).toEqual({ batch: 4, h: 6, w: 8, oh: 3, ow: 4 });
    expect(pool2x2Geometry([4, 6, 8], p([1, 2, 2], [1, 1, 2]))).toBeNull();
    expect(pool2x2Geometry([4, 6, 8], p([1, 3, 2], [1, 2, 2]))).toBeNull();
    expect(pool2x2Geometry([4, 6, 8], p([2, 2, 2], [1, 2, 2]))).toBeNull();
    expect(pool2x2Geometry([4, 6, 8], p([1, 2, 2], [1, 2, 2], 1))).toBeNull();
    expect(pool2x2Geometry([8], p([2], [2]))).toBeNull();
  });

  it("the WebAssembly kernels equal the JavaScript ones bit for bit (small and odd sizes, and large ones split over threads)", async () => {
    await startWorkers();
    const values = fc.constantFrom(-1, 0, -0, 1, 2, 0.5, NaN);
    const heap = (n: number) => heapArray("float32", n) as Float32Array;
    const check = (g: Pool2x2, select: "max" | "min", stream: Iterator<number>) => {
      const n = g.batch * g.oh * g.ow;
      // Filled in place (map would return an array outside the heap).
      const x = heap(g.batch * g.h * g.w);
      for (let i = 0; i < x.length; i++) x[i] = stream.next().value as number;
      const s = heap(n);
      for (let o = 0; o < n; o++) s[o] = 100 + o;
      const [out, want] = [heap(n), new Float32Array(n)];
      const [back, wantBack] = [heap(x.length).fill(NaN), new Float32Array(x.length)];
      const sign = select === "max" ? 1 : -1;
      expect(pool2x2Wasm("extreme", select, g, out, [x])).toBe(true);
      extreme2x2(x, want, g, sign);
      expect(pool2x2Wasm("scatter", select, g, back, [s, x])).toBe(true);
      scatter2x2(s, x, wantBack, g, sign);
      for (let i = 0; i < n; i++) if (!same(out[i], want[i])) throw new Error(`${select} extreme at ${i}: ${out[i]} != ${want[i]}`);
      for (let i = 0; i < x.length; i++) if (!same(back[i], wantBack[i])) throw new Error(`${select} scatter at ${i}: ${back[i]} != ${wantBack[i]}`);
      for (const a of [x, s, out, back]) releaseHeapArray(a);
    };
    const geometry = (batch: number, h: number, w: number) => ({ batch, h, w, oh: h >> 1, ow: w >> 1 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 2, max: 9 }),
        fc.constantFrom("max" as const, "min" as const),
        fc.infiniteStream(values),
        (batch, h, w, select, stream) => check(geometry(batch, h, w), select, stream[Symbol.iterator]()),
      ),
      { numRuns: 200 },
    );
    // Large enough to run in blocks on the worker threads.
    let k = 0;
    const many = { next: () => ({ value: [-1, 0, -0, 1, 2, NaN][(k = (k * 7 + 3) % 11) % 6], done: false }) };
    check(geometry(96, 28, 28), "max", many);
    check(geometry(40, 15, 13), "min", many);
  });
});
