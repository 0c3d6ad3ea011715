/** The CLI entry: registers every command, then dispatches. */
// One at a time, so `augerino --help` lists them in this order (static imports settle in
// whatever order their top-level awaits finish).
await import("./reproduce-command.ts");
await import("./data-command.ts");
await import("./bench-command.ts");
await import("./sweep-command.ts");
export { main } from "./cli.ts";
