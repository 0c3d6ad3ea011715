import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experiments } from "../../reproductions/experiments/index.ts";
import { writeReport } from "../../reproductions/experiment.ts";
import { testBackend } from "../backend-under-test.ts";
import { useSharedDataDir } from "./fixtures.ts";

// The quick variants are small budgets that still show each paper effect; seeds are fixed,
// so their targets are checked exactly, on the backend under test (the default one here).
const dataDir = useSharedDataDir();
const reason = "the datasets are absent (set AUGERINO_DATA_DIR to the shared data folder)";
if (!dataDir) console.log(`[experiments] skipped: ${reason}`);

describe.skipIf(!dataDir)("quick reproductions meet their targets", () => {
  for (const name of ["mario-iggy", "olivetti", "landscape", "rotmnist"]) {
    it(`${name} --quick`, async () => {
      const out = mkdtempSync(join(tmpdir(), `augerino-${name}-`));
      const res = await experiments[name].run({ seed: 0, quick: true, out, backend: testBackend, quiet: true });
      writeReport(name, name, res, out);
      const saved = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
      expect(saved.widths).toHaveLength(6);
      expect(readFileSync(join(out, "report.md"), "utf8")).toContain("| quantity | paper | ours |");
      for (const f of res.figures) expect(existsSync(join(out, f)), f).toBe(true);
      for (const t of res.targets) expect(t.met, `${t.name} = ${t.value} (${t.target})`).toBe(true);
    }, 900_000);
  }
});
