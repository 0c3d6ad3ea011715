/**
 * The quick variants of `reproduce qm9` and `reproduce effdim` meet their targets on the CPU
 * (fixed seeds). Not on WebGPU: even one epoch on 64 molecules compiles for minutes on
 * lavapipe (the command runs there: `augerino reproduce qm9 --quick --backend webgpu`).
 */
import { describe, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experiments } from "../../reproductions/experiments/index.ts";
import { writeReport } from "../../reproductions/experiment.ts";
import { itOnCpu, testBackend } from "../backend-under-test.ts";
import { useSharedDataDir } from "./fixtures.ts";

const dataDir = useSharedDataDir();
if (!dataDir) console.log("[qm9, effdim] skipped: the datasets are absent (set AUGERINO_DATA_DIR to the shared data folder)");

async function runQuick(name: string) {
  const out = mkdtempSync(join(tmpdir(), `augerino-${name}-`));
  const res = await experiments[name].run({ seed: 0, quick: true, out, backend: testBackend, quiet: true });
  writeReport(name, name, res, out);
  const saved = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  expect(readFileSync(join(out, "report.md"), "utf8")).toContain("| quantity | paper | ours |");
  for (const f of res.figures) expect(existsSync(join(out, f)), f).toBe(true);
  return { res, saved };
}

const onCpu = itOnCpu("a quick training takes many minutes on lavapipe");

describe.skipIf(!dataDir)(
  "quick qm9 and effdim",
  () => {
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
  },
  600_000,
);
