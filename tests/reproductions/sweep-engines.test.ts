/**
 * Sweeps end to end on both engines: a rotMNIST lambda sweep shrunk to seconds per point
 * (1 epoch, 100 images, k = 2; 2 lambdas x 2 seeds), interrupted and resumed locally, and
 * on a real Slurm with one task cancelled and resubmitted. Every child and every wait is
 * bounded. The Slurm part needs a controller that answers (`.ci/slurm.sh start` makes one
 * on this machine): without it, it is skipped with the reason, or fails when
 * AUGERINO_REQUIRE_SLURM=1.
 */
import { describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { sharedDataDir, tempDir } from "./fixtures.ts";
import { testBackend } from "../backend-under-test.ts";

const bin = new URL("../../reproductions/bin.js", import.meta.url).pathname;
const data = sharedDataDir();
const SMALL = ["rotmnist", "--grid", "lambdas=0.01,0.05,0.1", "--grid", "seed=0..1", "--quick", "--epochs", "1", "--set", "nTrain=100", "--set", "nTest=250", "--set", "k=2"];
// The paper's rotMNIST sweep shape (Fig. 2: three lambdas), two seeds each, at a tiny budget.
const POINTS = ["0.01", "0.05", "0.1"].flatMap((l) => [0, 1].map((seed) => `lambdas-${l}_seed-${seed}`));

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** `augerino sweep` in a child, killed after `timeoutMs`; `waitFor` polls its stdout for a pattern, bounded too. */
function startSweep(args: string[], timeoutMs = 150_000) {
  const child = spawn(process.execPath, [bin, "sweep", ...args], { timeout: timeoutMs, killSignal: "SIGKILL", env: { ...process.env, AUGERINO_BACKEND: "cpu", AUGERINO_DATA_DIR: data ?? "" } });
  const io = { out: "", err: "" };
  child.stdout.on("data", (d) => (io.out += d));
  child.stderr.on("data", (d) => (io.err += d));
  const done = new Promise<number | null>((ok) => child.on("close", (code) => ok(code)));
  const waitFor = async (re: RegExp, ms = 60_000) => {
    for (const t0 = Date.now(); !re.test(io.out); await sleep(100)) if (Date.now() - t0 > ms) throw new Error(`no ${re} within ${ms} ms; stdout: ${io.out} stderr: ${io.err}`);
    return re.exec(io.out)!;
  };
  return { child, io, done, waitFor };
}

async function sweep(args: string[]) {
  const s = startSweep(args);
  return { code: await s.done, ...s.io };
}

const results = (dir: string) => POINTS.filter((p) => existsSync(join(dir, "points", p, "results.json")));

/** The merged report covers every point: three settings, two seeds each, and the charts. */
function expectMergedReport(dir: string) {
  const report = readFileSync(join(dir, "report.md"), "utf8");
  expect(report).toContain("6 of 6 points have results");
  expect(report).toMatch(/\| 0\.01 \| rotationWidth \| [\d.]+ \| [\d.e-]+ \| 2 \| -> 2 pi/);
  expect(report).toMatch(/\| 0\.1 \| testAccuracy \| [\d.]+ \| [\d.e-]+ \| 2 \| 0\.989 \|/);
  const merged = JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8"));
  expect(merged.groups.map((g: { values: object }) => g.values)).toEqual([{ lambdas: "0.01" }, { lambdas: "0.05" }, { lambdas: "0.1" }]);
  for (const g of merged.groups) expect(g.metrics.rotationWidth.count).toBe(2);
  for (const f of ["figures/width-vs-lambdas.svg", "figures/accuracy-vs-lambdas.png"]) expect(existsSync(join(dir, f)), f).toBe(true);
}

const runsOnce = testBackend === "cpu";
if (!runsOnce) console.log("[sweep] engine tests run once, in the cpu project: the points are separate processes on the CPU");
if (!data) console.log("[sweep] engine tests skipped: the datasets are absent (set AUGERINO_DATA_DIR to the shared data folder)");

describe.skipIf(!runsOnce || !data)("local sweep", () => {
  it("stops cleanly on Ctrl-C, and the rerun finishes without redoing finished points", async () => {
    const dir = tempDir("sweep-local");
    const first = startSweep([...SMALL, "--out", dir]);
    // After two points the next two have just started: little work is thrown away.
    await first.waitFor(/\[2\/6\] .*: done in/);
    first.child.kill("SIGINT");
    expect(await first.done, first.io.err).toBe(130);
    expect(first.io.err).toMatch(/stopping \d running point\(s\); rerun the same command to resume/);
    const before = results(dir);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(before.length).toBeLessThan(6);
    const mtimes = before.map((p) => statSync(join(dir, "points", p, "results.json")).mtimeMs);

    const rerun = await sweep([...SMALL, "--out", dir]);
    expect(rerun.code, rerun.err).toBe(0);
    expect(rerun.out).toContain(`${before.length} of 6 points finished earlier; skipping them`);
    expect(before.map((p) => statSync(join(dir, "points", p, "results.json")).mtimeMs)).toEqual(mtimes);
    expectMergedReport(dir);
  }, 180_000);
});

/** Why Slurm cannot be used here, or null when its controller answers with a usable node. */
function slurmProblem(): string | null {
  try {
    const states = execFileSync("sinfo", ["-h", "-o", "%t"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] });
    return /^(idle|mix|alloc)/m.test(states) ? null : `no usable Slurm node (sinfo: ${states.trim() || "none"})`;
  } catch (e) {
    return `Slurm does not answer (${
      String((e as { stderr?: string }).stderr || (e as Error).message)
        .trim()
        .split("\n")[0]
    }); .ci/slurm.sh start runs one here`;
  }
}

