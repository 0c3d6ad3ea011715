/**
 * `npx tsx bench/loops.ts [--json FILE]`: loops that stay loops. For a small update
 * (c = c * 0.999 + sin(i) * 1e-6) it prints, per trip count, the program's size, the time
 * to stage and to compile it, and the time per step of the jitted loop beside the same
 * steps called eagerly from JS; then what grad through a 1,000-step scan stores for the
 * backward pass with and without checkpoint. Numbers go to stdout as markdown.
 */
import { writeFileSync } from "node:fs";
import { np, lax, grad, jit, makeJaxpr, checkpoint, random, type Array } from "../index.ts";
import { machine } from "./harness.ts";

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
for (const a of args) if (a.startsWith("--") && a !== "--json") throw new Error(`bench/loops: unknown option ${a}; known: --json FILE`);
const update = (i: Array, c: Array) => c.mul(0.999).add(np.sin(i.astype("float32")).mul(1e-6));
const loop = (n: number) => (x: Array) => lax.forLoop(0, n, update, x);
const ms = (f: () => unknown) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
const best = (reps: number, f: () => unknown) => Math.min(...globalThis.Array.from({ length: reps }, () => ms(f)));

const rows: Record<string, number | string>[] = [];
for (const n of [100, 1_000, 10_000, 100_000]) {
  const x = np.array(1);
  let eqns = 0;
  const stage = ms(() => (eqns = makeJaxpr(loop(n))(x).jaxpr.eqns.length));
  const f = jit(loop(n));
  const first = ms(() => f(x).dispose());
  const run = best(3, () => f(x).dispose());
  let eager: number | string = "-";
  if (n <= 10_000) {
    eager = best(3, () => {
      let c: Array = np.array(1);
      for (let i = 0; i < n; i++) {
        const next = update(np.array(i, { dtype: "int32" }), c);
        c.dispose();
        c = next;
      }
      c.dispose();
    });
  }
  rows.push({
    steps: n,
    eqns,
    stageMs: +stage.toFixed(1),
    firstCallMs: +first.toFixed(1),
    jitMs: +run.toFixed(1),
    usPerStep: +((run / n) * 1000).toFixed(2),
    eagerMs: typeof eager === "number" ? +eager.toFixed(1) : eager,
    speedup: typeof eager === "number" ? +(eager / run).toFixed(1) : "-",
  });
  process.stderr.write(`loops: ${n} steps done\n`);
}

// What grad keeps for the backward pass through 1,000 steps of an RNN-like cell of width 64.
const W = random.normal(random.key(0), [64, 64]).mul(0.1);
const cell = (c: Array, x: Array): [Array, Array] => {
  const h = np.tanh(np.matmul(c, W).add(x));
  return [np.sin(h).mul(0.5).add(h.mul(0.5)), h.sum()];
};
const xs = random.normal(random.key(1), [1000, 64]).mul(0.1);
const lossOf = (body: typeof cell) => (c0: Array) => {
  const [c, ys] = lax.scan(body, c0, xs);
  return ys.sum().add(c.sum());
};
const stored = (f: (c: Array) => Array) => {
  let bytes = 0;
  for (const e of makeJaxpr(grad(f))(np.zeros([64])).jaxpr.eqns) {
    if (e.prim.name === "scan") for (const o of e.outs.slice(e.params.numCarry)) bytes += o.aval.shape.reduce((a, b) => a * b, 1) * 4;
  }
  return bytes;
};
const memory = [
  { variant: "plain", f: lossOf(cell) },
  { variant: "checkpoint(cell)", f: lossOf(checkpoint(cell)) },
].map(({ variant, f }) => {
  const g = jit(grad(f));
  g(np.zeros([64])).dispose();
  return { variant, storedKiB: +(stored(f) / 1024).toFixed(1), gradMs: +best(3, () => g(np.zeros([64])).dispose()).toFixed(1) };
});

const table = (rs: Record<string, number | string>[]) =>
  [
    `| ${Object.keys(rs[0]).join(" | ")} |`,
    `|${Object.keys(rs[0])
      .map(() => "---")
      .join("|")}|`,
    ...rs.map((r) => `| ${Object.values(r).join(" | ")} |`),
  ].join("\n");
const m = machine();
console.log(`Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date} UTC. Command: \`npx tsx bench/loops.ts\`\n`);
console.log(table(rows));
console.log();
console.log(table(memory));
if (jsonAt >= 0) writeFileSync(args[jsonAt + 1], JSON.stringify({ machine: m, rows, memory }, null, 2));
