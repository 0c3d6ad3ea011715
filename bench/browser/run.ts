/**
 * The browser benchmark: bundles bench/browser/page.ts (our library from the sources with
 * browser conditions, jax-js's browser build), serves it with COOP/COEP (so both CPU
 * libraries may use Web Workers), and runs it in Debian's Chromium on one WebGPU adapter.
 * Prints a markdown table; not part of the tests or CI.
 *
 *   npx tsx bench/browser/run.ts                      # adapter compat (ANGLE on lavapipe)
 *   npx tsx bench/browser/run.ts --adapter swiftshader --budget 3000 --lib-seconds 600
 *   npx tsx bench/browser/run.ts --libs cpu,wasm             # only the libraries whose name contains one of these
 *   npx tsx bench/browser/run.ts --rows matmul,chain         # only the workloads whose id contains one of these
 */
import { build, type Plugin } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright";
import { demoServer, listen } from "../../scripts/demo-server.ts";
import type { Row } from "./row.ts";

const ADAPTERS: Record<string, string[]> = {
  compat: ["--use-angle=vulkan", "--use-webgpu-adapter=opengles", "--force-webgpu-compat"],
  swiftshader: ["--enable-unsafe-webgpu"],
};
const { values } = parseArgs({
  options: {
    adapter: { type: "string", default: "compat" },
    budget: { type: "string", default: "1500" },
    "lib-seconds": { type: "string", default: "240" },
    libs: { type: "string" },
    rows: { type: "string" },
  },
});
const flags = ADAPTERS[values.adapter!];
if (!flags) throw new Error(`--adapter ${values.adapter}: expected one of ${Object.keys(ADAPTERS).join(", ")}`);

/** The names of `all` containing one of the comma-separated words of option `--flag` (all of them without it). */
function pick(all: string[], flag: "libs" | "rows"): string[] {
  const words = values[flag]?.split(",").filter((w) => w !== "");
  const picked = words ? all.filter((name) => words.some((w) => name.includes(w))) : all;
  if (picked.length === 0) throw new Error(`--${flag} ${values[flag]}: matches none of ${all.join(", ")}`);
  return picked;
}
const LIBS = pick(["augerino cpu", "augerino webgpu", "jax-js wasm", "jax-js webgpu"], "libs");
const ROWS = pick(["matmul-1024", "conv-fwd", "chain-4M", "augerino-step"], "rows");

const root = join(import.meta.dirname, "..", "..");
const out = join(root, "dist", "bench");
// harness.ts reads the machine's description with node:child_process and node:os, which the page never calls.
const nodeStubs: Plugin = {
  name: "node-stubs",
  setup(b) {
    b.onResolve({ filter: /^node:(child_process|os)$/ }, (a) => ({ path: a.path, namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export const execSync = () => ''; export const availableParallelism = () => navigator.hardwareConcurrency;", loader: "js" }));
  },
};
const options = { bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true, logLevel: "warning" } as const;
mkdirSync(out, { recursive: true });
await build({ ...options, absWorkingDir: root, entryPoints: ["bench/browser/page.ts"], outfile: join(out, "page.js"), plugins: [nodeStubs] });
await build({ ...options, absWorkingDir: root, entryPoints: ["core/platform/browser/wasm-worker.js"], outfile: join(out, "wasm-worker.js") });
writeFileSync(join(out, "index.html"), '<!doctype html><meta charset="utf-8"><title>augerino browser bench</title><script type="module" src="page.js"></script>\n');

const server = demoServer();
const base = await listen(server, "127.0.0.1", 0);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", ...flags] });
const rows: Row[] = [];
let machine = "";
try {
  for (const lib of LIBS) {
    const page = await browser.newPage();
    // Cells arrive as console lines as they finish, so a page that dies keeps the ones before.
    page.on("console", (m) => {
      process.stderr.write(`${m.text()}\n`);
      if (m.text().startsWith('{"workload"')) rows.push(JSON.parse(m.text()) as Row);
    });
    try {
      await page.goto(`${base}dist/bench/index.html?budget=${values.budget}&lib=${encodeURIComponent(lib)}&rows=${ROWS.join(",")}`);
      // A library whose cells outlast --lib-seconds is cut off; the cells it reported stay.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`over ${values["lib-seconds"]} s`)), 1000 * Number(values["lib-seconds"]))));
      // A pending limit would keep the process alive for the whole --lib-seconds after the last page.
      const result = (await Promise.race([page.evaluate("window.benchResult"), limit]).finally(() => clearTimeout(timer))) as {
        userAgent: string;
        threads: number;
        isolated: boolean;
        error?: string;
      };
      if (result.error) throw new Error(result.error);
      machine = `${result.userAgent.match(/Chrome\/[\d.]+/)?.[0]} headless, adapter ${values.adapter}, ${result.threads} hardware threads, cross-origin isolated: ${result.isolated}`;
    } catch (e) {
      // The page (or the GPU process) died: the cells it did not report say so.
      for (const w of ROWS) if (!rows.some((r) => r.library === lib && r.workload === w)) rows.push({ workload: w, library: lib, error: `page failed: ${(e as Error).message.split("\n")[0]}` });
    } finally {
      await page.close().catch(() => {});
    }
  }
  console.log(table(rows, machine));
} finally {
  await browser.close();
  server.close();
}

/** One line per workload: each library's median (IQR), and our speed-ups over jax-js on the same kind of device. */
function table(rows: Row[], machine: string): string {
  const libs = [...new Set(rows.map((r) => r.library))];
  const cell = (w: string, l: string) => rows.find((r) => r.workload === w && r.library === l);
  const fmt = (r?: Row) =>
    !r
      ? "-"
      : r.error
        ? `error: ${r.error.slice(0, 60)}`
        : `${r.medianMs!.toFixed(1)} ms (${r.q1!.toFixed(1)}-${r.q3!.toFixed(1)}, ${r.reps} reps${r.threaded ? `, threaded kernel runs ${r.threaded}` : ""})`;
  const ratio = (w: string, ours: string, peer: string) => {
    const [a, b] = [cell(w, ours), cell(w, peer)];
    return a?.medianMs && b?.medianMs ? `${(b.medianMs / a.medianMs).toFixed(2)}x` : "-";
  };
  const lines = [
    `${machine}`,
    "",
    `| workload | ${libs.join(" | ")} | webgpu: jax-js / ours | cpu: jax-js wasm / ours |`,
    `|---|${libs.map(() => "---|").join("")}---|---|`,
    ...[...new Set(rows.map((r) => r.workload))].map(
      (w) => `| ${w} | ${libs.map((l) => fmt(cell(w, l))).join(" | ")} | ${ratio(w, "augerino webgpu", "jax-js webgpu")} | ${ratio(w, "augerino cpu", "jax-js wasm")} |`,
    ),
  ];
  return lines.join("\n");
}
