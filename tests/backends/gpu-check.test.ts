/**
 * scripts/gpu-check.sh, the parts that need no GPU: argument handling, the time plan (the
 * phases' limits fit the budget) and the summary when the GPU probe fails (every phase
 * fails naming why, nothing runs). GPU_CHECK_PROBE stands in for nvidia-smi.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const PHASES = ["cuda", "webgpu-unit", "webgpu", "bench-webgpu", "bench-cuda"];

function check(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bash", ["scripts/gpu-check.sh", ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { rc: r.status, out: r.stdout, err: r.stderr };
}

describe("scripts/gpu-check.sh", () => {
  it("rejects bad arguments with exit 2, naming what was wrong", () => {
    for (const [args, msg] of [
      [["--bogus"], "unknown option '--bogus'"],
      [["--budget", "5"], "at least 60, got '5'"],
      [["--budget"], "--budget needs"],
      [["--only", "cuda,gpu"], "unknown phase 'gpu'"],
    ] as const) {
      const r = check([...args]);
      expect(r.rc, args.join(" ")).toBe(2);
      expect(r.err).toContain(msg);
    }
  });

  it("plans every phase within the budget", () => {
    for (const budget of [480, 300]) {
      const r = check(["--dry-run", "--budget", String(budget)]);
      expect(r.rc).toBe(0);
      const limits = PHASES.map((p) => Number(new RegExp(`^  ${p} +(\\d+) s`, "m").exec(r.out)?.[1]));
      expect(limits.every((s) => s > 0)).toBe(true);
      expect(limits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget);
    }
    expect(check(["--dry-run", "--only", "cuda"]).out).toContain("--project cpu tests/backends/cuda");
  });

  it("without a GPU every phase fails naming why, and nothing runs", () => {
    const logs = mkdtempSync(join(tmpdir(), "gpu-check-test-"));
    try {
      const r = check(["--only", "cuda,bench-cuda"], { GPU_CHECK_PROBE: "echo no devices >&2; false", GPU_CHECK_LOGS: logs });
      expect(r.rc).toBe(1);
      expect(r.out).toMatch(/^cuda +FAIL .*no NVIDIA GPU: .*no devices/m);
      expect(r.out).toMatch(/^bench-cuda +FAIL /m);
      expect(r.out).toContain("gpu-check: FAIL (0 of 2 phases passed)");
      expect(readdirSync(logs)).toEqual([]);
    } finally {
      rmSync(logs, { recursive: true, force: true });
    }
  });
});
