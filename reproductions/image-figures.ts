/** A grid of small images as a Vega-Lite heatmap: one panel per (row, column) label, pixels as rects. */
import type { TopLevelSpec } from "vega-lite";

export interface Panel {
  row: string;
  column: string;
  /** Row-major pixels of a height x width image, each in [0, 1]. */
  pixels: ArrayLike<number>;
  height: number;
  width: number;
}

/**
 * Panels laid out by `row` and `column`, in the order first met, each pixel a square of
 * `cell` points coloured by its value in [0, 1] (viridis).
 */
export function imageGrid(opts: { title: string; caption?: string; panels: Panel[]; valueTitle: string; cell?: number }): TopLevelSpec {
  const values = opts.panels.flatMap((p) => Array.from(p.pixels, (v, i) => ({ row: p.row, column: p.column, r: Math.floor(i / p.width), q: i % p.width, v })));
  const order = (k: "row" | "column") => [...new Set(opts.panels.map((p) => p[k]))];
  const cell = opts.cell ?? 3;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: opts.caption ? { text: opts.title, subtitle: opts.caption } : opts.title,
    data: { values },
    facet: { row: { field: "row", type: "nominal", sort: order("row"), title: null }, column: { field: "column", type: "nominal", sort: order("column"), title: null } },
    spec: {
      width: Math.max(...opts.panels.map((p) => p.width)) * cell,
      height: Math.max(...opts.panels.map((p) => p.height)) * cell,
      mark: "rect",
      encoding: {
        x: { field: "q", type: "ordinal", axis: null },
        y: { field: "r", type: "ordinal", axis: null },
        color: { field: "v", type: "quantitative", scale: { scheme: "viridis", domain: [0, 1] }, title: opts.valueTitle },
      },
    },
  } as TopLevelSpec;
}
