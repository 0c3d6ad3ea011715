/**
 * Checks an options object against the keys a function accepts. Under tsx nothing
 * type-checks, so a misspelt key (`{ in_axes }`, `{ tolerance }`) would otherwise be
 * ignored and the call would silently do something else.
 */

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Throws when `opts` is not a plain object or has a key outside `allowed`; the message names
 * the function, the key and the accepted keys (and the camelCase name of a snake_case key).
 * @example checkOptions("check.invarianceError", opts, ["samples", "key"]);
 */
export function checkOptions(op: string, opts: unknown, allowed: readonly string[]): void {
  if (opts === undefined) return;
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) {
    throw new Error(`${op}: options must be an object with keys among {${allowed.join(", ")}}, got ${Array.isArray(opts) ? "an array" : String(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (allowed.includes(key)) continue;
    const hint = camel(key) !== key && allowed.includes(camel(key)) ? ` (did you mean "${camel(key)}"?)` : "";
    throw new Error(`${op}: unknown option "${key}"${hint}; accepted: ${allowed.join(", ")}`);
  }
}