const problem = runsOnce && data ? slurmProblem() : null;
const requireSlurm = process.env.AUGERINO_REQUIRE_SLURM === "1";
if (problem) console.log(`[sweep] Slurm tests ${requireSlurm ? "FAIL" : "skipped"}: ${problem}`);

describe.skipIf(!runsOnce || !data || (problem !== null && !requireSlurm))("slurm sweep", () => {
  it("reports a cancelled task with its log, and --resubmit-failed completes it", async () => {
    expect(problem, "AUGERINO_REQUIRE_SLURM=1").toBeNull();
    const dir = tempDir("sweep-slurm");
    // A time limit bounds the tasks as the timeouts bound the children.
    const onSlurm = [...SMALL, "--engine", "slurm", "--slurm", "time=5"];
    const first = startSweep([...onSlurm, "--out", dir]);
    const job = (await first.waitFor(/submitted array job (\d+) \(6 tasks: 0,1,2,3,4,5\)/))[1];
    const squeue = () => execFileSync("squeue", ["-h", "-j", `${job}_0`, "-o", "%T"], { encoding: "utf8", timeout: 10_000 }).trim();
    for (const t0 = Date.now(); squeue() !== "RUNNING"; await sleep(100)) if (Date.now() - t0 > 60_000) throw new Error(`task ${job}_0 never ran: ${first.io.out}`);
    execFileSync("scancel", [`${job}_0`], { timeout: 10_000 });
    expect(await first.done, first.io.err).toBe(1);
    const log = new RegExp(`task ${job}_0 \\(lambdas=0.01 seed=0\\): CANCELLED; log (\\S+)`).exec(first.io.out)?.[1];
    expect(log, first.io.out).toBe(join(dir, "slurm", "logs", `${job}_0.log`));
    expect(existsSync(log!)).toBe(true);
    expect(readFileSync(join(dir, "report.md"), "utf8")).toMatch(/5 of 6 points have results[^]*\| lambdas=0.01 seed=0 \| CANCELLED \|/);

    const resubmit = await sweep([...onSlurm, "--resubmit-failed", "--out", dir]);
    expect(resubmit.code, resubmit.out + resubmit.err).toBe(0);
    expect(resubmit.out).toMatch(/5 of 6 points finished earlier[^]*submitted array job \d+ \(1 task: 0\)/);
    expectMergedReport(dir);
  }, 180_000);

  it("says in one line what sbatch refused", async () => {
    const r = await sweep([...SMALL, "--engine", "slurm", "--slurm", "partition=no-such-partition", "--out", tempDir("sweep-refused")]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/^augerino sweep: sbatch --parsable --array=0,1,2,3,4,5 \S+ failed: sbatch: error: .*partition/i);
  }, 30_000);
});
