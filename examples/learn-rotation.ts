// Learn how much rotation a task tolerates: rings vs. crosses are rotation invariant,
// so Augerino's rotation width grows while the classifier trains.
import { np, random, jit, valueAndGrad, type Tracer } from "../index.ts";
import * as nn from "../nn/index.ts";
import * as optim from "../optim/index.ts";
import * as aug from "../augerino/index.ts";

const S = 16;
const c = np
  .arange(S)
  .astype("float32")
  .sub((S - 1) / 2);
const r = np.sqrt(np.add(np.square(c.reshape([S, 1])), np.square(c.reshape([1, S]))));
const ring = np.exp(np.square(r.sub(5)).neg());
const cross = np.maximum(np.exp(np.square(c).neg()).reshape([S, 1]), np.exp(np.square(c).neg()).reshape([1, S])).mul(np.less(r, 7));
const n = 64;
const y = random.bernoulli(random.key(1), 0.5, [n]).astype("int32");
const noise = random.normal(random.key(2), [n, 1, S, S]).mul(0.1);
const x = np.where(y.reshape([n, 1, 1, 1]).astype("bool"), ring, cross).add(noise);

const net = nn.sequential(nn.conv2d(8, 3, { strides: 2 }), nn.relu(), nn.globalAvgPool(), nn.dense(2));
const apply = (w: unknown, xb: Tracer) => net.apply(w, null, xb).y;
const dist = aug.uniformAffine({ initWidth: [0.01, 0.01, 0.5, 0.01, 0.01, 0.01] });
let params = { w: net.init(random.key(0), [1, 1, S, S]).params, theta: dist.init() };
const tx = optim.multiTransform({ w: optim.adam({ lr: 1e-2 }), theta: optim.adam({ lr: 5e-2 }) }, { w: "w", theta: "theta" });
let state = tx.init(params);

const step = jit((p: typeof params, s: typeof state, key: Tracer) => {
  const [loss, g] = valueAndGrad((q: typeof params) => aug.loss(apply, q, key, x, y, { dist, nCopies: 4, lambda: 0.05 }))(p);
  const { updates, state: s2 } = tx.update(g, s, p);
  return { p: optim.applyUpdates(p, updates), s: s2, loss };
});
for (let i = 0; i < 60; i++) ({ p: params, s: state } = step(params, state, random.key(100 + i)));
console.log("learned widths (tx, ty, rot, scale, stretch, shear):", Array.from(await dist.width(params.theta).data(), (v) => v.toFixed(2)).join(" "));
