/** `--set key=value`: keys and types checked against an experiment's default configuration. */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../reproductions/cli.ts";
import { overridableKeys, parseAssignments, withOverrides } from "../../reproductions/config-overrides.ts";
import { experiments } from "../../reproductions/experiments/index.ts";

const defaults = { nTrain: 100, lr: 3e-3, reg: "norm" as const, schedule: "cosine" as const, quick: false, lambdas: [0.05], starts: { a: 1 } };
const set = (entries: string[]) => withOverrides(defaults, parseAssignments("set", entries));

describe("config overrides", () => {
  it("parses each value by the type of its default and leaves the rest alone", () => {
    expect(set(["nTrain=50", "lr=1e-2", "reg=sqnorm", "quick=true", "lambdas=0.01,0.1"])).toEqual({ ...defaults, nTrain: 50, lr: 0.01, reg: "sqnorm", quick: true, lambdas: [0.01, 0.1] });
    expect(set([])).toEqual(defaults);
    expect(overridableKeys(defaults)).toEqual(["nTrain", "lr", "reg", "schedule", "quick", "lambdas"]);
  });

  it("refuses unknown keys and bad values in one line that lists the valid keys", () => {
    const cases: [string[], RegExp][] = [
      [["nTrian=5"], /unknown key "nTrian" \(valid keys: nTrain, lr, reg, schedule, quick, lambdas\)/],
      [["starts=1"], /unknown key "starts"/],
      [["nTrain=many"], /nTrain needs a number, got "many" \(valid keys: nTrain/],
      [["nTrain="], /nTrain needs a number/],
      [["quick=1"], /quick needs true or false/],
      [["reg=l1"], /reg needs one of norm, sqnorm/],
      [["lambdas=0.1,x"], /lambdas needs a number, got "x"/],
      [["nTrain"], /--set needs key=value/],
      [["lr=1", "lr=2"], /lr is given twice/],
    ];
    for (const [entries, msg] of cases) {
      expect(() => set(entries), entries.join(" ")).toThrow(UsageError);
      expect(() => set(entries), entries.join(" ")).toThrow(msg);
    }
  });

  it("every experiment exposes its configuration, and its defaults are what it ran before", () => {
    for (const exp of Object.values(experiments)) expect(overridableKeys(exp.config(true)).length, exp.name).toBeGreaterThan(5);
    expect(experiments.rotmnist.config(true, 1)).toMatchObject({ lambdas: [0.05], epochs: 1, k: 8, nTrain: 2000 });
    expect(experiments.landscape.config(false)).toMatchObject({ points: 33, evalN: 1000, copies: 8, epochs: 8 });
  });
});
