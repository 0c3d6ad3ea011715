/** What every experiment provides, and how its outputs are written. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatasetSpec } from "./datasets/files.ts";
import type { Resume } from "./checkpoint.ts";
import { fmtTime } from "./progress.ts";
import type { Overrides } from "./config-overrides.ts";

export interface RunOpts {
  seed: number;
  /** Overrides the experiment's epoch budget. */
  epochs?: number;
  quick: boolean;
  out: string;
  backend: string;
  quiet?: boolean;
  /** `--set key=value`: changes to the fields of `Experiment.config`, checked against them. */
  set?: Overrides;
}

export interface Target {
  name: string;
  value: number;
  /** Human-readable condition, e.g. "|w - pi/2| <= 0.2". */
  target: string;
  met: boolean;
}

export interface PaperRow {
  quantity: string;
  paper: string;
  ours: string;
}

export interface ExperimentResult {
  config: Record<string, unknown>;
  metrics: Record<string, number>;
  /** Final learned widths per generator, in the order of generators2d(). */
  widths: number[];
  /** Width trajectories over training (per run when there are several). */
  trajectory: Record<string, { epoch: number; widths: number[] }[]>;
  targets: Target[];
  paper: PaperRow[];
  figures: string[];
  seconds: number;
}

export interface Experiment {
  name: string;
  summary: string;
  /** The datasets it reads: their files are looked for before a backend starts. */
  datasets: DatasetSpec[];
  /** The default configuration for a budget: the fields `--set` may change, and their types. */
  config(quick: boolean, epochs?: number): object;
  run(opts: RunOpts): Promise<ExperimentResult>;
}

/** How the run went across sessions: the trainings continued from checkpoints, and the whole run's time. */
export interface RunRecord {
  resumed: Resume[];
  seconds: number;
}

/** Markdown table cells: a literal pipe would end the cell. */
const cell = (s: string) => s.replace(/\|/g, "\\|");

function runLine(run: RunRecord): string {
  const whole = `The whole run took ${fmtTime(run.seconds)}`;
  if (run.resumed.length === 0) return `${whole}; it was not resumed.`;
  const from = run.resumed
    .map((r) => `${r.label} after epoch ${r.epoch} of ${r.epochs}${r.codeChange ? `, made by other code (hash ${r.codeChange.from.slice(0, 12)}, continued by ${r.codeChange.to.slice(0, 12)})` : ""}`)
    .join(", ");
  return `${whole}, earlier sessions included; it was resumed from checkpoints (${from}).`;
}

/** `--set` flags for report.md's command line, so the run can be repeated. */
const setFlags = (set: Overrides) =>
  Object.entries(set)
    .map(([k, v]) => ` --set ${k}=${v}`)
    .join("");

export function writeReport(name: string, title: string, res: ExperimentResult, out: string, run?: RunRecord, overrides: Overrides = {}): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "results.json"), JSON.stringify({ experiment: name, overrides, ...res, ...(run && { run }) }, null, 2));
  const lines = [
    `# ${title}`,
    "",
    `Run: \`npx augerino reproduce ${name}${res.config.quick ? " --quick" : ""} --seed ${res.config.seed}${setFlags(overrides)}\` (${res.seconds.toFixed(0)} s on ${res.config.backend}).`,
    ...(run ? [runLine(run)] : []),
    "",
    "| quantity | paper | ours |",
    "|---|---|---|",
    ...res.paper.map((r) => `| ${cell(r.quantity)} | ${cell(r.paper)} | ${cell(r.ours)} |`),
    "",
    "## Targets",
    "",
    "| target | value | condition | met |",
    "|---|---|---|---|",
    ...res.targets.map((t) => `| ${cell(t.name)} | ${t.value.toFixed(4)} | ${cell(t.target)} | ${t.met ? "yes" : "**no**"} |`),
    "",
    "## Figures",
    "",
    ...res.figures.filter((f) => f.endsWith(".svg")).map((f) => `![${f}](${f})`),
    "",
  ];
  writeFileSync(join(out, "report.md"), lines.join("\n"));
}
