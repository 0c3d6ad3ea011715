/**
 * `--set key=value`: overrides of an experiment's configuration fields. The defaults object
 * is the schema: a key must be one of its fields, and the value is parsed by the type of
 * the default there, so an experiment needs no separate description of its settings.
 */
import { UsageError } from "./cli.ts";

export type Overrides = Record<string, string>;

// String fields whose values the training loop knows (TrainConfig's unions): anything else would fail mid-run.
const CHOICES: Record<string, readonly string[]> = { reg: ["norm", "sqnorm"], schedule: ["constant", "cosine"] };

const isNumberList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

/** The fields a `--set` may change: numbers, booleans, strings and lists of numbers (objects are structure, not settings). */
export function overridableKeys(defaults: object): string[] {
  return Object.entries(defaults)
    .filter(([, v]) => ["number", "boolean", "string"].includes(typeof v) || isNumberList(v))
    .map(([k]) => k);
}

/** `["a=1", "b=x"]` -> `{ a: "1", b: "x" }`; UsageError for an entry without `=` or a key given twice. */
export function parseAssignments(flag: string, entries: string[] = []): Overrides {
  const out: Overrides = {};
  for (const e of entries) {
    const m = /^([^=]+)=(.*)$/.exec(e);
    if (!m) throw new UsageError(`--${flag} needs key=value, got ${JSON.stringify(e)}`);
    if (m[1] in out) throw new UsageError(`--${flag} ${m[1]} is given twice`);
    out[m[1]] = m[2];
  }
  return out;
}

function parseNumber(key: string, s: string, keys: string): number {
  const n = s.trim() === "" ? NaN : Number(s);
  if (!Number.isFinite(n)) throw new UsageError(`--set ${key} needs a number, got ${JSON.stringify(s)} (valid keys: ${keys})`);
  return n;
}

/** One value parsed by the type of its default; UsageError naming the key and the valid keys otherwise. */
function parseValue(key: string, raw: string, def: unknown, keys: string): unknown {
  if (typeof def === "number") return parseNumber(key, raw, keys);
  if (typeof def === "boolean") {
    if (raw !== "true" && raw !== "false") throw new UsageError(`--set ${key} needs true or false, got ${JSON.stringify(raw)} (valid keys: ${keys})`);
    return raw === "true";
  }
  if (isNumberList(def)) return raw.split(",").map((s) => parseNumber(key, s, keys));
  const choices = CHOICES[key];
  if (choices ? !choices.includes(raw) : raw === "")
    throw new UsageError(`--set ${key} needs ${choices ? `one of ${choices.join(", ")}` : "a value"}, got ${JSON.stringify(raw)} (valid keys: ${keys})`);
  return raw;
}

/** The parsed values of `overrides`, checked against the fields of `defaults`. */
export function parseOverrides(defaults: object, overrides: Overrides = {}): Record<string, unknown> {
  const valid = overridableKeys(defaults);
  const keys = valid.join(", ");
  const parsed: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(overrides)) {
    if (!valid.includes(key)) throw new UsageError(`--set: unknown key "${key}" (valid keys: ${keys})`);
    parsed[key] = parseValue(key, raw, (defaults as Record<string, unknown>)[key], keys);
  }
  return parsed;
}

/** `defaults` with `overrides` applied (the same type: every value was parsed by its default's). */
export function withOverrides<T extends object>(defaults: T, overrides?: Overrides): T {
  return { ...defaults, ...parseOverrides(defaults, overrides) };
}
