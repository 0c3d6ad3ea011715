#!/usr/bin/env node
// The `augerino` command. The library is TypeScript run without a build step, so load tsx first.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
