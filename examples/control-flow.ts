import { np, lax, grad, jit, vmap, checkpoint, makeJaxpr, type Array } from "../index.ts";

// A training loop of 1,000 steps as one compiled program: the body is traced once.
const fit = jit((w0: Array) => lax.forLoop(0, 1000, (_i: Array, w: Array) => w.sub(grad((v: Array) => np.square(v.sub(3)).sum())(w).mul(0.01)), w0));
console.log("fit:", (await fit(np.zeros([2])).toArray()).map((v: number) => v.toFixed(4)).join(" "));
console.log("equations at 1,000 steps:", makeJaxpr((w: Array) => lax.forLoop(0, 1000, (_i: Array, v: Array) => v.mul(2), w))(np.ones([2])).jaxpr.eqns.length);

// scan carries state and stacks per-step outputs; grad runs backwards through it.
const cumulative = (xs: Array) => lax.scan((c: Array, x: Array) => [c.add(x), c.add(x)], np.array(0), xs);
const [total, running] = cumulative(np.arange(1, 6).astype("float32"));
console.log("scan:", Number(total), (await running.data()).join(" "));
const discount = (gamma: Array) => lax.scan((c: Array, r: Array) => [c.mul(gamma).add(r), c], np.array(0), np.ones([100]))[0];
console.log("d/dgamma of a 100-step discounted sum at 0.9:", Number(grad(discount)(np.array(0.9))).toFixed(3));

// whileLoop runs until its predicate fails; the trip count can depend on the data.
const halvings = (x: Array) =>
  lax.whileLoop(
    ([v]: Array[]) => v.greaterEqual(1),
    ([v, k]: Array[]) => [v.div(2), k.add(1)],
    [x, np.array(0)],
  );
console.log("halvings of 1000:", Number(halvings(np.array(1000))[1]), "| batched:", (await vmap(halvings)(np.array([3, 100, 0.5]))[1].data()).join(" "));

// A JS `if` on an array is always taken (an object is truthy); branch with lax.cond or np.where.
const relu = (x: Array) =>
  lax.cond(
    x.greater(0),
    (v: Array) => v,
    (v: Array) => np.zerosLike(v),
    x,
  );
console.log("cond:", Number(relu(np.array(-2))), Number(relu(np.array(2))), "| where:", (await np.where(np.array([-2, 2]).greater(0), 1, -1).data()).join(" "));
const pick = (i: Array, x: Array) => lax.switch(i, [(v: Array) => v.neg(), (v: Array) => v.mul(10), (v: Array) => np.sqrt(v)], x);
console.log("switch:", Number(pick(np.array(1, { dtype: "int32" }), np.array(4))), Number(pick(np.array(2, { dtype: "int32" }), np.array(4))));

// checkpoint recomputes a step's intermediates in the backward pass instead of storing them.
const step = (c: Array, x: Array, a: Array) => np.tanh(c.mul(a).add(x));
const run = (cellFn: typeof step) => (a: Array) => lax.scan((c: Array, x: Array) => [cellFn(c, x, a), c], np.array(0.1), np.linspace(-1, 1, 1000))[0];
const [plain, remat] = [grad(run(step))(np.array(0.5)), grad(run(checkpoint(step)))(np.array(0.5))];
console.log("grad through 1,000 checkpointed steps:", Number(remat).toFixed(5), "| same without checkpoint:", Number(plain).toFixed(5));
