import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../../reproductions/bin.js", import.meta.url).pathname;
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("the augerino command", () => {
  it("lists the experiments, one line each", () => {
    const r = run(["list"]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(["mario-iggy", "rotmnist", "olivetti", "landscape"]);
  });

  it("rejects bad arguments with exit code 2 and the usage line", () => {
    for (const args of [["reproduce", "mario-iggy", "--bogus"], ["reproduce", "nope"], ["reproduce", "mario-iggy", "--seed", "x"], ["reproduce"], ["frobnicate"], ["list", "extra"]]) {
      const r = run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.trim().split("\n").length).toBeLessThanOrEqual(2);
    }
    expect(run(["reproduce", "mario-iggy", "--bogus"]).err).toMatch(/usage: augerino reproduce/);
  });

  it("reports missing data in one line with exit code 3", () => {
    const empty = mkdtempSync(join(tmpdir(), "augerino-nodata-"));
    const r = run(["reproduce", "mario-iggy", "--quick", "--out", join(empty, "out")], { AUGERINO_DATA_DIR: empty, HOME: empty });
    expect(r.code).toBe(3);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/images\.npz/);
  });
});
