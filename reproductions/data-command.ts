/**
 * `augerino data [--check] [--download] [NAME ...]`: reports each dataset's files (all of
 * them, or the named ones) as OK / missing / corrupt (exit 0 when every required file is
 * present and valid, 3 otherwise), or fetches the canonical public files into
 * ~/.cache/augerino first. Bad arguments exit 2.
 */
import { consoleOutput, defineCommand, exitFor, parseFlags, UsageError, type Output } from "./cli.ts";
import { checkDataset, DATASETS, downloadDataset, FIX, searchDirs, type DownloadOpts, type RegisteredDataset } from "./datasets/index.ts";

const USAGE = `usage: augerino data [--check] [--download] [NAME ...]   (--check is the default; NAME: ${DATASETS.map((d) => d.spec.name).join(", ")}; when none, all but ${DATASETS.filter(
  (d) => d.onRequest,
)
  .map((d) => d.spec.name)
  .join(", ")}, which are large or the user's own)`;

export interface DataCommandIO extends Partial<Output> {
  /** Passed to the downloads (tests inject a fetch). */
  download?: DownloadOpts;
}

/** Runs the command; returns the exit code. */
export async function runData(args: string[], io: DataCommandIO = {}): Promise<number> {
  const o: Output = { out: io.out ?? consoleOutput.out, err: io.err ?? consoleOutput.err };
  try {
    const { values, positionals } = parseFlags(args, { check: { type: "boolean" }, download: { type: "boolean" } });
    const chosen = select(positionals);
    if (values.download) for (const d of chosen) await downloadDataset(d.spec, { log: o.out, ...io.download });
    return check(chosen, o);
  } catch (e) {
    return exitFor(e, "data", USAGE, o);
  }
}

function select(names: string[]): RegisteredDataset[] {
  if (names.length === 0) return DATASETS.filter((d) => !d.onRequest);
  return names.map((n) => {
    const d = DATASETS.find((x) => x.spec.name === n);
    if (!d) throw new UsageError(`unknown dataset "${n}"; known: ${DATASETS.map((x) => x.spec.name).join(", ")}`);
    return d;
  });
}

function check(datasets: RegisteredDataset[], { out, err }: Output): number {
  let bad = 0;
  for (const { spec, validate } of datasets) {
    out(`${spec.name}: ${spec.description} (searched ${searchDirs(spec.name).join(", ")})`);
    for (const s of checkDataset(spec, validate)) {
      if (s.state === "missing" || s.state === "corrupt") bad++;
      const where =
        s.state === "missing"
          ? `none of ${spec.parts
              .find((p) => p.role === s.role)!
              .variants.map((v) => v.name)
              .join(", ")}`
          : (s.path ?? "");
      const detail = s.state === "corrupt" ? `: ${s.detail}` : (s.state === "OK" || s.state === "absent") && s.detail ? ` (${s.detail})` : "";
      out(`  ${s.state.padEnd(8)} ${s.role.padEnd(13)} ${(where + detail).trim()}`);
    }
  }
  if (bad > 0) {
    err(`augerino data: ${bad} required file${bad > 1 ? "s" : ""} missing or corrupt; ${FIX}`);
    return 3;
  }
  out("all required files present and valid");
  return 0;
}

defineCommand("data", { summary: "check or download the datasets (--check, --download [NAME])", usage: USAGE, run: (args) => runData(args) });
