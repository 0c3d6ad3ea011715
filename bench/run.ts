/**
 * `npm run bench [-- --json FILE] [--backend cpu|webgpu] [--only SUBSTR] [--libs SUBSTR,...] [--reps N] [--slow] [--budget-ms MS]`
 * Runs every workload in our library and each peer in this one process and prints a
 * markdown table (stdout); progress goes to stderr.
 */
import { writeFileSync } from "node:fs";
import { initBackend, setDefaultBackend } from "../index.ts";
import { machine, markdownTable, measure, type Cell, type Library, type Peer } from "./harness.ts";
import { ours, oursWasmOnly, workloads } from "./workloads/index.ts";
import { pytorch } from "./peers/pytorch.ts";
import { blasDirect } from "./peers/blas.ts";
import { plainJs } from "./peers/plainjs.ts";
import { jaxJs } from "./peers/jaxjs.ts";
import { tfjsCpu, tfjsWasm } from "./peers/tfjs.ts";
import { gpuJs } from "./peers/gpujs.ts";
import { oursWebgpu, WEBGPU_WORKLOADS } from "./workloads/webgpu.ts";
import { jaxJsWebgpu } from "./peers/jaxjs-webgpu.ts";

const args = process.argv.slice(2);
// Usage errors exit before any peer loads: TF.js wasm installs a handler that turns a later throw into a page of minified source.
const fail = (msg: string): never => {
  console.error(msg);
  process.exit(2);
};
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) fail(`bench: --${name} needs a value`);
  return v;
};
const known = new Set(["--json", "--backend", "--only", "--libs", "--reps", "--slow", "--budget-ms"]);
for (const a of args) if (a.startsWith("--") && !known.has(a)) fail(`bench: unknown option ${a}; known: ${[...known].join(" ")}`);

const backend = opt("backend") ?? "cpu";
const only = opt("only");
const jsonFile = opt("json");
const reps = opt("reps") === undefined ? undefined : Number(opt("reps"));
if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1)) fail(`bench: --reps must be a positive integer, got ${opt("reps")}`);
const budgetMs = Number(opt("budget-ms") ?? 3000);
const slow = args.includes("--slow");

if (backend !== "cpu") {
  try {
    await initBackend(backend);
    setDefaultBackend(backend);
  } catch (e) {
    console.log(`bench: our "${backend}" backend cannot start here (${(e as Error).message.split(";")[0]}); use --backend cpu`);
    process.exit(2);
  }
}

// --backend webgpu compares the GPU workloads with jax-js's webgpu backend only.
const webgpu = backend === "webgpu";
const selected = workloads.filter((w) => (!only || w.id.includes(only) || w.title.includes(only)) && (!webgpu || WEBGPU_WORKLOADS.includes(w.id)));
if (selected.length === 0) fail(`bench: --only ${only} matches no workload; ids: ${workloads.map((w) => w.id).join(", ")}`);

// --libs keeps the peers whose name contains one of the comma-separated strings (ours always runs).
const libFilter = opt("libs")?.split(",");
const wanted = (name: string) => !libFilter || libFilter.some((f) => name.toLowerCase().includes(f.toLowerCase()));
const peers: Peer[] = (webgpu ? [jaxJsWebgpu] : [pytorch, blasDirect, plainJs, jaxJs, tfjsCpu, tfjsWasm, gpuJs]).filter((p) => wanted(p.name));
const libs: Library[] = [webgpu ? oursWebgpu() : ours(backend)];
if (!webgpu && wanted(oursWasmOnly.name) && libs[0].note?.includes("platform BLAS")) libs.push(oursWasmOnly);
for (const p of peers) {
  try {
    libs.push(await p.load());
  } catch (e) {
    // A peer that cannot load still gets its rows, saying why.
    const reason = `unavailable: ${(e as Error).message.split("\n")[0]}`;
    libs.push({ name: p.name, impls: Object.fromEntries(workloads.map((w) => [w.kind, { skip: reason }])) });
  }
}

const m = machine();
process.stderr.write(`${m.cpu}, ${m.cores} cores, Node ${m.node}; ${selected.length} workloads x ${libs.length} libraries\n`);

const cells: Cell[] = [];
const t0 = performance.now();
for (const w of selected) {
  const inputs = w.inputs();
  for (const lib of libs) {
    const cell: Cell = { workload: w.id, library: lib.name, status: "ok" };
    cells.push(cell);
    let impl = lib.impls[w.kind];
    if (impl && typeof impl !== "function") {
      if (slow && impl.slow) impl = impl.slow;
      else {
        cell.status = impl.skip.startsWith("unavailable") ? "unavailable" : "skipped";
        cell.reason = impl.skip.replace(/^unavailable: /, "");
        continue;
      }
    }
    if (!impl) {
      cell.status = "unavailable";
      cell.reason = `no ${w.kind} implementation`;
      continue;
    }
    process.stderr.write(`${w.id} / ${lib.name} ... `);
    try {
      await lib.activate?.();
      const prepared = await impl(w, inputs);
      cell.stats = await measure(() => prepared.run(), { reps, budgetMs });
      cell.check = prepared.check ? await prepared.check() : undefined;
      if (w.work) cell.throughput = w.work.amount / 1e9 / (cell.stats.median / 1e3);
      prepared.dispose?.();
      process.stderr.write(`${cell.stats.median.toFixed(1)} ms (${cell.stats.reps} reps, first ${cell.stats.firstMs.toFixed(0)} ms)\n`);
    } catch (e) {
      cell.status = "failed";
      cell.reason = (e as Error).message.split("\n")[0].slice(0, 160);
      process.stderr.write(`failed: ${cell.reason}\n`);
    }
  }
}
const totalS = ((performance.now() - t0) / 1000).toFixed(0);

const cmd = `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
console.log(markdownTable(m, cmd, selected, cells, libs, libs[0].name));
console.log(`\nTotal run time ${totalS} s.`);
if (jsonFile) {
  writeFileSync(jsonFile, JSON.stringify({ machine: m, command: cmd, libraries: libs.map((l) => ({ name: l.name, note: l.note })), workloads: selected.map(({ inputs, ...w }) => w), cells }, null, 2));
  process.stderr.write(`wrote ${jsonFile}\n`);
}
// Peer worker pools (gpu.js) would otherwise keep the process alive.
process.exit(0);
