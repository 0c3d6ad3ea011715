/**
 * `augerino data --download`: fetches each dataset's canonical public file into
 * ~/.cache/augerino/<dataset>/, verifies its sha256 before it takes the final name, and
 * skips parts already present and valid. Failures are DataError with a one-line reason.
 * AUGERINO_DATA_URL names a mirror serving `<url>/<dataset>/<file>` in place of the
 * upstream hosts, for machines that reach only a local server (and for the tests).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot, checkDataset, DataError, firstMissing, searchDirs, sha256Of, type DatasetSpec } from "./files.ts";

export type Fetch = (url: string, init?: { signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

export interface DownloadOpts {
  /** Injected for tests; the global fetch otherwise. */
  fetch?: Fetch;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Per-file time limit in ms (default 10 minutes: MNIST's training images are ~10 MB). */
  timeoutMs?: number;
}

function reason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // Node's fetch hides the network cause (ENOTFOUND, ECONNREFUSED, ...) in `cause`.
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (e.name === "TimeoutError" || e.name === "AbortError") return "timed out";
  return cause?.code ? `${cause.code}${cause.message ? ` (${cause.message})` : ""}` : e.message;
}

/** Downloads the missing or corrupt required parts of `spec`; returns the paths written. */
export async function downloadDataset(spec: DatasetSpec, opts: DownloadOpts = {}): Promise<string[]> {
  const fetchFn: Fetch = opts.fetch ?? ((url, init) => fetch(url, init));
  const log = opts.log ?? (() => {});
  const written: string[] = [];
  const status = checkDataset(spec);
  for (const part of spec.parts) {
    const st = status.find((s) => s.role === part.role)!;
    if (st.state === "OK" || part.optional) continue;
    const variant = part.variants.find((v) => v.url);
    const mirror = process.env.AUGERINO_DATA_URL;
    const url = variant && (mirror ? `${mirror.replace(/\/+$/, "")}/${spec.name}/${variant.name}` : variant.url);
    if (!variant || !url) throw new DataError(`${spec.name}: ${part.role} has no public download; copy it into ${join(cacheRoot(), spec.name)} by hand`);
    const dir = join(cacheRoot(), spec.name);
    const dest = join(dir, variant.name);
    log(`${spec.name}: fetching ${url}`);
    let bytes: Uint8Array;
    try {
      const res = await fetchFn(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new DataError(`${spec.name}: download of ${url} failed: ${reason(e)}; check the network, or copy ${variant.name} into ${dir} (or set AUGERINO_DATA_DIR)`);
    }
    const digest = sha256Of(bytes);
    if (variant.sha256.length > 0 && !variant.sha256.includes(digest)) {
      throw new DataError(`${spec.name}: download of ${url} has sha256 ${digest.slice(0, 16)}..., expected ${variant.sha256[0].slice(0, 16)}... (${bytes.length} bytes); not saved, try again later`);
    }
    mkdirSync(dir, { recursive: true });
    // Write under a temporary name first, so an interrupted download never looks like a file.
    const tmp = `${dest}.part`;
    try {
      writeFileSync(tmp, bytes);
      renameSync(tmp, dest);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new DataError(`${spec.name}: cannot write ${dest}: ${reason(e)}`);
    }
    log(`${spec.name}: saved ${dest} (${bytes.length} bytes, sha256 verified)`);
    written.push(dest);
  }
  return written;
}

/** Downloads `spec` when one of its required files is found nowhere, so a run on a fresh machine fetches its own data. */
export async function ensureDataset(spec: DatasetSpec, opts: DownloadOpts = {}): Promise<void> {
  const part = firstMissing(spec);
  if (!part) return;
  opts.log?.(`${spec.name}: no ${part.variants.map((v) => v.name).join(" or ")} in ${searchDirs(spec.name).join(" or ")}; downloading it`);
  await downloadDataset(spec, opts);
}
