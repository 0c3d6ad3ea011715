/**
 * vitest (or Jest) matchers over the properties: install once with
 * `expect.extend(check.matchers)`, then `await expect(f).toBeInvariantUnder(group, { inputs })`.
 * They run fast-check and, on failure, print the shrunk counterexample: the input (shape
 * and seed), the group element, and the error against the tolerance.
 */
import fc from "fast-check";
import { checkOptions } from "../core/options.ts";
import type { GroupElement } from "./arbitraries.ts";
import type { Group } from "./groups.ts";
import { equivariant, invariant, InvarianceViolation, type PropertyOpts } from "./properties.ts";

export interface MatcherOpts<X = unknown> extends PropertyOpts {
  /** What f is checked on: an arbitrary (check.arb.image(), ...) or one fixed batch. */
  inputs: fc.Arbitrary<X> | X;
  /** fast-check runs (default 50). */
  numRuns?: number;
  /** fast-check seed, to replay a failure (default: fast-check's, printed on failure). */
  seed?: number;
}
const MATCHER_KEYS = ["inputs", "tol", "reduce", "numRuns", "seed"] as const;

interface Verdict {
  pass: boolean;
  message: () => string;
}

async function verdict(op: string, subject: string, prop: fc.IAsyncProperty<[unknown, GroupElement]>, opts: MatcherOpts): Promise<Verdict> {
  const d = await fc.check(prop, { numRuns: opts.numRuns ?? 50, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  if (!d.failed) {
    return { pass: true, message: () => `expected f not to be ${subject}, but no counterexample was found in ${d.numRuns} runs (seed ${d.seed})` };
  }
  const v = d.errorInstance;
  // Anything but a violation (f threw, shapes differ) is a broken test, whichever way the matcher is negated.
  if (!(v instanceof InvarianceViolation)) {
    throw new Error(
      `${op}: f failed on ${d.counterexample ? fc.stringify(d.counterexample[0]) : "an input"}${d.counterexample ? ` with g = ${d.counterexample[1].label}` : ""}: ${v instanceof Error ? v.message : String(v)}`,
      { cause: v },
    );
  }
  const [x, g] = d.counterexample!;
  const lines = [
    `expected f to be ${subject} within tol ${v.tol}, but it is not:`,
    `  input:   ${fc.stringify(x)}`,
    `  element: ${g.label}`,
    `  error:   ${v.error.toPrecision(4)} > tol ${v.tol} (${opts.reduce ?? "max"} |difference| over an example's outputs)`,
    `  found after ${d.numRuns} run(s), shrunk ${d.numShrinks} time(s); replay with { seed: ${d.seed}, path: "${d.counterexamplePath}" }`,
  ];
  return { pass: false, message: () => lines.join("\n") };
}

function matcherOpts(op: string, opts: MatcherOpts): { property: PropertyOpts; run: MatcherOpts } {
  checkOptions(op, opts, MATCHER_KEYS);
  if (!opts || !("inputs" in opts)) throw new Error(`${op}: give { inputs }: an arbitrary (check.arb.image(), check.arb.pointCloud(), ...) or a fixed batch`);
  const { tol, reduce } = opts;
  return { property: { ...(tol !== undefined ? { tol } : {}), ...(reduce !== undefined ? { reduce } : {}) }, run: opts };
}

/**
 * The matchers, for `expect.extend(check.matchers)`.
 * @example
 * expect.extend(check.matchers);
 * await expect(averaged).toBeInvariantUnder(check.groups.c4(), { inputs: check.arb.image({ size: [2, 6] }) });
 */
export const matchers = {
  async toBeInvariantUnder(received: unknown, group: AnyGroup, opts: MatcherOpts): Promise<Verdict> {
    const op = "toBeInvariantUnder";
    const o = matcherOpts(op, opts);
    return verdict(op, `invariant under ${group?.name}`, invariant(received as (x: unknown) => unknown, group, o.run.inputs, o.property), o.run);
  },
  async toBeEquivariantUnder(received: unknown, groupIn: AnyGroup, groupOut: AnyGroup, opts: MatcherOpts): Promise<Verdict> {
    const op = "toBeEquivariantUnder";
    const o = matcherOpts(op, opts);
    return verdict(
      op,
      `equivariant under ${groupIn?.name} (acting on outputs as ${groupOut?.name})`,
      equivariant(received as (x: unknown) => unknown, groupIn, groupOut, o.run.inputs, o.property),
      o.run,
    );
  },
};

// The input and output types are the user's model's; `expect(f)` does not carry them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
type AnyGroup = Group<any>;

interface InvarianceMatchers<R = unknown> {
  /** f(g x) = f(x) within tol, for g in `group` and inputs from `opts.inputs` (a fast-check run). */
  toBeInvariantUnder(group: AnyGroup, opts: MatcherOpts): Promise<R>;
  /** f(g x) = g f(x) within tol, `groupIn` acting on inputs and `groupOut` on outputs. */
  toBeEquivariantUnder(groupIn: AnyGroup, groupOut: AnyGroup, opts: MatcherOpts): Promise<R>;
}

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any -- an interface merge is how vitest takes custom matchers' types, and a merge repeats vitest's own `T = any`
  interface Matchers<T = any> extends InvarianceMatchers<T> {}
}
