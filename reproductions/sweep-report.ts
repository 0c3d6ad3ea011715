/**
 * The merged report of a sweep: every point's results.json read back, the metrics of the
 * points that differ only in their seed aggregated (mean, standard deviation, count), the
 * paper's value beside them, and charts of widths and accuracies against the first numeric
 * swept setting. Written as DIR/sweep.json, DIR/report.md and DIR/figures/.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { writeChart } from "./figures.ts";
import { describePoint, pointDir, type Axis, type Point, type SweepSettings } from "./sweep-grid.ts";
import { errorBarChart, type MeanRow } from "./sweep-figures.ts";
import type { EngineResult } from "./sweep-outcome.ts";
import { paperValue } from "./sweep-paper.ts";

export interface Stat {
  mean: number;
  std: number;
  count: number;
}

interface Group {
  /** The point's grid values without the seed. */
  values: Record<string, string>;
  samples: Record<string, number[]>;
}

/** Mean, sample standard deviation (0 for one value) and count. */
export function aggregate(xs: number[]): Stat {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, count: xs.length };
}

/**
 * A point's metrics, or undefined without results. An experiment that names metrics by a
 * setting (rotmnist's `rotationWidth_0.05` for lambda 0.05) has the swept value dropped from
 * the name, so that the points of a sweep over that setting share their metric names.
 */
function pointMetrics(dir: string, p: Point): Record<string, number> | undefined {
  let res: { metrics?: Record<string, number> };
  try {
    res = JSON.parse(readFileSync(join(pointDir(dir, p), "results.json"), "utf8"));
  } catch {
    return undefined;
  }
  const suffixes = Object.entries(p.values)
    .filter(([k]) => k !== "seed")
    .flatMap(([, v]) => [`_${v}`, `_${Number(v)}`]);
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(res.metrics ?? {})) {
    const suffix = suffixes.find((s) => name.endsWith(s));
    out[suffix ? name.slice(0, -suffix.length) : name] = value;
  }
  return out;
}

function groupsOf(dir: string, points: Point[]): { groups: Group[]; metrics: Map<Point, Record<string, number>> } {
  const byKey = new Map<string, Group>();
  const metrics = new Map<Point, Record<string, number>>();
  for (const p of points) {
    const { seed: _seed, ...values } = p.values;
    const key = JSON.stringify(values);
    if (!byKey.has(key)) byKey.set(key, { values, samples: {} });
    const m = pointMetrics(dir, p);
    if (!m) continue;
    metrics.set(p, m);
    const g = byKey.get(key)!;
    for (const [name, v] of Object.entries(m)) (g.samples[name] ??= []).push(v);
  }
  return { groups: [...byKey.values()], metrics };
}

const fmt = (x: number) => (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4));
const cell = (s: string) => s.replace(/\|/g, "\\|");

/** Width and accuracy against the first swept setting whose values are all numbers (seeds aside). */
async function charts(dir: string, axes: Axis[], groups: Group[], command: string): Promise<string[]> {
  const xAxis = axes.find((a) => a.key !== "seed" && a.values.every((v) => Number.isFinite(Number(v))));
  if (!xAxis) return [];
  const others = axes.filter((a) => a.key !== "seed" && a !== xAxis).map((a) => a.key);
  mkdirSync(join(dir, "figures"), { recursive: true });
  const files: string[] = [];
  // Axis titles with their units (widths of rotations are angles; accuracies are fractions).
  for (const [family, pattern, yTitle] of [
    ["width", /width/i, "learned width (rad)"],
    ["accuracy", /accuracy/i, "test accuracy (fraction correct)"],
  ] as const) {
    const rows: MeanRow[] = groups.flatMap((g) =>
      Object.entries(g.samples)
        .filter(([name]) => pattern.test(name))
        .map(([name, xs]) => ({ x: Number(g.values[xAxis.key]), series: [name, ...others.map((k) => `${k}=${g.values[k]}`)].join(" "), ...aggregate(xs) })),
    );
    if (rows.length === 0) continue;
    const spec = errorBarChart({ title: `${family} against ${xAxis.key} (mean +- std over seeds)`, caption: command, xTitle: xAxis.key, yTitle, rows });
    files.push(...(await writeChart(spec, join(dir, "figures", `${family}-vs-${xAxis.key.replace(/[^A-Za-z0-9_-]/g, "-")}`))));
  }
  return files.map((f) => relative(dir, f));
}

export async function writeSweepReport(dir: string, s: SweepSettings, axes: Axis[], points: Point[], result: EngineResult, command: string): Promise<{ withResults: number }> {
  const { groups, metrics } = groupsOf(dir, points);
  const figures = await charts(dir, axes, groups, command);
  const stats = groups.map((g) => ({ values: g.values, metrics: Object.fromEntries(Object.entries(g.samples).map(([m, xs]) => [m, { ...aggregate(xs), paper: paperValue(s.experiment, m) }])) }));
  const failed = new Map(result.failures.map((f) => [f.point, f]));
  const sweep = {
    experiment: s.experiment,
    command,
    settings: s,
    grid: axes,
    points: points.map((p) => ({
      index: p.index,
      id: p.id,
      values: p.values,
      folder: relative(dir, pointDir(dir, p)),
      metrics: metrics.get(p) ?? null,
      ...(failed.has(p) && { state: failed.get(p)!.state, log: failed.get(p)!.log }),
    })),
    groups: stats,
    figures,
  };
  writeFileSync(join(dir, "sweep.json"), JSON.stringify(sweep, null, 2));

  const keys = axes.map((a) => a.key).filter((k) => k !== "seed");
  const seeds = axes.find((a) => a.key === "seed")?.values.length ?? 1;
  const missing = points.filter((p) => !metrics.has(p));
  const lines = [
    `# Sweep: ${s.experiment}`,
    "",
    `Command: \`${command}\``,
    "",
    `${metrics.size} of ${points.length} points have results; each setting below aggregates its ${seeds} seed${seeds > 1 ? "s" : ""} (mean, sample standard deviation, n = the runs that finished).`,
    "",
    `| ${[...keys, "metric", "mean", "std", "n", "paper"].join(" | ")} |`,
    `|${"---|".repeat(keys.length + 5)}`,
    ...stats.flatMap((g) => Object.entries(g.metrics).map(([m, st]) => `| ${[...keys.map((k) => g.values[k]), m, fmt(st.mean), fmt(st.std), String(st.count), st.paper].map(cell).join(" | ")} |`)),
    "",
    ...(missing.length > 0
      ? [
          "## Points without results",
          "",
          "| point | state | log |",
          "|---|---|---|",
          ...missing.map((p) => `| ${cell(describePoint(p))} | ${failed.get(p)?.state ?? "not run"} | ${failed.get(p)?.log ?? ""} |`),
          "",
        ]
      : []),
    ...(figures.length > 0 ? ["## Figures", "", ...figures.filter((f) => f.endsWith(".svg")).map((f) => `![${f}](${f})`), ""] : []),
  ];
  writeFileSync(join(dir, "report.md"), lines.join("\n"));
  return { withResults: metrics.size };
}
