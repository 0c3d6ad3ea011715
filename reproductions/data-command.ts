/**
 * `augerino data [--check] [--download]`: reports each dataset's files as OK / missing /
 * corrupt (exit 0 when every required file is present and valid, 3 otherwise), or fetches
 * the canonical public files into ~/.cache/augerino first. Bad arguments exit 2.
 */
import { defineCommand } from "./cli.ts";
import { checkDataset, DataError, DATASETS, downloadDataset, FIX, searchDirs, type DownloadOpts } from "./datasets/index.ts";

const USAGE = "usage: augerino data [--check] [--download]   (--check is the default)";

export interface DataCommandIO {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Passed to the downloads (tests inject a fetch). */
  download?: DownloadOpts;
}

/** Runs the command; returns the exit code. */
export async function runData(args: string[], io: DataCommandIO = {}): Promise<number> {
  const out = io.out ?? ((l: string) => console.log(l));
  const err = io.err ?? ((l: string) => console.error(l));
  let download = false;
  for (const a of args) {
    if (a === "--check") continue;
    else if (a === "--download") download = true;
    else if (a === "--help" || a === "-h") {
      out(USAGE);
      return 0;
    } else {
      err(`augerino data: unknown option "${a}"; ${USAGE}`);
      return 2;
    }
  }
  try {
    if (download) {
      for (const d of DATASETS) await downloadDataset(d.spec, { log: out, ...io.download });
    }
    return check(out, err);
  } catch (e) {
    if (e instanceof DataError) {
      err(`augerino data: ${e.message}`);
      return 3;
    }
    err(`augerino data: internal error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

function check(out: (l: string) => void, err: (l: string) => void): number {
  let bad = 0;
  for (const { spec, validate } of DATASETS) {
    out(`${spec.name}: ${spec.description} (searched ${searchDirs(spec.name).join(", ")})`);
    for (const s of checkDataset(spec, validate)) {
      if (s.state === "missing" || s.state === "corrupt") bad++;
      const where = s.state === "missing" ? `none of ${spec.parts.find((p) => p.role === s.role)!.variants.map((v) => v.name).join(", ")}` : (s.path ?? "");
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

defineCommand("data", { summary: "check or download the datasets (--check, --download)", run: (args) => runData(args) });
