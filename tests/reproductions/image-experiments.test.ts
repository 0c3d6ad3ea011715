/**
 * The image experiments' quick variants (color, cifar10, segmentation) on the backend under
 * test: fixed seeds, so their targets are checked exactly. Each takes well under a minute on
 * the CPU; they need the shared data (the CIFAR-10 subset, MNIST).
 */
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experiments } from "../../reproductions/experiments/index.ts";
import { writeReport } from "../../reproductions/experiment.ts";
import { testBackend } from "../backend-under-test.ts";
import { sharedDataDir } from "./fixtures.ts";

const dataDir = sharedDataDir();
if (dataDir) process.env.AUGERINO_DATA_DIR = dataDir;
else console.log("[image experiments] skipped: the datasets are absent (set AUGERINO_DATA_DIR to the shared data folder)");

describe.skipIf(!dataDir)("quick image reproductions meet their targets", () => {
  for (const [name, nWidths] of [["color", 4]] as const) {
    it(`${name} --quick`, async () => {
      const out = mkdtempSync(join(tmpdir(), `augerino-${name}-`));
      const res = await experiments[name].run({ seed: 0, quick: true, out, backend: testBackend, quiet: true });
      writeReport(name, name, res, out);
      const saved = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
      expect(saved.widths).toHaveLength(nWidths);
      for (const w of saved.widths) expect(Number.isFinite(w) && w > 0, `width ${w}`).toBe(true);
      expect(readFileSync(join(out, "report.md"), "utf8")).toMatch(/\| quantity \| paper \| ours \|[\s\S]*subset/);
      for (const f of res.figures) expect(existsSync(join(out, f)), f).toBe(true);
      expect(res.targets.length).toBeGreaterThan(0);
      for (const t of res.targets) expect(t.met, `${t.name} = ${t.value} (${t.target})`).toBe(true);
    }, 600_000);
  }
});
