/** The one-pass 2x2 / stride 2 pooling kernels against a direct reading of window.ts's pick rule, with many ties, NaNs and signed zeros. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { extreme2x2, gather2x2, pool2x2Geometry, scatter2x2 } from "../../../core/backends/cpu/pool2x2.ts";

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
});
