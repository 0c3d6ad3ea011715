/**
 * Checks an options object against the keys a function accepts, and turns the positional
 * forms NumPy and JAX users write (`np.sum(x, 1)`, `grad(f, 1)`, `np.ones([2], "int32")`)
 * into the same options object. Under tsx nothing type-checks, so a misspelt key
 * (`{ in_axes }`, `{ axes: 1 }`) or a positional argument read as an options object would
 * otherwise be ignored and the call would silently do something else.
 */

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A short description of a value for error messages (`string "1"`, `an array`, `3`). */
export function describeArg(v: unknown): string {
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  if (Array.isArray(v)) return `an array ${safeJson(v)}`;
  if (typeof v === "function") return "a function";
  if (typeof v === "object" && v !== null && !isPlainObject(v)) return `a ${v.constructor?.name ?? "object"}`;
  return typeof v === "object" && v !== null ? safeJson(v) : String(v);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v).slice(0, 80);
  } catch {
    return String(v);
  }
}

/** A `{...}` literal (or Object.create(null)): what an options object is; arrays and arrays-of-numbers are not. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  // Any realm's Object.prototype (vitest may run code in a vm context), or none.
  const proto = Object.getPrototypeOf(v);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/**
 * Throws when `opts` is not a plain object or has a key outside `allowed`; the message names
 * the function, the key and the accepted keys (and the camelCase name of a snake_case key).
 * @example checkOptions("check.invarianceError", opts, ["samples", "key"]);
 */
export function checkOptions(op: string, opts: unknown, allowed: readonly string[]): void {
  if (opts === undefined) return;
  if (!isPlainObject(opts)) {
    throw new Error(`${op}: options must be an object with keys among {${allowed.join(", ")}}, got ${describeArg(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (allowed.includes(key)) continue;
    const hint = camel(key) !== key && allowed.includes(camel(key)) ? ` (did you mean "${camel(key)}"?)` : "";
    throw new Error(`${op}: unknown option "${key}"${hint}; accepted: ${allowed.join(", ")}`);
  }
}

/** A positional form an options argument may take instead: which key it fills and how to recognise it. */
export interface Positional {
  key: string;
  /** What the positional value is, for error messages ("an axis (a number or a list of numbers)"). */
  what: string;
  is(v: unknown): boolean;
}

const isInt = (v: unknown) => typeof v === "number" && Number.isInteger(v);

/** An axis or list of axes; null means every axis (NumPy's `axis=None`). */
export const AXES: Positional = { key: "axis", what: "an axis (a number, a list of numbers or null)", is: (v) => v === null || isInt(v) || (Array.isArray(v) && v.every(isInt)) };
/** A single axis (stack, split, ...). */
export const AXIS: Positional = { key: "axis", what: "an axis (a number)", is: isInt };
/** A single axis, or null where the function then works on the flattened array (argmax, take, sort). */
export const AXIS_OR_NONE: Positional = { key: "axis", what: "an axis (a number or null)", is: (v) => v === null || isInt(v) };
export const DTYPE: Positional = { key: "dtype", what: 'a dtype ("float32", "int32", ...)', is: (v) => typeof v === "string" };
export const ARGNUMS: Positional = { key: "argnums", what: "argnums (a number or a list of numbers)", is: (v) => isInt(v) || (Array.isArray(v) && v.every(isInt)) };
/** vmap's in_axes: a number, null, or a list with one entry per argument (JAX rejects a dict at the top). */
export const IN_AXES: Positional = { key: "inAxes", what: "inAxes (a number, null or a list with one entry per argument)", is: (v) => v === null || isInt(v) || Array.isArray(v) };

/**
 * The options object of a function whose argument `arg` is either that object or the
 * positional form JAX/NumPy users write; `rest` is a later options object that may follow
 * a positional value (`np.sum(x, 1, { keepdims: true })`). Every object is checked with
 * checkOptions; anything else (a string where an axis goes) is an error naming `op`.
 * @example const o = optionsOf<AxisOpts>("sum", axisOrOpts, ["axis", "keepdims"], AXES, opts);
 */
export function optionsOf<T extends object>(op: string, arg: unknown, allowed: readonly string[], positional?: Positional, rest?: unknown): T {
  // `np.sum(x, undefined, { keepdims })` leaves the positional value out but still gives the options after it.
  if (positional && (arg === undefined ? rest !== undefined : positional.is(arg))) {
    checkOptions(
      op,
      rest,
      allowed.filter((k) => k !== positional.key),
    );
    return (arg === undefined ? { ...(rest as object) } : { ...(rest as object), [positional.key]: arg }) as T;
  }
  if (arg !== undefined && !isPlainObject(arg)) {
    const form = positional ? `${positional.what} or ` : "";
    throw new Error(`${op}: expected ${form}an options object with keys among {${allowed.join(", ")}}, got ${describeArg(arg)}`);
  }
  checkOptions(op, arg, allowed);
  if (rest !== undefined) throw new Error(`${op}: options given twice (${describeArg(arg)} and ${describeArg(rest)}); pass one options object`);
  return (arg ?? {}) as T;
}

/**
 * Throws unless `value` is one of `choices` (or undefined, for the default): a string option
 * such as `reg: "sq_norm"` must not silently select the default.
 * @example checkChoice("aug.loss", "reg", opts.reg, ["norm", "sqnorm"]);
 */
export function checkChoice(op: string, name: string, value: unknown, choices: readonly unknown[]): void {
  if (value !== undefined && !choices.includes(value)) {
    throw new Error(`${op}: ${name} must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, got ${describeArg(value)}`);
  }
}

/** An error from inside `op` (a deep TypeError, a primitive's message), as one that names `op`. */
function namingError(op: string, bare: string, e: unknown, args: unknown[]): unknown {
  if (!(e instanceof Error)) return new Error(`${op}: threw ${describeArg(e)}`);
  if (e.message.includes(bare) && !(e instanceof TypeError || e instanceof RangeError)) return e;
  if (e instanceof TypeError || e instanceof RangeError) {
    // A JS engine's message ("x.every is not a function") says where, not what was wrong: add the arguments.
    return new Error(`${op}: invalid arguments (${args.map(describeArg).join(", ")}): ${e.message}`, { cause: e });
  }
  // Keep the class (DataError and others are caught by kind); a primitive's name alone does not say which call.
  e.message = `${op}: ${e.message}`;
  return e;
}

/**
 * The functions of a public namespace (np, lax, random, linalg), each throwing only Errors whose
 * message names it: under tsx a wrong argument reaches code that assumed the right kind and
 * fails there, naming an internal function or none. Values that are not functions are kept.
 * @example export const np = namedApi("np", npModule);
 */
export function namedApi<T extends object>(ns: string, mod: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(mod)) {
    if (typeof f !== "function" || /^class\b/.test(Function.prototype.toString.call(f))) {
      out[name] = f;
      continue;
    }
    const op = `${ns}.${name}`;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      try {
        const r = f.apply(this, args);
        return r instanceof Promise ? r.catch((e) => Promise.reject(namingError(op, name, e, args))) : r;
      } catch (e) {
        throw namingError(op, name, e, args);
      }
    };
    Object.defineProperty(wrapped, "name", { value: name });
    out[name] = Object.assign(wrapped, f);
  }
  return out as T;
}
