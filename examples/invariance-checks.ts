// Property-test what a model is invariant or equivariant to, the way a user checks their own.
import fc from "fast-check";
import { np, random, type Tracer } from "../index.ts";
import * as nn from "../nn/index.ts";
import * as aug from "../augerino/index.ts";
import * as check from "../testing/index.ts";

// 1. A small CNN is NOT rotation invariant: the check finds a counterexample and shrinks it
//    (the smallest image and the first group element that still fail).
const net = nn.sequential(nn.conv2d(4, 3), nn.relu(), nn.globalAvgPool(), nn.dense(3));
const { params } = net.init(random.key(0), [1, 1, 8, 8]);
const cnn = (x: Tracer) => net.apply(params, null, x).y;
const images = check.arb.image({ size: [3, 8], batch: [1, 2] });
const verdict = await check.matchers.toBeInvariantUnder(cnn, check.groups.c4(), { inputs: images, numRuns: 30, seed: 1 });
console.log(`cnn invariant under C4: ${verdict.pass}\n${verdict.message()}`);

// 2. Its Augerino average over C4 (every element, with aug.finiteGroup) is exactly invariant:
//    the error is float32 rounding, and the check passes on every drawn image.
const c4 = aug.finiteGroup(aug.rotations90());
const averaged = (x: Tracer) => aug.predict((w, xb) => net.apply(w, null, xb).y, { w: params, theta: c4.init() }, random.key(0), x, { dist: c4, output: "raw" });
await fc.assert(check.invariant(averaged, check.groups.c4(), images), { numRuns: 30 });
const exact = await check.summarize(check.invarianceError(averaged, c4, random.normal(random.key(1), [4, 1, 8, 8])));
console.log(`C4 average: largest change ${exact.max.toExponential(1)} over all ${exact.samples} elements`);

// 3. A point-cloud model that is not rotation invariant by construction (an MLP on each
//    point's coordinates, pooled over the real points), averaged over 256 rotations uniform
//    on SO(3): approximately invariant, within the Monte Carlo error of 256 copies.
const mlp = nn.sequential(nn.dense(16), nn.relu(), nn.dense(1));
const { params: wp } = mlp.init(random.key(2), [1, 3]);
const pointModel = (mask: Tracer) => (w: unknown, pos: Tracer) => {
  const [n, p] = mask.shape;
  const perPoint = mlp.apply(w, null, pos.reshape([n * p, 3])).y.reshape([n, p]);
  return np.sum(perPoint.mul(mask), { axis: 1, keepdims: true }).div(np.sum(mask, { axis: 1, keepdims: true }));
};
const [cloud] = fc.sample(check.arb.pointCloud({ batch: 4, points: [3, 9], padding: 2 }), { numRuns: 1, seed: 3 });
const so3 = aug.uniformSO3();
const raw = (pos: Tracer) => pointModel(cloud.mask)(wp, pos);
const rotAveraged = (pos: Tracer) => aug.predict(pointModel(cloud.mask), { w: wp, theta: so3.init() }, random.key(4), pos, { dist: so3, nCopies: 256, output: "raw" });
const before = await check.summarize(check.invarianceError(raw, check.groups.so3(), cloud.positions, { samples: 8 }));
const after = await check.summarize(check.invarianceError(rotAveraged, check.groups.so3(), cloud.positions, { samples: 8 }));
console.log(`point model: output moves by up to ${before.max.toFixed(3)} under rotations; averaged over 256 rotations, by ${after.max.toFixed(3)}`);

// 4. Segmentation: per-pixel outputs must rotate with the image. A dense network is not
//    equivariant; its average g^-1 f(g x) over C4 is.
const seg = nn.sequential(nn.conv2d(4, 3), nn.relu(), nn.conv2d(2, 3));
const { params: ws } = seg.init(random.key(5), [1, 1, 8, 8]);
const segment = (x: Tracer) => seg.apply(ws, null, x).y;
const equivariant = (x: Tracer) => aug.predictEquivariant((w, xb) => seg.apply(w, null, xb).y, { w: ws, theta: c4.init() }, random.key(0), x, { dist: c4, output: "raw" });
const seg1 = await check.matchers.toBeEquivariantUnder(segment, check.groups.c4(), check.groups.c4(), { inputs: images, numRuns: 30, seed: 1 });
const seg2 = await check.matchers.toBeEquivariantUnder(equivariant, check.groups.c4(), check.groups.c4(), { inputs: images, numRuns: 30, seed: 1 });
console.log(`segmentation network equivariant: ${seg1.pass}; its C4 average: ${seg2.pass}`);
