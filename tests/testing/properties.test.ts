import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import * as check from "../../testing/index.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";
import { averaged, centroid, denseRamp, firstPoint, pairEnergy, quarterTurns, ramp } from "./models.ts";

expect.extend(check.matchers);

// Exact symmetries hold to rounding: the default tolerance of the dtype (1e-9 in float64,
// 1e-4 in float32 on WebGPU) is what these use unless said otherwise.
const imgs = (size: [number, number] = [2, 6]) => check.arb.image({ size, batch: [1, 2], dtype: FLOAT });
const clouds = () => check.arb.pointCloud({ batch: [1, 2], points: [1, 5], padding: [0, 2], dtype: FLOAT });
const runs = { numRuns: onWebgpu ? 5 : 25 };

describe("properties catch broken models and pass correct ones", () => {
  it("invariant: a C4 average passes; the model itself and an average over only half of C4 are caught", async () => {
    await fc.assert(check.invariant(averaged(ramp), check.groups.c4(), imgs()), runs);
    const half = averaged(ramp, quarterTurns().slice([0, 4, 2]));
    for (const broken of [ramp, half]) {
      const d = await fc.check(check.invariant(broken, check.groups.c4(), imgs()), runs);
      expect(d.failed).toBe(true);
      expect(d.errorInstance).toBeInstanceOf(check.InvarianceViolation);
    }
    // The half average is invariant under the half-turn it averages over, and the property agrees.
    const halfTurns = check.groups.c4().elements!.filter((_, i) => i % 2 === 0);
    await fc.assert(check.invariant(half, check.groups.finite(halfTurns.map((e) => e.value as number[][])), imgs()), runs);
  });

  it("point clouds: the pair energy passes under SO(3) and permutations; the first point is caught under both", async () => {
    for (const g of [check.groups.so3<check.PointCloud>(), check.groups.permutations<check.PointCloud>()]) {
      await fc.assert(check.invariant(pairEnergy, g, clouds(), { tol: onWebgpu ? 1e-4 : 1e-10 }), runs);
      const d = await fc.check(check.invariant(firstPoint, g, clouds()), runs);
      expect(d.failed).toBe(true);
    }
  });

  it("equivariant: predictEquivariant over C4 passes; the dense model is caught; the centroid is SO(3)-equivariant", async () => {
    const dist = aug.finiteGroup(quarterTurns());
    const eq = (x: Tracer) => aug.predictEquivariant((_w, xx) => denseRamp(xx), { w: null, theta: dist.init() }, random.key(0), x, { dist, output: "raw" });
    await fc.assert(check.equivariant(eq, check.groups.c4(), check.groups.c4(), imgs()), runs);
    expect((await fc.check(check.equivariant(denseRamp, check.groups.c4(), check.groups.c4(), imgs()), runs)).failed).toBe(true);
    await fc.assert(check.equivariant(centroid, check.groups.so3(), check.groups.so3(), clouds(), { tol: onWebgpu ? 1e-4 : 1e-10 }), runs);
    // Equivariance is not invariance.
    expect((await fc.check(check.invariant(centroid, check.groups.so3(), clouds()), runs)).failed).toBe(true);
  });

  it("D4: an average over all eight symmetries passes; an average over C4 alone is caught by the reflections", async () => {
    const d4 = check.groups.d4();
    const mats = np.array(
      d4.elements!.map((e) => e.value as number[][]),
      { dtype: FLOAT },
    );
    await fc.assert(check.invariant(averaged(ramp, mats), d4, imgs()), runs);
    const d = await fc.check(check.invariant(averaged(ramp), d4, imgs()), runs);
    expect(d.failed).toBe(true);
    expect(d.counterexample![1].label).toMatch(/flip/);
  });

  it("permutation equivariance of per-point outputs: a shared per-point map passes; adding the point's index is caught", async () => {
    const perPoint = (pc: check.PointCloud) => np.tanh(pc.positions).mul(pc.mask.reshape([...pc.mask.shape, 1]));
    const indexed = (pc: check.PointCloud) => perPoint(pc).add(np.arange(pc.mask.shape[1]).astype(FLOAT).reshape([1, -1, 1]));
    const perm = check.groups.permutations<check.PointCloud>();
    const onOutputs = check.groups.permutations<Tracer>();
    await fc.assert(check.equivariant(perPoint, perm, onOutputs, clouds()), runs);
    const d = await fc.check(check.equivariant(indexed, perm, onOutputs, clouds()), runs);
    expect(d.failed).toBe(true);
    // Shrunk to a small counterexample: one cloud of two slots (the fewest a permutation can move), and a code that moves the first point only.
    expect(fc.stringify(d.counterexample![0])).toMatch(/^point clouds of \[[12]\] points padded to 2 \(seed 0\)$/);
    expect(d.counterexample![1].label).toMatch(/^permutation with Lehmer code \[\d+\]$/);
  });

  it("affine groups: a translation- and rotation-invariant energy passes small 3-D rigid motions; a scale-sensitive one is caught under 2-D scalings", async () => {
    const rigid = check.groups.affine3d<check.PointCloud>({ widths: [1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0, 0] });
    await fc.assert(check.invariant(pairEnergy, rigid, clouds(), { tol: onWebgpu ? 1e-4 : 1e-10 }), runs);
    const scalings = check.groups.affine2d({ widths: [0, 0, 0, 0.5, 0, 0] });
    const d = await fc.check(
      check.invariant((x: Tracer) => np.sum(x, { axis: [1, 2, 3] }), scalings, imgs([4, 6]), { tol: 1e-3 }),
      runs,
    );
    expect(d.failed).toBe(true);
    expect(d.counterexample![1].label).toMatch(/^affine exp\([0-9.e-]+ scale\)$/);
  });

  it("a fixed input works in place of an arbitrary", async () => {
    const x = random.normal(random.key(1), [2, 1, 4, 4], { dtype: FLOAT });
    await fc.assert(check.invariant(averaged(ramp), check.groups.c4(), x), { numRuns: 4 });
    const d = await fc.check(check.invariant(ramp, check.groups.c4(), x), { numRuns: 4 });
    expect(fc.stringify(d.counterexample![0])).toBe("the input [2, 1, 4, 4]");
  });
});

