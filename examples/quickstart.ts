// The README's first program: a jitted gradient-descent fit and per-example gradients.
import { np, random, grad, vmap, jit, type Array } from "../index.ts";

const predict = (w: Array, x: Array) => np.matmul(x, w);
const loss = (w: Array, x: Array, y: Array) => np.mean(np.square(predict(w, x).sub(y)));

const [kx, kw] = random.split(random.key(0));
const x = random.normal(kx, [64, 3]);
const wTrue = np.array([[1], [-2], [0.5]]);
const y = predict(wTrue, x);

const step = jit((w: Array) => w.sub(grad(loss)(w, x, y).mul(0.1)));
let w = random.normal(kw, [3, 1]);
for (let i = 0; i < 200; i++) w = step(w);
const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, x.reshape([64, 1, 3]), y.reshape([64, 1, 1]));
console.log("learned w =", JSON.stringify(await w.toArray()), "(true: [[1],[-2],[0.5]])");
console.log("final loss =", Number(loss(w, x, y)), "| per-example gradients:", perExample.shape);
