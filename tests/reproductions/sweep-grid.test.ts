/** The sweep's grid, its points' reproduce commands and sbatch script, and the aggregation over seeds. */
import { describe, expect, it } from "vitest";
import { experiments } from "../../reproductions/experiments/index.ts";
import { checkGrid, gridPoints, parseGrid, reproduceArgs } from "../../reproductions/sweep-grid.ts";
import { parseSlurmOptions, sbatchScript } from "../../reproductions/sweep-sbatch.ts";
import { aggregate } from "../../reproductions/sweep-report.ts";

describe("sweep grid", () => {
  it("crosses the axes into points, each a reproduce command in its own folder", () => {
    const axes = parseGrid(["lambdas=0.01,0.1", "seed=0..2"]);
    const points = gridPoints(axes);
    expect(points.map((p) => p.id)).toEqual(["lambdas-0.01_seed-0", "lambdas-0.01_seed-1", "lambdas-0.01_seed-2", "lambdas-0.1_seed-0", "lambdas-0.1_seed-1", "lambdas-0.1_seed-2"]);
    const s = { experiment: "rotmnist", quick: true, epochs: 1, set: { k: "2" } };
    checkGrid(experiments.rotmnist, axes, s);
    expect(reproduceArgs("/d", s, points[4])).toEqual([
      "reproduce",
      "rotmnist",
      "--out",
      "/d/points/lambdas-0.1_seed-1",
      "--seed",
      "1",
      "--set",
      "k=2",
      "--set",
      "lambdas=0.1",
      "--quick",
      "--epochs",
      "1",
    ]);
    const script = sbatchScript("/d", s, points, parseSlurmOptions(["partition=gpu", "gres=gpu:1", "time=01:00:00"]));
    expect(script).toContain("#SBATCH --output=/d/slurm/logs/%A_%a.log");
    expect(script).toContain("#SBATCH --gres=gpu:1");
    expect(script).toContain("  4) args=('reproduce' 'rotmnist' '--out' '/d/points/lambdas-0.1_seed-1' '--seed' '1'");
  });

  it("refuses bad grids and Slurm options in one line", () => {
    const s = { experiment: "rotmnist", quick: true, set: {} };
    const cases: [() => unknown, RegExp][] = [
      [() => parseGrid([]), /at least one --grid/],
      [() => parseGrid(["lambdas"]), /--grid needs key=v1,v2/],
      [() => parseGrid(["seed=3..1"]), /a range a..b needs a <= b/],
      [() => parseGrid(["seed=0,0"]), /given twice/],
      [() => parseGrid(["seed=0", "seed=1"]), /--grid seed is given twice/],
      [() => checkGrid(experiments.rotmnist, parseGrid(["lambda=0.1"]), s), /^--grid: unknown key "lambda" \(valid keys: lambdas, .*, seed\)$/],
      [() => checkGrid(experiments.rotmnist, parseGrid(["k=a,b"]), s), /k needs a number, got "a"/],
      [() => checkGrid(experiments.rotmnist, parseGrid(["seed=x"]), s), /seed needs whole numbers/],
      [() => checkGrid(experiments.rotmnist, parseGrid(["k=2"]), { ...s, set: { k: "4" } }), /k is both a --grid axis and a --set/],
      [() => parseSlurmOptions(["nodes=2"]), /unknown key "nodes" \(passed through: partition/],
      [() => parseSlurmOptions(["time=1 day"]), /without spaces/],
    ];
    for (const [f, msg] of cases) expect(f).toThrow(msg);
  });

  it("aggregates with the sample standard deviation", () => {
    expect(aggregate([1, 3])).toEqual({ mean: 2, std: Math.SQRT2, count: 2 });
    expect(aggregate([5])).toEqual({ mean: 5, std: 0, count: 1 });
  });
});
