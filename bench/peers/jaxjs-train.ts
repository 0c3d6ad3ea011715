/**
 * The Augerino step in jax-js, with its own valueAndGrad and jit. Its vmap has no rule for
 * reduceWindow ("No vmap rule for: pool" in 0.1.25), so the copies are concatenated along
 * the batch (batch norm still uses each copy's statistics). jax-js has no matrix exponential
 * and no grid sampler: both are written with its primitives (a Taylor series of batched
 * matmuls; takeAlongAxis gathers).
 * Reference counting: each function consumes its arguments, `.ref` keeps one for reuse.
 */
import { meanAbs, uniform, type Inputs, type Prepared, type Workload } from "../harness.ts";
import { LR, smallConvLayers, THETA_INIT } from "../workloads/train.ts";

export type Jax = typeof import("@jax-js/jax");
export type JArray = import("@jax-js/jax").Array;

/** A timed jax-js call: each run frees the previous output and ends at `blockUntilReady`. */
export function jaxTimed(jax: Jax, f: () => JArray): Prepared {
  let out: JArray | null = null;
  return {
    run: async () => {
      out?.dispose();
      out = f();
      await jax.blockUntilReady(out);
    },
    check: async () => meanAbs(await out!.ref.data()),
  };
}

/** Bilinear grid_sample (zeros padding, align_corners) of x [N, C, H, W] at grid [N, Ho, Wo, 2]; consumes both. */
export function jaxGridSample(jax: Jax, x: JArray, grid: JArray): JArray {
  const np = jax.numpy;
  const [n, c, h, w] = x.shape;
  const [, ho, wo] = grid.shape;
  const ix = grid.ref
    .slice([], [], [], 0)
    .add(1)
    .mul((w - 1) / 2);
  const iy = grid
    .slice([], [], [], 1)
    .add(1)
    .mul((h - 1) / 2);
  const x0 = np.floor(ix.ref);
  const y0 = np.floor(iy.ref);
  const fx = ix.sub(x0.ref);
  const fy = iy.sub(y0.ref);
  const flat = x.reshape([n, c, h * w]);
  const corner = (xc: JArray, yc: JArray, wgt: JArray) => {
    const inside = np.logicalAnd(np.logicalAnd(xc.ref.greaterEqual(0), xc.ref.lessEqual(w - 1)), np.logicalAnd(yc.ref.greaterEqual(0), yc.ref.lessEqual(h - 1)));
    const idx = np
      .clip(yc, 0, h - 1)
      .mul(w)
      .add(np.clip(xc, 0, w - 1))
      .astype(np.int32)
      .reshape([n, 1, ho * wo]);
    const vals = np.takeAlongAxis(flat.ref, np.broadcastTo(idx, [n, c, ho * wo]), 2);
    return vals.mul(np.where(inside, wgt, 0).reshape([n, 1, ho * wo]));
  };
  const [x1, y1] = [x0.ref.add(1), y0.ref.add(1)];
  const [gx0, gy0] = [np.subtract(1, fx.ref), np.subtract(1, fy.ref)];
  const out = corner(x0.ref, y0.ref, gx0.ref.mul(gy0.ref))
    .add(corner(x1.ref, y0, fx.ref.mul(gy0)))
    .add(corner(x0, y1.ref, gx0.mul(fy.ref)))
    .add(corner(x1, y1, fx.mul(fy)));
  flat.dispose();
  return out.reshape([n, c, ho, wo]);
}

const GENERATORS = [
  [0, 0, 0.1, 0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0.1, 0, 0, 0],
  [0, -1, 0, 1, 0, 0, 0, 0, 0],
  [1, 0, 0, 0, 1, 0, 0, 0, 0],
  [1, 0, 0, 0, -1, 0, 0, 0, 0],
  [0, 1, 0, 1, 0, 0, 0, 0, 0],
];

