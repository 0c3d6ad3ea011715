/**
 * The library's settings from the environment (AUGERINO_THREADS, AUGERINO_WASM, ...) and
 * its warnings, in one place that works in Node and in a browser. In a browser there is
 * no `process`: settings come from `globalThis.AUGERINO_ENV` when a page defines it.
 *
 *   globalThis.AUGERINO_ENV = { AUGERINO_THREADS: "2" };   // in a page, before importing
 *   envVar("AUGERINO_THREADS");                            // "2", or undefined
 */

interface NodeProcess {
  env: Record<string, string | undefined>;
  pid: number;
  on(event: "exit", listener: () => void): void;
  emitWarning(message: string): void;
  stderr: { write(text: string): void };
  versions?: { node?: string };
  platform: string;
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process;
/** True under Node (not in a browser, where bundlers may define a bare `process`). */
export const isNode = typeof nodeProcess?.versions?.node === "string";

/** One setting: from the process environment in Node, from `globalThis.AUGERINO_ENV` elsewhere. */
export function envVar(name: string): string | undefined {
  if (isNode) return nodeProcess!.env[name];
  return (globalThis as { AUGERINO_ENV?: Record<string, string | undefined> }).AUGERINO_ENV?.[name];
}

/** A warning the user should see once: Node's warning channel, or the browser console. */
export function warn(message: string): void {
  if (isNode) nodeProcess!.emitWarning(message);
  else console.warn(message);
}

/** A diagnostic line (profiles, shader errors): stderr in Node, the console elsewhere. */
export function printDiagnostic(text: string): void {
  if (isNode) nodeProcess!.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
  else console.info(text);
}

/** Runs `fn` when the process exits (Node) or the page is hidden for good (browser). */
export function atExit(fn: () => void): void {
  if (isNode) nodeProcess!.on("exit", fn);
  else (globalThis as { addEventListener?: (e: string, f: () => void) => void }).addEventListener?.("pagehide", fn);
}

/** Node's `process.platform` ("linux", "darwin", "win32"), or "browser". */
export function platformName(): string {
  return isNode ? nodeProcess!.platform : "browser";
}
