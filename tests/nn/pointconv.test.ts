import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as check from "../../testing/index.ts";
import { itOnCpu, onWebgpu } from "../backend-under-test.ts";

// Point clouds with 3 features, packed for the layers: [N, P, 4 + 3] = position, mask, features.
const FEATURES = 3;
const clouds = () => check.arb.pointCloud({ batch: [1, 3], points: [1, 6], padding: [0, 3], features: FEATURES, dtype: "float32" });
const pack = (pc: check.PointCloud) => np.concatenate([pc.positions, pc.mask.reshape([...pc.mask.shape, 1]), pc.features!], { axis: -1 });
const runs = { numRuns: onWebgpu ? 2 : 20 };
// Each cloud size the properties draw compiles new kernels, over a minute on lavapipe; the shape and padding tests run the layers there.
const propertyOnCpu = itOnCpu("lavapipe compiles kernels for every cloud size drawn (over a minute per property)");

const net = nn.sequential(nn.pointConv(8, { kernel: 4, hidden: 8 }), nn.pointConv(8, { kernel: 4, hidden: 8 }), nn.pointPool(), nn.dense(2));
const { params } = net.init(random.key(0), [1, 5, 4 + FEATURES]);
const model = (pc: check.PointCloud) => net.apply(params, null, pack(pc)).y;

describe("nn.pointConv and nn.pointPool", () => {
  it("shapes: [N, P, 4 + C] -> [N, P, 4 + features] -> [N, features], positions and mask passed through", async () => {
    const layer = nn.pointConv(6);
    const x = pack(fc.sample(clouds(), { numRuns: 1, seed: 1 })[0]);
    const init = layer.init(random.key(1), x.shape);
    const y = layer.apply(init.params, null, x).y;
    expect(init.outputShape).toEqual([x.shape[0], x.shape[1], 10]);
    expect(y.shape).toEqual(init.outputShape);
    expect(await y.slice(null, null, [0, 4]).toArray()).toEqual(await x.slice(null, null, [0, 4]).toArray());
    expect(nn.pointPool().apply(null, null, y).y.shape).toEqual([x.shape[0], 6]);
  });

  propertyOnCpu("are translation invariant (property over clouds of different sizes, padded)", async () => {
    const translations = check.groups.affine3d<check.PointCloud>({ widths: [20, 20, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0] });
    await fc.assert(check.invariant(model, translations, clouds()), runs);
  });

  propertyOnCpu("are invariant to the order of the points", async () => {
    await fc.assert(check.invariant(model, check.groups.permutations<check.PointCloud>(), clouds()), runs);
  });

  propertyOnCpu("are NOT rotation invariant: the relative positions enter as vectors, not lengths", async () => {
    const d = await fc.check(check.invariant(model, check.groups.so3<check.PointCloud>(), clouds(), { tol: 1e-3 }), runs);
    expect(d.failed).toBe(true);
    expect(d.errorInstance).toBeInstanceOf(check.InvarianceViolation);
  });

  it("padding points do not change the output, whatever their positions and features", async () => {
    await fc.assert(
      fc.asyncProperty(clouds(), fc.integer({ min: 0, max: 1e6 }), async (pc, seed) => {
        const [kp, kf] = random.split(random.key(seed)) as unknown as Tracer[];
        const pad = pc.mask
          .reshape([...pc.mask.shape, 1])
          .mul(-1)
          .add(1); // 1 on padding slots
        const junk = { ...pc, positions: pc.positions.add(random.normal(kp, pc.positions.shape).mul(pad).mul(5)), features: pc.features!.add(random.normal(kf, pc.features!.shape).mul(pad).mul(5)) };
        const gap = np.max(np.abs(model(junk).sub(model(pc))));
        expect(Number((await gap.data())[0])).toBeLessThan(1e-5);
      }),
      runs,
    );
  });

  it("bad input is a clear error", () => {
    expect(() => nn.pointConv(0)).toThrow(/nn\.pointConv: features must be a positive integer, got 0/);
    expect(() => nn.pointConv(4, { kernal: 3 } as never)).toThrow(/unknown option "kernal"/);
    expect(() => nn.pointConv(4).init(random.key(0), [2, 5, 3])).toThrow(/packed as \[N, P, 4 \+ C\]/);
    expect(() => nn.pointConv(4).init(random.key(0), [2, 5, 4])).toThrow(/at least one feature/);
    expect(() => nn.pointPool({ reduce: "max" } as never)).toThrow(/reduce must be "mean" or "sum", got "max"/);
  });
});
