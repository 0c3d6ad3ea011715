import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lineChart, runCaption, writeChart } from "../../reproductions/figures.ts";
import { errorBarChart } from "../../reproductions/sweep-figures.ts";

describe("figures", () => {
  it("render axis titles with units, labelled reference lines and the run they show", async () => {
    const dir = mkdtempSync(join(tmpdir(), "augerino-figure-"));
    try {
      const caption = runCaption("mario-iggy", { seed: 3, quick: true, backend: "cpu", set: { lambda: "0.1" } });
      expect(caption).toBe("npx augerino reproduce mario-iggy --quick --seed 3 --backend cpu --set lambda=0.1");
      const rows = [0, 1, 2].map((epoch) => ({ epoch, rotation: 0.5 * epoch }));
      const spec = lineChart({
        title: "Learned rotation width",
        caption,
        x: "epoch",
        y: "rotation",
        xTitle: "epoch",
        yTitle: "rotation width (rad)",
        rows,
        rules: [
          { y: Math.PI / 2, label: "pi/2" },
          { x: 1, label: "+w/2" },
        ],
      });
      const [svg, png] = await writeChart(spec, join(dir, "chart"));
      const text = readFileSync(svg, "utf8");
      for (const s of ["rotation width (rad)", "epoch", "pi/2", "+w/2", caption]) expect(text).toContain(s);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe("PNG");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sweep charts carry their command, units on both axes and error bars", async () => {
    const dir = mkdtempSync(join(tmpdir(), "augerino-figure-"));
    try {
      const caption = "augerino sweep rotmnist --grid lambdas=0.01,0.1 --grid seed=0..1 --quick";
      const rows = [0.01, 0.1].map((x) => ({ x, mean: 5 + x, std: 0.5, series: "rotationWidth" }));
      const [svg] = await writeChart(errorBarChart({ title: "width against lambdas", caption, xTitle: "lambdas", yTitle: "learned width (rad)", rows }), join(dir, "bars"));
      const text = readFileSync(svg, "utf8");
      for (const s of [caption, "learned width (rad)", "lambdas"]) expect(text).toContain(s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
