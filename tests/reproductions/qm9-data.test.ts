import { afterEach, describe, expect } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { qm9, QM9_CHANNELS } from "../../reproductions/datasets/index.ts";
import { itOnCpu } from "../backend-under-test.ts";
import { restoreEnv } from "./fixtures.ts";

const shared = existsSync("/work/shared/data/qm9") ? "/work/shared/data" : process.env.AUGERINO_DATA_DIR;
const file = shared && join(shared, "qm9", "egnn_cormorant_qm9_test.npz");
const present = !!file && existsSync(file);
if (!present) console.log("[qm9 data] skipped: qm9/egnn_cormorant_qm9_test.npz is absent (set AUGERINO_DATA_DIR to the shared data folder)");
restoreEnv(afterEach, "AUGERINO_DATA_DIR");
// The loader reads files on the host: once is enough.
const onCpu = itOnCpu("the loader reads files on the host; the CPU run covers it");

describe.skipIf(!present)("qm9 loader", () => {
  onCpu("a seeded split: a smaller request is a prefix, molecules packed with mask and one-hot elements", async () => {
    process.env.AUGERINO_DATA_DIR = shared;
    const d = qm9({ seed: 3, nTrain: 200, nValid: 50, nTest: 50 });
    expect(d.meta).toMatchObject({ split: "seeded", nTrain: 200, nValid: 50, nTest: 50, available: 13083 });
    expect(d.train.x.shape).toEqual([200, 29, QM9_CHANNELS]);
    const x = (await d.train.x.toArray()) as number[][][];
    for (const mol of x) {
      const atoms = mol.filter((a) => a[3] === 1);
      expect(atoms.length).toBeGreaterThan(0);
      // One element per real atom; padding slots are all zero.
      for (const a of mol) expect(a.slice(4).reduce((s, v) => s + v, 0)).toBe(a[3]);
      for (const a of mol.filter((a) => a[3] === 0)) expect(a.every((v) => v === 0)).toBe(true);
    }
    const y = Array.from(await d.train.y.data());
    for (const v of y) expect(Math.abs(v + 0.25)).toBeLessThan(0.25); // HOMO in Hartree, in (-0.5, 0)
    const small = qm9({ seed: 3, nTrain: 20, nValid: 5, nTest: 5 });
    expect(Array.from(await small.train.y.data())).toEqual(y.slice(0, 20));
    const other = qm9({ seed: 4, nTrain: 20, nValid: 5, nTest: 5 });
    expect(Array.from(await other.train.y.data())).not.toEqual(y.slice(0, 20));
  });

  onCpu("reads the full train/valid/test split files when they are present", () => {
    const dir = mkdtempSync(join(tmpdir(), "augerino-qm9-"));
    mkdirSync(join(dir, "qm9"));
    for (const role of ["train", "valid", "test"]) symlinkSync(file!, join(dir, "qm9", `${role}.npz`));
    process.env.AUGERINO_DATA_DIR = dir;
    const d = qm9({ target: "lumo", nValid: 10, nTest: 10 });
    expect(d.meta).toMatchObject({ split: "full", target: "lumo", nTrain: 13083, nValid: 10, nTest: 10 });
  });

  onCpu("bad requests are clear errors", () => {
    process.env.AUGERINO_DATA_DIR = shared;
    expect(() => qm9({ target: "energy" as never })).toThrow(/qm9: target must be one of homo, lumo, gap, got "energy"/);
    expect(() => qm9({ nTrain: 20000 })).toThrow(/qm9: nTrain=20000 but only 13083 molecules are available/);
    expect(() => qm9({ nTrain: 0 })).toThrow(/qm9: nTrain must be a positive integer, got 0/);
  });
});
