/** Jacobians and Hessians built from jvp, vjp and vmap. */
import { asArray } from "../core/convert.ts";
import type { Tracer } from "../core/tracer.ts";
import { eye } from "../core/np/creation.ts";
import { moveaxis, reshape } from "../core/primitives/shape.ts";
import { jvp } from "./jvp.ts";
import { vjp } from "./vjp.ts";
import { vmap } from "./vmap.ts";
import { ARGNUMS, optionsOf } from "../core/options.ts";

type ArgnumArg = number | { argnums?: number };

/** `jacfwd(f, 1)` or `jacfwd(f, { argnums: 1 })`; one argument only (a list would need a tuple of Jacobians). */
function argnumOf(op: string, arg: unknown): number {
  const { argnums = 0 } = optionsOf<{ argnums?: unknown }>(op, arg, ["argnums"], ARGNUMS);
  if (!Number.isInteger(argnums) || (argnums as number) < 0) throw new Error(`${op}: argnums must be one non-negative integer, got ${JSON.stringify(argnums)}`);
  return argnums as number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a user's callback gets `any` parameters from this signature; `never` or `unknown` would reject `(x) => x.mul(2)`
type Fn = (...args: any[]) => Tracer;

function withArg(args: unknown[], argnum: number, x: Tracer): unknown[] {
  const full = [...args];
  full[argnum] = x;
  return full;
}

/**
 * Forward-mode Jacobian of an array function: shape out.shape + x.shape.
 * @example jacfwd((x) => np.sin(x))(x) // diag(cos x)
 */
export function jacfwd(f: Fn, argnumsOrOpts?: ArgnumArg) {
  const argnum = argnumOf("jacfwd", argnumsOrOpts);
  return (...args: unknown[]): Tracer => {
    const x = asArray(args[argnum] as never);
    const basis = reshape(eye(x.size, x.size, { dtype: x.dtype }), [x.size, ...x.shape]);
    const g = (xv: Tracer) => f(...withArg(args, argnum, xv));
    const cols = vmap((t: Tracer) => jvp(g, [x], [t])[1] as Tracer)(basis);
    return moveaxis(cols, 0, cols.ndim - 1).reshape([...cols.shape.slice(1), ...x.shape]);
  };
}

/**
 * Reverse-mode Jacobian of an array function: shape out.shape + x.shape.
 * @example jacrev((x) => x.mul(x))(x) // diag(2x)
 */
export function jacrev(f: Fn, argnumsOrOpts?: ArgnumArg) {
  const argnum = argnumOf("jacrev", argnumsOrOpts);
  return (...args: unknown[]): Tracer => {
    const x = asArray(args[argnum] as never);
    const [y, back] = vjp((xv: Tracer) => f(...withArg(args, argnum, xv)), x);
    const basis = reshape(eye(y.size, y.size, { dtype: y.dtype }), [y.size, ...y.shape]);
    const rows = vmap((ct: Tracer) => back(ct)[0] as Tracer)(basis);
    return reshape(rows, [...y.shape, ...x.shape]);
  };
}

/** Hessian of a scalar function: jacfwd of jacrev. */
export function hessian(f: Fn, argnumsOrOpts?: ArgnumArg) {
  const argnums = argnumOf("hessian", argnumsOrOpts);
  return jacfwd(jacrev(f, argnums), argnums);
}