describe("matchers", () => {
  it("pass and .not agree with the property", async () => {
    await expect(averaged(ramp)).toBeInvariantUnder(check.groups.c4(), { inputs: imgs(), ...runs });
    await expect(ramp).not.toBeInvariantUnder(check.groups.c4(), { inputs: imgs(), ...runs });
    const dist = aug.finiteGroup(quarterTurns());
    const eq = (x: Tracer) => aug.predictEquivariant((_w, xx) => denseRamp(xx), { w: null, theta: dist.init() }, random.key(0), x, { dist, output: "raw" });
    await expect(eq).toBeEquivariantUnder(check.groups.c4(), check.groups.c4(), { inputs: imgs(), ...runs });
    await expect(denseRamp).not.toBeEquivariantUnder(check.groups.c4(), check.groups.c4(), { inputs: imgs(), ...runs });
  });

  it("a failure shows the shrunk counterexample: the smallest input, the group element, the error against tol", async () => {
    // Only the top-left pixel: any rotation that moves it changes the output, on any image.
    const corner = (x: Tracer) => x.slice(null, null, 0, 0);
    const r = await check.matchers.toBeInvariantUnder(corner, check.groups.c4(), { inputs: imgs([2, 8]), numRuns: 30 });
    expect(r.pass).toBe(false);
    const msg = r.message();
    const tol = check.defaultTolerance(FLOAT);
    expect(msg.startsWith(`expected f to be invariant under C4 within tol ${tol}, but it is not:\n`)).toBe(true);
    // Shrunk to one 2x2 image from seed 0, and to the first element that moves the corner.
    expect(msg).toMatch(/\n {2}input: {3}image \[1, 1, 2, 2\] \(seed 0\)\n/);
    expect(msg).toMatch(/\n {2}element: rotation by 90 degrees\n/);
    expect(msg).toMatch(new RegExp(`\n {2}error: {3}[0-9.e+-]+ > tol ${tol} \\(max \\|difference\\| over an example's outputs\\)\n`));
    expect(msg).toMatch(/shrunk \d+ time\(s\); replay with \{ seed: -?\d+, path: "[0-9:]+" \}$/);
  });

  it("with a continuous group, the counterexample is a small rotation", async () => {
    const r = await check.matchers.toBeInvariantUnder(ramp, check.groups.rotations2d(), { inputs: imgs([3, 6]), tol: 0.05, numRuns: 30 });
    expect(r.pass).toBe(false);
    const angle = Number(/element: rotation by (-?[0-9.e-]+) rad/.exec(r.message())![1]);
    // Shrinking stops at the smallest angle that still moves the output past tol: well under the full range.
    expect(Math.abs(angle)).toBeLessThan(1);
  });

  it("f throwing is an error, not a verdict (so .not cannot pass on a crash)", async () => {
    const bad = () => {
      throw new Error("boom");
    };
    await expect(expect(bad).not.toBeInvariantUnder(check.groups.c4(), { inputs: imgs() })).rejects.toThrow(/toBeInvariantUnder: f failed on image \[1, 1, 2, 2\] \(seed 0\) with g = identity: boom/);
  });

  it("options are checked", async () => {
    await expect(check.matchers.toBeInvariantUnder(ramp, check.groups.c4(), { inputs: imgs(), tolerance: 1 } as never)).rejects.toThrow(
      /toBeInvariantUnder: unknown option "tolerance"; accepted: inputs, tol/,
    );
    await expect(check.matchers.toBeInvariantUnder(ramp, check.groups.c4(), {} as never)).rejects.toThrow(/give \{ inputs \}/);
    expect(() => check.invariant(ramp, aug.uniformAffine() as never, imgs())).toThrow(/the group must come from check\.groups/);
    expect(() => check.invariant(ramp, check.groups.c4(), imgs(), { tol: -1 })).toThrow(/check\.invariant: tol must be a non-negative number, got -1/);
    expect(() => check.equivariant(ramp, check.groups.c4(), check.groups.c4(), imgs(), { reduce: "sum" as never })).toThrow(/reduce must be one of max, mean, rms/);
  });
});
