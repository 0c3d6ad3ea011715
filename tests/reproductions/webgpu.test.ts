/**
 * An experiment end to end on WebGPU, through the CLI's own entry (`augerino reproduce ...
 * --backend webgpu`, run in-process): every value the training loop, the evaluation and the
 * figures read must be read asynchronously there. A tiny budget (one epoch of the quick
 * variant) keeps it short on lavapipe; it checks that the run completes and records the
 * backend, not the paper's targets (tests/reproductions/experiments.test.ts does those on the CPU).
 * Skips with a printed reason when WebGPU cannot start or the datasets are absent; with
 * AUGERINO_REQUIRE_WEBGPU=1 a missing adapter fails instead (tests/backends/webgpu/gpu.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBackendName, setDefaultBackend } from "../../core/backend.ts";
import { main } from "../../reproductions/main.ts";
import { gpuSkipReason } from "../backends/webgpu/gpu.ts";
import { useSharedDataDir } from "./fixtures.ts";

const dataDir = useSharedDataDir();
if (!dataDir) console.log("[reproductions on webgpu] skipped: the datasets are absent (set AUGERINO_DATA_DIR to the shared data folder)");
else if (gpuSkipReason !== null) console.log(`[reproductions on webgpu] skipped: ${gpuSkipReason}`);

describe.skipIf(gpuSkipReason !== null || !dataDir)("reproductions on webgpu", () => {
  const previous = defaultBackendName();
  const out = mkdtempSync(join(tmpdir(), "augerino-olivetti-webgpu-"));
  afterAll(() => {
    setDefaultBackend(previous);
    rmSync(out, { recursive: true, force: true });
  });

  it("olivetti --quick --epochs 1 --backend webgpu completes and records the backend", async () => {
    const code = await main(["reproduce", "olivetti", "--quick", "--epochs", "1", "--backend", "webgpu", "--out", out, "--quiet"]);
    expect(code).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(saved.experiment).toBe("olivetti");
    expect(saved.config.backend).toBe("webgpu");
    expect(saved.config.epochs).toBe(1);
    expect(saved.widths).toHaveLength(6);
    for (const w of saved.widths) expect(Number.isFinite(w) && w > 0, `width ${w}`).toBe(true);
    expect(Number.isFinite(saved.metrics.testMse), `test MSE ${saved.metrics.testMse}`).toBe(true);
    expect(saved.trajectory.run.map((t: { epoch: number }) => t.epoch)).toEqual([0, 1]);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("on webgpu");
    for (const f of saved.figures) expect(existsSync(join(out, f)), f).toBe(true);
    // The per-epoch checkpoint went through nn.save's asynchronous reads too.
    expect(existsSync(join(out, "checkpoint", "checkpoint.safetensors"))).toBe(true);
  }, 240_000);
});
