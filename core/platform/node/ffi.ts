/** koffi, the optional FFI package that the platform BLAS path loads native libraries with. */
import { createRequire } from "node:module";

/** The koffi module, or why it did not load. */
export function loadFfi<K>(): { koffi: K } | { error: string } {
  try {
    return { koffi: createRequire(import.meta.url)("koffi") as K };
  } catch (e) {
    return { error: `the optional FFI package koffi did not load (${(e as Error).message.split("\n")[0]})` };
  }
}
