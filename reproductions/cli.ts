/**
 * The command line: `augerino <command> [options]`. Exit codes: 0 success, 2 bad
 * arguments, 3 missing or corrupt data.
 */
import { readFileSync } from "node:fs";

type Command = { summary: string; run(args: string[]): Promise<number> };

const commands: Record<string, Command> = {};

/** Registers a subcommand; experiments and data tools add themselves here. */
export function defineCommand(name: string, cmd: Command): void {
  commands[name] = cmd;
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`);
  return ["usage: augerino <command> [options]", "", "commands:", ...(lines.length ? lines : ["  (none yet)"]), "", "  --help       this text", "  --version    the package version"].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h") {
    console.log(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "--version") {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    console.log(pkg.version);
    return 0;
  }
  const c = commands[cmd];
  if (!c) {
    console.error(`augerino: unknown command "${cmd}"; known: ${Object.keys(commands).join(", ") || "none"} (see augerino --help)`);
    return 2;
  }
  return c.run(rest);
}
