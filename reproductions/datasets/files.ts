/**
 * Locating dataset files and verifying them. Every dataset declares the files it needs as
 * parts, each with accepted variants (the upstream name that `augerino data --download`
 * fetches, and the names of the verified copies in the project's shared data folder).
 * A file is looked up in `$AUGERINO_DATA_DIR/<dataset>/`, then `~/.cache/augerino/<dataset>/`;
 * a missing or corrupt file throws `DataError`, which the CLI maps to exit code 3.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** A missing or corrupt data file. The message is one line: the file, what is wrong, the fix. */
export class DataError extends Error {
  override readonly name = "DataError";
}

export const FIX = "set AUGERINO_DATA_DIR to a folder holding the datasets or run `augerino data --download`";

/** One acceptable file for a part: its name, the sha256 digests it may have, where to fetch it. */
export interface FileVariant {
  name: string;
  /** Accepted sha256 digests (hex). Empty: no published digest (e.g. an uncompressed copy); the parser's checks still apply. */
  sha256: string[];
  /** Canonical public URL; the variant `augerino data --download` fetches. */
  url?: string;
  /** What this variant is, for `augerino data --check`. */
  note?: string;
}

/** A file a dataset needs, with the variants that can stand for it (first found wins). */
export interface FilePart {
  role: string;
  variants: FileVariant[];
  /** Optional parts are used when present (and then verified) but not required. */
  optional?: boolean;
}

export interface DatasetSpec {
  /** Also the folder name under the data directories. */
  name: string;
  description: string;
  parts: FilePart[];
}

/** The folders searched for `dataset`, in order: $AUGERINO_DATA_DIR/<dataset>, then ~/.cache/augerino/<dataset>. */
export function searchDirs(dataset: string): string[] {
  const dirs: string[] = [];
  const env = process.env.AUGERINO_DATA_DIR;
  if (env) dirs.push(join(env, dataset));
  dirs.push(join(cacheRoot(), dataset));
  return dirs;
}

/** Where `augerino data --download` writes: ~/.cache/augerino. */
export function cacheRoot(): string {
  return join(homedir(), ".cache", "augerino");
}

export interface Located {
  path: string;
  variant: FileVariant;
}

/** The first existing file for a part (dirs outer, variants inner), or null. */
export function locate(dataset: string, part: FilePart): Located | null {
  for (const dir of searchDirs(dataset)) {
    for (const variant of part.variants) {
      const path = join(dir, variant.name);
      if (existsSync(path)) return { path, variant };
    }
  }
  return null;
}

export function missingMessage(spec: DatasetSpec, part: FilePart): string {
  const names = part.variants.map((v) => v.name).join(" or ");
  return `${spec.name}: ${part.role} missing: no ${names} in ${searchDirs(spec.name).join(" or ")}; ${FIX}`;
}

// Digest per path, valid while size and mtime are unchanged: hashing ~10 MB is cheap next
// to training but not free, and several builders read the same files.
const verified = new Map<string, { size: number; mtimeMs: number; digest: string }>();

export function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Problems with a located file's checksum, or null when it matches (or there is no published digest). */
function checksumProblem(loc: Located, bytes: Uint8Array | null): { problem: string | null; bytes: Uint8Array | null } {
  if (loc.variant.sha256.length === 0) return { problem: null, bytes };
  const st = statSync(loc.path);
  const cached = verified.get(loc.path);
  let digest: string;
  if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) digest = cached.digest;
  else {
    bytes ??= readFileSync(loc.path);
    digest = sha256Of(bytes);
    verified.set(loc.path, { size: st.size, mtimeMs: st.mtimeMs, digest });
  }
  if (loc.variant.sha256.includes(digest)) return { problem: null, bytes };
  return { problem: `checksum mismatch (sha256 ${digest.slice(0, 16)}..., expected ${loc.variant.sha256.map((d) => d.slice(0, 16) + "...").join(" or ")}; truncated or altered?)`, bytes };
}

/** The one-line message for a corrupt file. */
export function corruptMessage(dataset: string, path: string, problem: string): string {
  return `${dataset}: ${path} is corrupt: ${problem}; delete or replace it (${FIX})`;
}

/** Reads a part's file after checking its checksum (once per process). Throws DataError. */
export function readPart(spec: DatasetSpec, role: string): { bytes: Uint8Array; path: string; variant: FileVariant } | null {
  const part = spec.parts.find((p) => p.role === role);
  if (!part) throw new Error(`readPart: dataset ${spec.name} has no part "${role}"`);
  const loc = locate(spec.name, part);
  if (!loc) {
    if (part.optional) return null;
    throw new DataError(missingMessage(spec, part));
  }
  const { problem, bytes } = checksumProblem(loc, null);
  if (problem) throw new DataError(corruptMessage(spec.name, loc.path, problem));
  return { bytes: bytes ?? readFileSync(loc.path), path: loc.path, variant: loc.variant };
}

/** The first required part of `spec` found nowhere, if any. */
export function firstMissing(spec: DatasetSpec): FilePart | undefined {
  return spec.parts.find((part) => !part.optional && !locate(spec.name, part));
}

/** Throws DataError naming the first required file of `spec` found nowhere (contents are verified when read). */
export function requirePresent(spec: DatasetSpec): void {
  const part = firstMissing(spec);
  if (part) throw new DataError(missingMessage(spec, part));
}

export type PartStatus = { role: string; state: "OK" | "missing" | "corrupt" | "absent"; path?: string; detail?: string };

/**
 * The state of each part of a dataset: checksum, and `validate` (the parser's structural
 * check: magic, header, length) when given, so `--check` catches what loading would.
 */
export function checkDataset(spec: DatasetSpec, validate?: (role: string, bytes: Uint8Array, path: string) => void): PartStatus[] {
  return spec.parts.map((part): PartStatus => {
    const loc = locate(spec.name, part);
    if (!loc)
      return part.optional
        ? { role: part.role, state: "absent", detail: `optional: ${part.variants.map((v) => v.note ?? v.name).join(", ")}` }
        : { role: part.role, state: "missing", detail: missingMessage(spec, part) };
    try {
      const { problem, bytes } = checksumProblem(loc, null);
      if (problem) return { role: part.role, state: "corrupt", path: loc.path, detail: problem };
      if (validate) validate(part.role, bytes ?? readFileSync(loc.path), loc.path);
      return { role: part.role, state: "OK", path: loc.path, detail: loc.variant.note };
    } catch (e) {
      return { role: part.role, state: "corrupt", path: loc.path, detail: e instanceof Error ? e.message : String(e) };
    }
  });
}
