/**
 * Every public function of np, lax, random, linalg, nn (models included), optim and aug,
 * called with wrong kinds of argument: numbers where options go, options with unknown keys,
 * strings, out-of-range axes and indices, empty and zero-size arrays, keys where data goes.
 * Under tsx nothing type-checks, so each call must either return arrays of a sane shape or
 * throw an Error whose message names the function; a bare TypeError or RangeError, a message
 * naming nothing the caller wrote, a thrown non-Error, a hang or a crash is a failure. The public
 * namespaces are wrapped by namedApi (core/options.ts), which names the function in every error
 * and turns a JS engine's TypeError from deep inside into an Error listing the arguments; those
 * calls are counted and printed, as the places where validation could say more.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, lax, random, linalg } from "../../index.ts";
import { NDArray } from "../../core/array.ts";
import * as nn from "../../nn/index.ts";
import * as optim from "../../optim/index.ts";
import * as aug from "../../augerino/index.ts";

const NAMESPACES: Record<string, object> = { np, lax, random, linalg, nn, "nn.models": nn.models, optim, aug };

/**
 * Functions left out, each for a reason a wrong argument cannot reach: they write or read files
 * at the path they are given (fuzzed by tests/fuzz/parsers.test.ts instead).
 */
const SKIP = new Set(["nn.save", "nn.load"]);

/**
 * Functions whose errors name something else the caller wrote, with why that is the clearer name.
 */
const ALIASES: Record<string, string[]> = {};

const ARGS = 4;
const RUNS_PER_FUNCTION = 40;

/** The values the arguments are drawn from: mostly wrong for any one position. */
function valuePool(): unknown[] {
  return [
    np.ones([2, 3]),
    np.array([0, 1, 2], "int32"),
    np.zeros([0]),
    np.zeros([2, 0]),
    np.array(1.5),
    np.array([true, false]),
    random.key(0),
    0,
    1,
    -1,
    2,
    99,
    -99,
    1.5,
    NaN,
    Infinity,
    2 ** 31,
    "int32",
    "bogus",
    "",
    null,
    undefined,
    true,
    [1, 2],
    [],
    [99],
    [
      [1, 2],
      [3, 4],
    ],
    { bogus: 1 },
    { axis: 99 },
    { in_axes: 0 },
    { dtype: "bogus" },
    { axis: "1" },
    {},
  ];
}

interface Violation {
  name: string;
  args: string;
  problem: string;
}

const describeArgs = (args: unknown[]) =>
  args
    .map((a) =>
      a instanceof NDArray ? `Array(${a.dtype}[${a.shape}])` : typeof a === "object" && a !== null && !globalThis.Array.isArray(a) && "shape" in a ? "Tracer" : (JSON.stringify(a) ?? String(a)),
    )
    .join(", ");

/** What is wrong with a result: an array leaf whose shape is not a list of non-negative integers. */
function badResult(v: unknown, seen = new Set<unknown>()): string | null {
  if (v instanceof NDArray) return v.shape.every((d) => Number.isInteger(d) && d >= 0) ? null : `returned an array of shape ${JSON.stringify(v.shape)}`;
  if (typeof v !== "object" || v === null || seen.has(v)) return null;
  seen.add(v);
  for (const x of Object.values(v)) {
    const bad = badResult(x, seen);
    if (bad) return bad;
  }
  return null;
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function names(qualified: string): string[] {
  const bare = qualified.slice(qualified.lastIndexOf(".") + 1);
  return [qualified, bare, snake(bare), ...(ALIASES[qualified] ?? [])];
}

/** Calls whose error is a JS engine's TypeError or RangeError that namedApi wrapped, per namespace. */
const deep: Record<string, Set<string>> = {};

async function probe(qualified: string, f: (...a: unknown[]) => unknown, args: unknown[]): Promise<Violation | null> {
  const fail = (problem: string): Violation => ({ name: qualified, args: describeArgs(args), problem });
  try {
    let out = f(...args);
    if (out instanceof Promise) out = await out;
    const bad = badResult(out);
    return bad ? fail(bad) : null;
  } catch (e) {
    if (!(e instanceof Error)) return fail(`threw a non-Error ${String(e)}`);
    if (e instanceof TypeError || e instanceof RangeError) return fail(`${e.constructor.name}: ${e.message.split("\n")[0]}`);
    if (!names(qualified).some((n) => e.message.includes(n))) return fail(`error does not name the function: ${e.message.split("\n")[0]}`);
    if (e.cause instanceof TypeError || e.cause instanceof RangeError) (deep[qualified.slice(0, qualified.lastIndexOf("."))] ??= new Set()).add(qualified);
    return null;
  }
}

describe("every public function with wrong arguments", () => {
  const pool = valuePool();
  const argLists = fc.sample(fc.array(fc.nat({ max: pool.length - 1 }), { minLength: 0, maxLength: ARGS }), { numRuns: RUNS_PER_FUNCTION, seed: 20 });
  for (const [ns, mod] of Object.entries(NAMESPACES)) {
    it(`${ns}: returns sane arrays or throws an Error naming the function`, async () => {
      const violations: Violation[] = [];
      const fns = Object.entries(mod).filter(([, v]) => typeof v === "function");
      expect(fns.length).toBeGreaterThan(0);
      for (const [name, f] of fns) {
        const qualified = `${ns}.${name}`;
        if (SKIP.has(qualified)) continue;
        // The first argument of most functions is an array: give each function one call with a good one first.
        const lists = [[0, 1], ...argLists.map((l, i) => (i % 2 ? [0, ...l] : l))];
        for (const l of lists) {
          const v = await probe(
            qualified,
            f as (...a: unknown[]) => unknown,
            l.map((i) => pool[i]),
          );
          if (v) violations.push(v);
        }
      }
      const report = violations.map((v) => `${v.name}(${v.args}): ${v.problem}`);
      if (report.length) console.log(report.join("\n"));
      if (deep[ns]) console.log(`${ns}: ${deep[ns].size} of ${fns.length} functions reached a JS TypeError/RangeError on some wrong argument (named by namedApi): ${[...deep[ns]].join(" ")}`);
      expect(report).toEqual([]);
    });
  }
});
