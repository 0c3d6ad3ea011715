/** The CLI entry: registers every command, then dispatches. */
import "./reproduce-command.ts";
import "./data-command.ts";
export { main } from "./cli.ts";
