/** Figures from Vega-Lite specs, written as SVG (vector) and PNG (rendered by resvg). */
import { writeFileSync } from "node:fs";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { Resvg } from "@resvg/resvg-js";

/** Renders a Vega-Lite spec to `<base>.svg` and `<base>.png`; returns the two paths. */
export async function writeChart(spec: TopLevelSpec, base: string): Promise<string[]> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG(2);
  view.finalize();
  writeFileSync(`${base}.svg`, svg);
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, background: "white" }).render().asPng();
  writeFileSync(`${base}.png`, png);
  return [`${base}.svg`, `${base}.png`];
}

/** A line chart of several named series over a shared x. */
export function lineChart(opts: { title: string; x: string; y: string; rows: Record<string, number | string>[]; series?: string; rule?: { y: number; label: string }; order?: string }): TopLevelSpec {
  const line = {
    mark: { type: "line" as const, point: opts.rows.length <= 60 },
    encoding: {
      x: { field: opts.x, type: "quantitative" as const, title: opts.x },
      y: { field: opts.y, type: "quantitative" as const, title: opts.y },
      ...(opts.series ? { color: { field: opts.series, type: "nominal" as const } } : {}),
      // Draw points in the given order rather than sorted by x (for step shapes).
      ...(opts.order ? { order: { field: opts.order, type: "quantitative" as const } } : {}),
    },
  };
  const layers: object[] = [line];
  if (opts.rule) {
    layers.push({
      data: { values: [{ y: opts.rule.y, label: opts.rule.label }] },
      mark: { type: "rule", strokeDash: [4, 4], color: "gray" },
      encoding: { y: { field: "y", type: "quantitative" } },
    });
  }
  return { $schema: "https://vega.github.io/schema/vega-lite/v5.json", title: opts.title, width: 480, height: 300, data: { values: opts.rows }, layer: layers } as TopLevelSpec;
}
