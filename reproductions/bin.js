#!/usr/bin/env node
// The `augerino` command. The library is TypeScript run without a build step, so load tsx first.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Bad input is reported by the commands; what reaches here is a bug: one line, and the stack on request.
  console.error(`augerino: internal error: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}${process.env.AUGERINO_DEBUG ? `\n${e?.stack ?? ""}` : " (AUGERINO_DEBUG=1 shows the stack)"}`);
  // Worker threads (the CPU backend's pool) would keep a failed run alive.
  process.exit(1);
}
