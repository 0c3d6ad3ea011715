import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, linalg, random, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import * as check from "../../testing/index.ts";
import { FLOAT, onCpu } from "../backend-under-test.ts";

type M = number[][];
const mul = (a: M, b: M) => a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: M) => a[0].map((_, j) => a.map((r) => r[j]));
const det3 = (m: M) => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
const gap = (a: M, b: M) => Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i][j]))));
const eye = (n: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const rotationAngle = (m: M) => Math.acos(Math.min(1, Math.max(-1, (m[0][0] + m[1][1] + m[2][2] - 1) / 2)));

describe("group elements", () => {
  it("rotation2d: homogeneous rotations by at most maxAngle, labelled with the angle", () => {
    fc.assert(
      fc.property(check.arb.rotation2d({ maxAngle: 0.7 }), (g) => {
        const m = g.value as M;
        const a = Math.atan2(m[1][0], m[0][0]);
        expect(Math.abs(a)).toBeLessThanOrEqual(0.7 + 1e-12);
        expect(gap(mul(m, transpose(m)), eye(3))).toBeLessThan(1e-12);
        expect(m[2]).toEqual([0, 0, 1]);
        expect(fc.stringify(g)).toBe(g.label);
        expect(g.label).toMatch(/^rotation by -?[0-9.e-]+ rad$/);
      }),
    );
  });

  it("affine2d: expm of coefficients within [-width/2, width/2]; a rotation-only width gives rotations within it", () => {
    fc.assert(
      fc.property(check.arb.affine2d({ widths: [0, 0, 1, 0, 0, 0] }), (g) => {
        const m = g.value as M;
        expect(gap(mul(m, transpose(m)), eye(3))).toBeLessThan(1e-12);
        expect(Math.abs(Math.atan2(m[1][0], m[0][0]))).toBeLessThanOrEqual(0.5 + 1e-12);
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(check.arb.affine2d({ widths: 0.4 }), (g) => {
        const m = g.value as M;
        expect(m[2]).toEqual([0, 0, 1]);
        // log-free check: det(expm(A)) = exp(trace A), and trace A = 2 * (scale coefficient) is within [-0.4, 0.4].
        expect(Math.abs(Math.log(det3(m)))).toBeLessThanOrEqual(0.4 + 1e-9);
      }),
      { numRuns: 50 },
    );
  });

  it("so3: rotations (orthogonal, det 1); Haar-uniform: E[R] = 0, so the mean of 2000 draws is near 0", () => {
    const draws = fc.sample(check.arb.so3(), { numRuns: 2000, seed: 3 }).map((g) => g.value as M);
    for (const m of draws.slice(0, 200)) {
      expect(gap(mul(m, transpose(m)), eye(3))).toBeLessThan(1e-12);
      expect(Math.abs(det3(m) - 1)).toBeLessThan(1e-12);
    }
    // Each entry of a Haar rotation has mean 0 and variance 1/3: 2000 draws put the mean within 0.013 (1 sd); 0.06 is 4.6 sd.
    const mean = draws.reduce(
      (s, m) => s.map((r, i) => r.map((v, j) => v + m[i][j] / draws.length)),
      eye(3).map((r) => r.map(() => 0)),
    );
    expect(Math.max(...mean.flat().map(Math.abs))).toBeLessThan(0.06);
    // The angle's density is (1 - cos t) / pi: P(t < pi/2) = (pi/2 - 1) / pi = 0.182.
    const small = draws.filter((m) => rotationAngle(m) < Math.PI / 2).length / draws.length;
    expect(Math.abs(small - 0.182)).toBeLessThan(0.04);
  });

  it("so3 with maxAngle: rotations by at most that angle", () => {
    fc.assert(
      fc.property(check.arb.so3({ maxAngle: 0.3 }), (g) => {
        expect(rotationAngle(g.value as M)).toBeLessThanOrEqual(0.3 + 1e-9);
      }),
    );
  });

  it("affine3d: 4x4 homogeneous maps; rotation-only widths give rotations", () => {
    fc.assert(
      fc.property(check.arb.affine3d({ widths: [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0] }), (g) => {
        const m = g.value as M;
        expect(m[3]).toEqual([0, 0, 0, 1]);
        const r = m.slice(0, 3).map((row) => row.slice(0, 3));
        expect(gap(mul(r, transpose(r)), eye(3))).toBeLessThan(1e-12);
        expect(Math.abs(det3(r) - 1)).toBeLessThan(1e-12);
      }),
      { numRuns: 30 },
    );
  });

  it("permutations decode to permutations of any length; the zero code is the identity", () => {
    fc.assert(
      fc.property(check.arb.permutation(), fc.integer({ min: 1, max: 12 }), (g, n) => {
        const p = check.arb.decodePermutation(g.value as number[], n);
        expect([...p].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
      }),
    );
    expect(check.arb.decodePermutation([], 4)).toEqual([0, 1, 2, 3]);
  });

  it("groupElement draws a group's elements, every one of a finite group, shrinking to the identity", () => {
    const labels = new Set(fc.sample(check.arb.groupElement(check.groups.d4()), { numRuns: 200, seed: 2 }).map((g) => g.label));
    expect(labels).toEqual(new Set(check.groups.d4().elements!.map((e) => e.label)));
    const d = fc.check(
      fc.property(check.arb.groupElement(check.groups.c4()), (_g: check.GroupElement) => false),
      { seed: 1 },
    );
    expect(d.counterexample![0].label).toBe("identity");
    expect(() => check.arb.groupElement(aug.uniformAffine() as never)).toThrow(/give a group from check\.groups/);
  });

  it("C4 and D4 are closed under composition, with the identity first", () => {
    for (const group of [check.groups.c4(), check.groups.d4()]) {
      const els = group.elements!.map((e) => e.value as M);
      expect(els[0]).toEqual(eye(3));
      for (const a of els) for (const b of els) expect(els.some((c) => gap(mul(a, b), c) < 1e-12)).toBe(true);
    }
    expect(check.groups.d4().elements!.length).toBe(8);
  });

  it("C4 acts on square images as exact quarter turns of the pixels", async () => {
    const x = np.arange(6).reshape([1, 1, 2, 3]);
    const sq = np.array([
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ]);
    const quarter = check.groups.c4().elements![1];
    // (row, col) -> rotating the picture by +90 degrees in the image's x/y frame.
    expect(await check.groups.c4().act(sq, quarter).toArray()).toEqual([
      [
        [
          [2, 4],
          [1, 3],
        ],
      ],
    ]);
    expect(check.groups.c4().act(x, quarter).shape).toEqual([1, 1, 2, 3]);
  });
});

describe("inputs", () => {
  it("images: shapes within the ranges, the asked dtype, and a readable label", () => {
    fc.assert(
      fc.property(check.arb.image({ batch: [1, 2], channels: [1, 3], size: [2, 5], dtype: "float32" }), (x) => {
        const [n, c, h, w] = x.shape;
        expect(n >= 1 && n <= 2 && c >= 1 && c <= 3 && h >= 2 && h <= 5).toBe(true);
        expect(w).toBe(h);
        expect(x.dtype).toBe("float32");
        expect(fc.stringify(x)).toMatch(new RegExp(`^image \\[${n}, ${c}, ${h}, ${h}\\] \\(seed \\d+\\)$`));
      }),
      { numRuns: 20 },
    );
  });

  it("images: other heights and widths, and the same pixels for the same seed", async () => {
    const [a, b] = [0, 0].map(() => fc.sample(check.arb.image({ height: 3, width: 7 }), { numRuns: 1, seed: 9 })[0]);
    expect(a.shape.slice(2)).toEqual([3, 7]);
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
  });

  it("point clouds: zero padding after each cloud's points, the mask marks real points, at least one per cloud", async () => {
    await fc.assert(
      fc.asyncProperty(check.arb.pointCloud({ batch: [1, 3], points: [1, 5], padding: [0, 2], features: 2, dtype: FLOAT }), async (pc) => {
        const [n, p] = pc.mask.shape;
        expect(pc.positions.shape).toEqual([n, p, 3]);
        expect(pc.features!.shape).toEqual([n, p, 2]);
        expect(pc.positions.dtype).toBe(FLOAT);
        const mask = (await pc.mask.toArray()) as number[][];
        const pos = (await pc.positions.toArray()) as number[][][];
        for (let i = 0; i < n; i++) {
          const count = mask[i].filter((v) => v === 1).length;
          expect(count).toBeGreaterThanOrEqual(1);
          expect(mask[i]).toEqual(mask[i].map((_, j) => (j < count ? 1 : 0)));
          for (let j = count; j < p; j++) expect(pos[i][j]).toEqual([0, 0, 0]);
        }
        expect(fc.stringify(pc)).toMatch(/^point clouds of \[[0-9, ]+\] points padded to \d+, 2 features \(seed \d+\)$/);
      }),
      { numRuns: 20 },
    );
  });

  it("keys are random.key(seed), printed with their seed", async () => {
    const [k] = fc.sample(check.arb.key(), { numRuns: 1, seed: 4 });
    const seed = Number(/^random\.key\((\d+)\)$/.exec(fc.stringify(k))![1]);
    expect(Array.from(await k.data())).toEqual(Array.from(await random.key(seed).data()));
  });

  it("bad ranges are clear errors", () => {
    expect(() => check.arb.image({ size: [5, 2] })).toThrow(/check\.arb\.image: size must be a non-negative integer or \[min, max\], got \[5,2\]/);
    expect(() => check.arb.affine2d({ widths: [1, 2] })).toThrow(/widths must be 6 non-negative numbers/);
    expect(() => check.arb.rotation2d({ maxAngle: -1 })).toThrow(/maxAngle must be non-negative/);
    // A guessed positional form or a misspelt key is an error, never a silent default.
    expect(() => check.groups.rotations2d(0.5 as never)).toThrow(/check\.groups\.rotations2d: options must be an object/);
    expect(() => check.arb.image({ sizes: 4 } as never)).toThrow(/check\.arb\.image: unknown option "sizes"/);
    expect(() => check.groups.so3({ max_angle: 1 } as never)).toThrow(/unknown option "max_angle" \(did you mean "maxAngle"\?\)/);
    expect(() => (check.groups.permutations as (...a: unknown[]) => unknown)(3)).toThrow(/takes no arguments/);
    expect(() => aug.uniformSO3(1 as never)).toThrow(/uniformSO3: takes no arguments/);
  });
});

describe("shrinking finds small counterexamples", () => {
  it("a claim that fails beyond an angle shrinks to an angle just past it", () => {
    const d = fc.check(
      fc.property(check.arb.rotation2d(), (g) => Math.abs(Math.atan2((g.value as M)[1][0], (g.value as M)[0][0])) <= 0.5),
      { seed: 1 },
    );
    expect(d.failed).toBe(true);
    const a = Math.abs(Math.atan2((d.counterexample![0].value as M)[1][0], (d.counterexample![0].value as M)[0][0]));
    expect(a).toBeGreaterThan(0.5);
    expect(a).toBeLessThan(0.51);
  });

  it("a claim that fails on images larger than 3 shrinks to one 4x4 image", () => {
    const d = fc.check(
      fc.property(check.arb.image({ size: [2, 9], batch: [1, 4] }), (x) => x.shape[2] <= 3),
      { seed: 2 },
    );
    expect(d.failed).toBe(true);
    expect(d.counterexample![0].shape).toEqual([1, 1, 4, 4]);
    expect(fc.stringify(d.counterexample![0])).toBe("image [1, 1, 4, 4] (seed 0)");
  });

  it("SO(3) shrinks toward the identity", () => {
    const d = fc.check(
      fc.property(check.arb.so3(), (g) => rotationAngle(g.value as M) < 1e-3),
      { seed: 4 },
    );
    expect(d.failed).toBe(true);
    expect(rotationAngle(d.counterexample![0].value as M)).toBeLessThan(0.01);
  });
});

describe("elements agree with the distributions", () => {
  it("an affine2d element is the expm that aug.uniformAffine would build from the same coefficients", () => {
    onCpu(() => {
      const g = fc.sample(check.arb.affine2d({ widths: [0, 0, 1.2, 0, 0, 0] }), { numRuns: 1, seed: 5 })[0];
      const a = Math.atan2((g.value as M)[1][0], (g.value as M)[0][0]);
      const want = linalg.expm(aug.generators2d().astype("float64").slice(2).mul(a)).toArraySync() as M;
      expect(gap(g.value as M, want)).toBeLessThan(1e-12);
      void (null as unknown as Tracer);
    });
  });
});
