/**
 * `reproduce --out`: checked and created before any work, so a bad path costs one line
 * and exit 2 rather than a stack trace once training has already run. The missing
 * folders are made one at a time because mkdirSync's recursive mode loops forever on
 * some paths (under /proc).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "./cli.ts";

/** "ENOENT: no such file or directory, mkdir '/x'" -> "ENOENT: no such file or directory". */
const why = (e: unknown) => (e instanceof Error ? e.message.split(",")[0] : String(e));

/** The absolute folder for `out`, created and known writable; UsageError otherwise. */
export function prepareOutDir(out: string): string {
  const abs = resolve(out);
  const missing: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(p) === p) throw new UsageError(`--out ${out}: cannot use ${p} (${why(e)})`);
      missing.unshift(p);
      continue;
    }
    if (!isDir) throw new UsageError(`--out ${out}: ${p} is a file, not a folder`);
    break;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (e) {
      throw new UsageError(`--out ${out}: cannot create ${dir} (${why(e)})`);
    }
  }
  const probe = join(abs, `.augerino-write-test-${process.pid}`);
  try {
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (e) {
    throw new UsageError(`--out ${out}: cannot write in ${abs} (${why(e)})`);
  }
  return abs;
}
