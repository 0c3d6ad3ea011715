/**
 * The image experiments' quick variants (color, cifar10, segmentation) on the CPU: fixed
 * seeds, so their targets are checked exactly. Each takes 40-80 s on the CPU; they need the
 * shared data (the CIFAR-10 subset, MNIST). The fixed augmentations are checked on every backend.
 */
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experiments } from "../../reproductions/experiments/index.ts";
import { writeReport } from "../../reproductions/experiment.ts";
import { testBackend } from "../backend-under-test.ts";
import { useSharedDataDir } from "./fixtures.ts";
import { np, random } from "../../index.ts";
import { cropFlip, noAugmentation } from "../../reproductions/fixed-augment.ts";
import { maxDiffAsync } from "../helpers.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";

describe("fixed augmentations", () => {
  it("cropFlip copies pixels: shifts by whole pixels with zero padding, flips columns", async () => {
    const tol = onWebgpu ? 1e-5 : 1e-9;
    const x = random.uniform(random.key(0), [2, 3, 8, 8]).astype(FLOAT);
    const d = cropFlip(4);
    // Image 0: output (r, q) reads input (r - 1, q + 2); image 1: flipped, no shift.
    const got = d.apply(
      x,
      np.array(
        [
          [2, -1, 1],
          [0, 0, -1],
        ],
        { dtype: FLOAT },
      ),
    );
    const shifted = np.pad(x.slice(0, null, [0, 7], [2, 8]), [
      [0, 0],
      [1, 0],
      [0, 2],
    ]);
    expect(await maxDiffAsync(got.slice(0), shifted)).toBeLessThan(tol);
    expect(await maxDiffAsync(got.slice(1), np.flip(x.slice(1), { axis: -1 }))).toBeLessThan(tol);
    const s = await d.sample(random.key(1), d.init(), 500).data();
    const col = (j: number) => Array.from({ length: 500 }, (_, i) => s[i * 3 + j]);
    expect(new Set(col(0))).toEqual(new Set([-4, -3, -2, -1, 0, 1, 2, 3, 4]));
    expect(new Set(col(2))).toEqual(new Set([-1, 1]));
    expect(noAugmentation().apply(x, np.zeros([2, 0]))).toBe(x);
  });
});

const dataDir = useSharedDataDir();
if (!dataDir) console.log("[image experiments] skipped: the datasets are absent (set AUGERINO_DATA_DIR to the shared data folder)");
// About 2.5 minutes together on the CPU; on lavapipe's WebGPU several times that, so they run
// once, on the CPU (a webgpu run from the command line: reproduce color --quick --backend webgpu).
const onCpuBackend = testBackend === "cpu";
if (dataDir && !onCpuBackend) console.log(`[image experiments] quick runs skipped on ${testBackend}: they run on the CPU project`);

describe.skipIf(!dataDir || !onCpuBackend)("quick image reproductions meet their targets", () => {
  // Each report says which data stood in for the paper's.
  for (const [name, nWidths, standIn] of [
    ["color", 4, /CIFAR-10 subset .*a stand-in for STL-10/],
    ["cifar10", 6, /CIFAR-10 SUBSET/],
    ["segmentation", 6, /CamVid not available/],
  ] as const) {
    it(`${name} --quick`, async () => {
      const out = mkdtempSync(join(tmpdir(), `augerino-${name}-`));
      const res = await experiments[name].run({ seed: 0, quick: true, out, backend: testBackend, quiet: true });
      writeReport(name, name, res, out);
      const saved = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
      expect(saved.widths).toHaveLength(nWidths);
      for (const w of saved.widths) expect(Number.isFinite(w) && w >= 0, `width ${w}`).toBe(true);
      expect(Math.max(...saved.widths)).toBeGreaterThan(0);
      const report = readFileSync(join(out, "report.md"), "utf8");
      expect(report).toContain("| quantity | paper | ours |");
      expect(report).toMatch(standIn);
      for (const f of res.figures) expect(existsSync(join(out, f)), f).toBe(true);
      expect(res.targets.length).toBeGreaterThan(0);
      for (const t of res.targets) expect(t.met, `${t.name} = ${t.value} (${t.target})`).toBe(true);
    }, 600_000);
  }
});