export function jaxTrain(jax: Jax, wl: Workload, i: Inputs): Prepared {
  const { numpy: np, lax, nn, random } = jax;
  const { batch, copies, k, h, w, classes } = wl.params;
  const layers = smallConvLayers(k);
  let seed = 100;
  const init = (shape: number[], fanIn: number) =>
    np
      .array(
        uniform(
          shape.reduce((a, b) => a * b, 1),
          seed++,
          -1 / Math.sqrt(fanIn),
          1 / Math.sqrt(fanIn),
        ),
      )
      .reshape(shape);
  // Flat parameter list: per conv [w, b, gamma, beta], then dense [w, b], then theta.
  let params: JArray[] = [
    ...layers.flatMap(([ci, co]) => [init([co, ci, 3, 3], 9 * ci), init([co], 9 * ci), np.ones([co]), np.zeros([co])]),
    init([2 * k, classes], 2 * k),
    init([classes], 2 * k),
    np.array(THETA_INIT),
  ];
  let ms = params.map((p) => np.zerosLike(p.ref));
  let vs = params.map((p) => np.zerosLike(p.ref));
  const gens = np.array(GENERATORS);
  const lin = (m: number) => Array.from({ length: m }, (_, j) => -1 + (2 * j) / (m - 1));
  const base = np.array(lin(h).flatMap((yv) => lin(w).map((xv) => [xv, yv, 1])));
  const x = np.array(i.x as Float32Array).reshape([batch, 1, h, w]);
  const y = nn.oneHot(np.array(i.y as Int32Array, { dtype: np.int32 }), classes);

  const cb = copies * batch;
  const net = (ps: JArray[], z: JArray) => {
    layers.forEach((_, j) => {
      const [cw, bias, gamma, beta] = ps.slice(4 * j, 4 * j + 4);
      z = lax.conv(z, cw, [1, 1], "SAME").add(bias.reshape([1, -1, 1, 1]));
      // Training-mode batch norm with each copy's own batch statistics.
      const [, ch, hh, ww] = z.shape;
      const g = z.reshape([copies, batch, ch, hh, ww]);
      const mean = np.mean(g.ref, [1, 3, 4], { keepdims: true });
      const inv = np.reciprocal(np.sqrt(np.var_(g.ref, [1, 3, 4], { keepdims: true }).add(1e-5)));
      z = g.sub(mean).mul(inv).reshape([cb, ch, hh, ww]);
      z = nn.relu(z.mul(gamma.reshape([1, -1, 1, 1])).add(beta.reshape([1, -1, 1, 1])));
      if (j === 2 || j === 3) z = lax.reduceWindow(z, np.max as never, [1, 1, 2, 2], [1, 1, 2, 2]);
    });
    return np.matmul(np.mean(z, [2, 3]), ps[20]).add(ps[21]);
  };
  const loss = (ps: JArray[], key: JArray, x: JArray, y: JArray) => {
    const theta = ps[22];
    const width = nn.softplus(theta);
    const eps = random.uniform(key, [cb, 6]).mul(width.ref).sub(width.ref.div(2));
    const a = np.matmul(eps, gens.ref).reshape([cb, 3, 3]);
    let term = np.broadcastTo(np.eye(3), [cb, 3, 3]);
    let mats = term.ref;
    for (let j = 1; j <= 12; j++) {
      term = np.matmul(term, a.ref).div(j);
      mats = mats.add(term.ref);
    }
    term.dispose();
    a.dispose();
    const grid = np.matmul(base.ref, mats.slice([], [0, 2], []).transpose([0, 2, 1]));
    // Copy c is rows [c * batch, (c + 1) * batch) of the tiled inputs and labels.
    const xs = np.tile(x, [copies, 1, 1, 1]);
    const logits = net(ps, jaxGridSample(jax, xs, grid.reshape([cb, h, w, 2])));
    const ce = np.mean(np.sum(np.tile(y, [copies, 1]).mul(nn.logSoftmax(logits, -1)), -1)).neg();
    return ce.sub(np.sqrt(np.sum(np.square(width))).mul(0.01));
  };
  const [b1, b2, epsAdam] = [0.9, 0.999, 1e-8];
  // Adam with the bias corrections folded into one step size `lrT` computed in JS per step.
  const step = jax.jit((ps: JArray[], ms: JArray[], vs: JArray[], lrT: JArray, key: JArray, x: JArray, y: JArray) => {
    const [value, gs] = jax.valueAndGrad(loss)(
      ps.map((p) => p.ref),
      key,
      x,
      y,
    );
    const m2 = gs.map((g, j) => ms[j].mul(b1).add(g.ref.mul(1 - b1)));
    const v2 = gs.map((g, j) => vs[j].mul(b2).add(np.square(g).mul(1 - b2)));
    const p2 = ps.map((p, j) => p.sub(m2[j].ref.mul(lrT.ref).div(np.sqrt(v2[j].ref).add(epsAdam))));
    lrT.dispose();
    return [p2, m2, v2, value] as never;
  });
  let t = 0;
  let last = NaN;
  return {
    async run() {
      t++;
      const lrT = np.array((LR * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t));
      const [p2, m2, v2, value] = step(params, ms, vs, lrT, random.key(t), x.ref, y.ref) as unknown as [JArray[], JArray[], JArray[], JArray];
      [params, ms, vs] = [p2, m2, v2];
      last = (await value.data())[0];
    },
    check: () => last,
  };
}
