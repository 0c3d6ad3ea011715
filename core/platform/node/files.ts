/** Whole-file reads and crash-safe writes, for checkpoints (nn/checkpoint.ts). */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export async function readFileBytes(path: string): Promise<Uint8Array> {
  return readFile(path);
}

/** Writes beside the target and renames, so a crash never leaves half a file. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}
