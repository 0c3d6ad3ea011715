// Property tests draw from a fixed seed so CI runs are reproducible; FC_SEED=<n> explores others
// (fast-check prints the seed and path of any counterexample it finds).
import fc from "fast-check";
import { beforeEach } from "vitest";
// Starts the project's backend (AUGERINO_BACKEND) and makes it the default.
import { backendSkipReason, testBackend } from "./backend-under-test.ts";

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261124) });

if (backendSkipReason !== null) {
  const note = `${testBackend} cannot start here: ${backendSkipReason}`;
  beforeEach((ctx) => ctx.skip(note));
}
