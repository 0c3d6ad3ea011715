/**
 * The quick variants of `reproduce qm9` and `reproduce effdim` meet their targets on the CPU
 * (fixed seeds). On WebGPU (lavapipe) only a tiny qm9 run: a few molecules for one epoch, to
 * check that the point-cloud layers, the 3-D augmentations and the evaluation run there.
 */
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experiments } from "../../reproductions/experiments/index.ts";
import { writeReport } from "../../reproductions/experiment.ts";
import type { Overrides } from "../../reproductions/config-overrides.ts";
import { itOnCpu, onWebgpu, testBackend } from "../backend-under-test.ts";

const dataDir = process.env.AUGERINO_DATA_DIR ?? (existsSync("/work/shared/data") ? "/work/shared/data" : undefined);
if (dataDir) process.env.AUGERINO_DATA_DIR = dataDir;
if (!dataDir) console.log("[qm9, effdim] skipped: the datasets are absent (set AUGERINO_DATA_DIR to the shared data folder)");

async function runQuick(name: string, set?: Overrides, epochs?: number) {
  const out = mkdtempSync(join(tmpdir(), `augerino-${name}-`));
  const res = await experiments[name].run({ seed: 0, quick: true, epochs, out, backend: testBackend, quiet: true, set });
  writeReport(name, name, res, out, undefined, set);
  const saved = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  expect(readFileSync(join(out, "report.md"), "utf8")).toContain("| quantity | paper | ours |");
  for (const f of res.figures) expect(existsSync(join(out, f)), f).toBe(true);
  return { res, saved };
}

const onCpu = itOnCpu("a quick training takes minutes on lavapipe; the tiny qm9 run below covers WebGPU");

describe.skipIf(!dataDir)("quick qm9 and effdim", () => {
  onCpu("qm9 --quick: rotation widths grow, and past the scale and shear widths", async () => {
    const { res, saved } = await runQuick("qm9");
    expect(saved.widths).toHaveLength(12);
    for (const arm of ["none", "augerino", "so3"]) expect(Number.isFinite(res.metrics[`testMaeMev_${arm}`]), arm).toBe(true);
    for (const t of res.targets) expect(t.met, `${t.name} = ${t.value} (${t.target})`).toBe(true);
  });

  onCpu("effdim --quick: lambda orders the widths, and N_eff comes from the Hessian's Ritz values", async () => {
    const { res } = await runQuick("effdim");
    for (const t of res.targets) expect(t.met, `${t.name} = ${t.value} (${t.target})`).toBe(true);
  });

  it.runIf(onWebgpu)("qm9 on a few molecules for one epoch completes on WebGPU with finite errors", async () => {
    const { saved } = await runQuick("qm9", { nTrain: "64", nValid: "32", nTest: "32", testCopies: "2", k: "8" }, 1);
    expect(saved.config.backend).toBe("webgpu");
    for (const arm of ["none", "augerino", "so3"]) expect(Number.isFinite(saved.metrics[`testMaeMev_${arm}`]), arm).toBe(true);
    for (const w of saved.widths) expect(Number.isFinite(w), `width ${w}`).toBe(true);
  });
}, 600_000);
