/**
 * The command line: `augerino <command> [options]`. Exit codes: 0 success, 2 bad
 * arguments, 3 missing or corrupt data, each failure with a one-line reason. Options go
 * through Node's util.parseArgs, so `--flag value`, `--flag=value` and options before or
 * after the positional arguments all work, and a missing value is an error, never the next flag.
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { DataError } from "./datasets/files.ts";

export interface Command {
  summary: string;
  /** One line, starting "usage: augerino <name>"; printed by --help and after a usage error. */
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Bad arguments: exit 2 with the message and the command's usage on one line. */
export class UsageError extends Error {}

/** `--help` or `-h` given to a command: its usage on stdout, exit 0. */
export class HelpRequest extends Error {}

const commands: Record<string, Command> = {};

/** Registers a subcommand; experiments and data tools add themselves here. */
export function defineCommand(name: string, cmd: Command): void {
  commands[name] = cmd;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The options and positionals of `args`; throws UsageError (bad option) or HelpRequest. */
export function parseFlags<const O extends Options>(args: string[], options: O) {
  let parsed;
  try {
    parsed = parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(flagProblem(e));
  }
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequest();
  return parsed;
}

/** parseArgs's errors span several lines and suggest `--`; ours name the flag and the fix in one. */
function flagProblem(e: unknown): string {
  const code = (e as { code?: string }).code ?? "";
  if (!code.startsWith("ERR_PARSE_ARGS")) throw e;
  const msg = (e as Error).message;
  const flag = /'(-[^' ]+)/.exec(msg)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option "${flag}"`;
  if (/does not take/.test(msg)) return `${flag} takes no value`;
  if (/ambiguous/.test(msg)) return `${flag} needs a value (for one that starts with "-", write ${flag}=VALUE)`;
  if (/missing/.test(msg)) return `${flag} needs a value`;
  return msg.split("\n")[0];
}

/** A whole number within [min, max], or UsageError naming the flag. */
export function intFlag(flag: string, v: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${flag} needs a whole number${min > 0 ? ` of at least ${min}` : ""}, got ${JSON.stringify(v)}`);
  return n;
}

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const consoleOutput: Output = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** The exit code for what a command threw (help, bad arguments, data), after printing its one line; anything else propagates. */
export function exitFor(e: unknown, name: string, usage: string, io: Output = consoleOutput): number {
  if (e instanceof HelpRequest) {
    io.out(usage);
    return 0;
  }
  if (e instanceof UsageError) {
    io.err(`augerino ${name}: ${e.message}; ${usage}`);
    return 2;
  }
  if (e instanceof DataError) {
    io.err(`augerino ${name}: ${e.message}`);
    return 3;
  }
  throw e;
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`);
  return [
    "usage: augerino <command> [options]   (augerino <command> --help for its options)",
    "",
    "commands:",
    ...(lines.length ? lines : ["  (none yet)"]),
    "",
    "  --help       this text",
    "  --version    the package version",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h") {
    console.log(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "--version") {
    console.log(packageVersion());
    return 0;
  }
  const c = commands[cmd];
  if (!c) {
    console.error(`augerino: unknown command "${cmd}"; known: ${Object.keys(commands).join(", ") || "none"} (see augerino --help)`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    return exitFor(e, cmd, c.usage);
  }
}
