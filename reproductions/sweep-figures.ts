/** The sweep report's charts: a metric's mean over seeds against a swept setting, +-1 standard deviation as error bars. */
import type { TopLevelSpec } from "vega-lite";

export interface MeanRow {
  x: number;
  mean: number;
  std: number;
  series: string;
}

/** `caption` (the sweep's command) goes under the title, so the figure says which runs it shows. */
export function errorBarChart(opts: { title: string; caption?: string; xTitle: string; yTitle: string; rows: MeanRow[] }): TopLevelSpec {
  const values = opts.rows.map((r) => ({ ...r, lo: r.mean - r.std, hi: r.mean + r.std }));
  const x = { field: "x", type: "quantitative" as const, title: opts.xTitle };
  const color = { field: "series", type: "nominal" as const, title: null };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: opts.caption ? { text: opts.title, subtitle: opts.caption } : opts.title,
    width: 480,
    height: 300,
    data: { values },
    layer: [
      { mark: { type: "line", point: true }, encoding: { x, y: { field: "mean", type: "quantitative", title: opts.yTitle }, color } },
      { mark: { type: "errorbar", ticks: true }, encoding: { x, y: { field: "lo", type: "quantitative", title: opts.yTitle }, y2: { field: "hi" }, color } },
    ],
  } as TopLevelSpec;
}
