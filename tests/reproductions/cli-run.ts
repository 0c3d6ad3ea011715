/**
 * Runs the real `augerino` command in a child process, bounded by a timeout so that a hang
 * fails the test instead of stalling it, and asynchronously so that a server in the test's
 * own process can answer the child.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const bin = new URL("../../reproductions/bin.js", import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, out, err }));
  });
}

/** The lines of `s` without the trailing newline. */
export const lines = (s: string) =>
  s
    .trimEnd()
    .split("\n")
    .filter((l) => l.length > 0);

/** An HTTP server on 127.0.0.1 serving `files` by path (404 otherwise); `served` logs the paths asked for. */
export async function serveFiles(files: Record<string, Uint8Array>) {
  const served: string[] = [];
  const server = createServer((req, res) => {
    served.push(req.url ?? "");
    const body = files[req.url ?? ""];
    res.writeHead(body ? 200 : 404).end(body ?? "not found");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, served, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
