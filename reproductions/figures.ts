/** Figures from Vega-Lite specs, written as SVG (vector) and PNG (rendered by resvg). */
import { writeFileSync } from "node:fs";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { Resvg } from "@resvg/resvg-js";
import type { RunOpts } from "./experiment.ts";

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

/** A dashed reference line with its label drawn beside it (horizontal at y, or vertical at x). */
export type Rule = { y: number; label: string } | { x: number; label: string };

function ruleLayers(rule: Rule): object[] {
  const along = "y" in rule ? "y" : "x";
  const at = "y" in rule ? rule.y : rule.x;
  const encoding = { [along]: { field: "at", type: "quantitative" as const } };
  return [
    { data: { values: [{ at, label: rule.label }] }, mark: { type: "rule", strokeDash: [4, 4], color: "gray" }, encoding },
    {
      data: { values: [{ at, label: rule.label }] },
      // Horizontal rules are labelled at their right end; vertical ones at the top.
      mark: along === "y" ? { type: "text", align: "right", baseline: "bottom", dy: -2, color: "gray", x: "width" } : { type: "text", align: "left", baseline: "top", dx: 3, color: "gray", y: 0 },
      encoding: { ...encoding, text: { field: "label", type: "nominal" as const } },
    },
  ];
}

/**
 * The command that reproduces a run, shown under each figure's title so a figure says which
 * run it shows: e.g. `npx augerino reproduce mario-iggy --quick --seed 0 --backend cpu`.
 */
export function runCaption(name: string, opts: Pick<RunOpts, "seed" | "quick" | "epochs" | "backend" | "set">): string {
  const sets = Object.entries(opts.set ?? {}).map(([k, v]) => ` --set ${k}=${v}`);
  return `npx augerino reproduce ${name}${opts.quick ? " --quick" : ""}${opts.epochs !== undefined ? ` --epochs ${opts.epochs}` : ""} --seed ${opts.seed} --backend ${opts.backend}${sets.join("")}`;
}

/**
 * A line chart of several named series over a shared x. Axis titles default to the field
 * names: give `xTitle`/`yTitle` with units; `caption` (see runCaption) goes under the title.
 */
export function lineChart(opts: {
  title: string;
  caption?: string;
  x: string;
  y: string;
  xTitle?: string;
  yTitle?: string;
  rows: Record<string, number | string>[];
  series?: string;
  rule?: Rule;
  rules?: Rule[];
  order?: string;
}): TopLevelSpec {
  const line = {
    mark: { type: "line" as const, point: opts.rows.length <= 60 },
    encoding: {
      x: { field: opts.x, type: "quantitative" as const, title: opts.xTitle ?? opts.x },
      y: { field: opts.y, type: "quantitative" as const, title: opts.yTitle ?? opts.y },
      ...(opts.series ? { color: { field: opts.series, type: "nominal" as const } } : {}),
      // Draw points in the given order rather than sorted by x (for step shapes).
      ...(opts.order ? { order: { field: opts.order, type: "quantitative" as const } } : {}),
    },
  };
  const rules = [...(opts.rule ? [opts.rule] : []), ...(opts.rules ?? [])];
  const layers: object[] = [line, ...rules.flatMap(ruleLayers)];
  const title = opts.caption ? { text: opts.title, subtitle: opts.caption } : opts.title;
  return { $schema: "https://vega.github.io/schema/vega-lite/v5.json", title, width: 480, height: 300, data: { values: opts.rows }, layer: layers } as TopLevelSpec;
}
