/**
 * Training checkpoints and the run journal. A checkpoint records the package version and
 * hashes of the training configuration and of the code, because a run resumed from one
 * that other code or other settings made would silently mix two experiments: a mismatch
 * starts fresh with a one-line notice. The journal keeps this process's resumes and the
 * run's time across sessions, for report.md.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as nn from "../nn/index.ts";
import { packageVersion } from "./cli.ts";

export interface Stamp {
  version: string;
  configHash: string;
  codeHash: string;
}

interface Meta<H> extends Partial<Stamp> {
  epoch: number;
  history: H[];
  /** The whole run's time when this was written, earlier sessions included. */
  runSeconds?: number;
}

export interface Resume {
  label: string;
  epoch: number;
  epochs: number;
  /** Set when the checkpoint was made by other code and `--resume-other-code` let it continue: the two code hashes. */
  codeChange?: { from: string; to: string };
}

const sha256 = (s: string | Uint8Array) => createHash("sha256").update(s).digest("hex");

// Everything that can change what training computes: the library and the reproductions.
const CODE_DIRS = ["core", "transforms", "nn", "optim", "augerino", "reproductions"];
let codeHash: string | undefined;

function hashCode(): string {
  const root = new URL("..", import.meta.url).pathname;
  const h = createHash("sha256");
  for (const dir of CODE_DIRS) {
    const files = (readdirSync(join(root, dir), { recursive: true }) as string[]).filter((f) => /\.[cm]?[jt]s$/.test(f)).sort();
    for (const f of files)
      h.update(`${dir}/${f}\0`)
        .update(readFileSync(join(root, dir, f)))
        .update("\0");
  }
  return h.digest("hex");
}

/** The stamp of a training run whose configuration serialises to `configKey`. */
export function stampOf(configKey: string): Stamp {
  codeHash ??= hashCode();
  return { version: packageVersion(), configHash: sha256(configKey), codeHash };
}

/** Why a checkpoint with `meta` cannot continue a run stamped `now` of `epochs` epochs, or null when it can. */
function mismatch(meta: Meta<unknown>, now: Stamp, epochs: number): string | null {
  if (!meta.version) return "it was made by an older augerino that recorded no version";
  if (meta.version !== now.version) return `it was made by augerino ${meta.version}, this is ${now.version}`;
  if (meta.codeHash !== now.codeHash && !journal.otherCode) return `it was made by other code (code hash ${meta.codeHash?.slice(0, 12)}, now ${now.codeHash.slice(0, 12)})`;
  if (meta.configHash !== now.configHash) return "it was made with another configuration";
  if (meta.epoch > epochs) return `it is past this run's ${epochs} epochs`;
  return null;
}

const journal = { start: Date.now(), carried: 0, resumes: [] as Resume[], otherCode: false };

/**
 * Starts the journal of a run (the CLI does, once per process). `otherCode` lets a checkpoint
 * that other code of the same package version made continue the run (`--resume-other-code`,
 * for long runs that span library changes); the configuration must still match, and the
 * change of code is recorded with the resume, for report.md.
 */
export function beginRun(opts: { otherCode?: boolean } = {}): void {
  Object.assign(journal, { start: Date.now(), carried: 0, resumes: [], otherCode: opts.otherCode ?? false });
}

/** The whole run's time so far: this session plus what resumed checkpoints recorded. */
export function runSeconds(): number {
  return journal.carried + (Date.now() - journal.start) / 1000;
}

/** The trainings of this run that continued from a checkpoint. */
export function runResumes(): Resume[] {
  return [...journal.resumes];
}

function readMeta<H>(path: string): Meta<H> | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

const files = (dir: string) => ({ json: join(dir, "checkpoint.json"), tensors: join(dir, "checkpoint.safetensors") });

/** The state and history saved in `dir` when its stamp matches; otherwise undefined, with a notice when one was there. */
export async function loadCheckpoint<S, H>(dir: string, stamp: Stamp, epochs: number, progressLabel: string, quiet = false): Promise<{ state: S; epoch: number; history: H[] } | undefined> {
  const f = files(dir);
  // Progress labels are padded to line up their bars.
  const label = progressLabel.trim();
  if (!existsSync(f.json) || !existsSync(f.tensors)) return undefined;
  const meta = readMeta<H>(f.json);
  const why = meta ? mismatch(meta, stamp, epochs) : "its checkpoint.json is unreadable";
  if (!meta || why) {
    process.stderr.write(`${label}: not resuming from ${dir}: ${why}; starting fresh\n`);
    return undefined;
  }
  const state = (await nn.load(f.tensors)) as S;
  journal.carried = Math.max(journal.carried, meta.runSeconds ?? 0);
  const codeChange = meta.codeHash !== stamp.codeHash ? { from: meta.codeHash ?? "", to: stamp.codeHash } : undefined;
  journal.resumes.push({ label, epoch: meta.epoch, epochs, ...(codeChange && { codeChange }) });
  const onOther = codeChange ? ` (made by other code, hash ${codeChange.from.slice(0, 12)}, now ${codeChange.to.slice(0, 12)}: --resume-other-code)` : "";
  if (!quiet) process.stderr.write(`${label}: resuming from the checkpoint after epoch ${meta.epoch} of ${epochs}${onOther}\n`);
  return { state, epoch: meta.epoch, history: meta.history };
}

export async function saveCheckpoint<H>(dir: string, stamp: Stamp, epoch: number, history: H[], state: unknown): Promise<void> {
  const f = files(dir);
  mkdirSync(dir, { recursive: true });
  await nn.save(f.tensors, state as Parameters<typeof nn.save>[1]);
  const meta: Meta<H> = { ...stamp, epoch, history, runSeconds: runSeconds() };
  writeFileSync(f.json, JSON.stringify(meta));
}
