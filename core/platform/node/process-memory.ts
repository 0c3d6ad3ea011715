/**
 * The process's memory mappings against Linux's limit, and a way to force a full
 * collection: what webgpu/mappings.ts's guard watches in Node.
 */
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isFinite(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** The number of memory mappings of this process (lines of /proc/self/maps), or null where unknown. */
export function processMappings(): number | null {
  try {
    const text = readFileSync("/proc/self/maps");
    let lines = 0;
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lines++;
    return lines;
  } catch {
    return null;
  }
}

/**
 * A full collection: node's `gc` when run with --expose-gc, otherwise one made available
 * through V8's flags (the way test runners' leak detectors get it); null if neither works.
 */
export function fullCollection(): (() => void) | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return null;
  }
}

/** The kernel's limit on mappings per process (vm.max_map_count), or null where unknown. */
export function mappingLimit(): number | null {
  return readNumber("/proc/sys/vm/max_map_count");
}
