/**
 * Common subexpression elimination before fusion: an equation repeating an earlier one
 * (same primitive, same parameters, same input variables) reads its outputs from the
 * earlier one instead. Autodiff and library code often compute a value twice (batch norm's
 * mean inside np.var and again for the normalisation; x - mean twice), and each copy would
 * otherwise be a pass over memory of its own.
 *
 * Only kernel primitives (a lowering rule or a reduction) are merged: they are pure and
 * their parameters are plain data, so equal JSON means equal results.
 */
import { Jaxpr, type Eqn, type Var } from "../jaxpr.ts";
import { isFusible } from "./lower.ts";

/** `jaxpr` with repeated kernel equations removed (the same object when there are none). */
export function eliminateCommon(jaxpr: Jaxpr): Jaxpr {
  const ids = new Map<Var, number>();
  const id = (v: Var) => {
    let k = ids.get(v);
    if (k === undefined) ids.set(v, (k = ids.size));
    return k;
  };
  const renamed = new Map<Var, Var>();
  const name = (v: Var) => renamed.get(v) ?? v;
  const seen = new Map<string, Eqn>();
  const eqns: Eqn[] = [];
  for (const e of jaxpr.eqns) {
    const inputs = e.inputs.map(name);
    const params = plainJson(e.params);
    const mergeable = (isFusible(e) || e.prim.reduction !== undefined) && params !== null;
    const key = mergeable ? `${e.prim.name}|${params}|${inputs.map(id).join(",")}|${e.outs.map((o) => `${o.aval.dtype}[${o.aval.shape}]`).join(",")}` : "";
    const earlier = mergeable ? seen.get(key) : undefined;
    if (earlier) {
      e.outs.forEach((o, i) => renamed.set(o, earlier.outs[i]));
      continue;
    }
    const kept = inputs.every((v, i) => v === e.inputs[i]) ? e : { ...e, inputs };
    if (mergeable) seen.set(key, kept);
    eqns.push(kept);
  }
  if (renamed.size === 0) return jaxpr;
  return new Jaxpr(jaxpr.constVars, jaxpr.inVars, eqns, jaxpr.outs.map(name));
}

/** The parameters as JSON, or null when some value (a function, a jaxpr) has no faithful JSON. */
function plainJson(params: object): string | null {
  let plain = true;
  const json = JSON.stringify(params, (_k, v: unknown) => {
    if (typeof v === "function" || v instanceof Jaxpr || typeof v === "bigint") plain = false;
    return typeof v === "bigint" ? String(v) : v;
  });
  return plain ? json : null;
}
