// Property tests draw from a fixed seed so CI runs are reproducible; FC_SEED=<n> explores others
// (fast-check prints the seed and path of any counterexample it finds).
import fc from "fast-check";

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261124) });
