/** Forward mode: each tracer carries a primal and a tangent (null means a known zero). */
import { asArray } from "../core/convert.ts";
import { markZeroTangent, type Params, type Primitive } from "../core/primitive.ts";
import { bind, fullRaise, Trace, withNewMain, type MainTrace } from "../core/trace.ts";
import { Tracer, type ShapedArray } from "../core/tracer.ts";
import { flatten, unflatten, type PyTree } from "../core/tree.ts";
import { zerosLike } from "../core/np/creation.ts";

export class JVPTracer extends Tracer {
  constructor(
    private readonly _trace: JVPTrace,
    readonly primal: Tracer,
    readonly tangent: Tracer | null,
  ) {
    super();
  }
  get aval(): ShapedArray {
    return this.primal.aval;
  }
  override get trace(): JVPTrace {
    return this._trace;
  }
}

export class JVPTrace extends Trace {
  pure(val: Tracer): Tracer {
    return new JVPTracer(this, val, null);
  }
  lift(val: Tracer): Tracer {
    return new JVPTracer(this, val, null);
  }
  processPrimitive(prim: Primitive, tracers: Tracer[], params: Params): Tracer[] {
    const ts = tracers as JVPTracer[];
    const primals = ts.map((t) => t.primal);
    const tangents = ts.map((t) => t.tangent);
    if (tangents.every((t) => t === null) || prim.jvp === "zero") {
      return bind(prim, primals, params).map((o) => new JVPTracer(this, o, null));
    }
    if (!prim.jvp) {
      if (prim.inline) return prim.inline(tracers, params);
      throw new Error(`${prim.name}: no differentiation rule (JVP) is defined for this primitive`);
    }
    const inst = tangents.map((t, i) => t ?? markZeroTangent(zerosLike(primals[i])));
    const [outs, touts] = prim.jvp(primals, inst, params);
    return outs.map((o, i) => new JVPTracer(this, o, touts[i]));
  }
}

/** Runs `f` on flat primals and tangents (null: a known zero) under a new JVP trace; returns flat primal and tangent outputs. */
export function jvpFlat(f: (xs: Tracer[]) => Tracer[], primals: Tracer[], tangents: (Tracer | null)[]): [Tracer[], (Tracer | null)[]] {
  return withNewMain(JVPTrace, null, (main: MainTrace) => {
    const trace = new JVPTrace(main);
    const ins = primals.map((p, i) => new JVPTracer(trace, p, tangents[i]));
    const outs = f(ins).map((o) => fullRaise(trace, o) as JVPTracer);
    return [outs.map((o) => o.primal), outs.map((o) => o.tangent)];
  });
}

/** Flattens pytree outputs of a user function into arrays, remembering the structure. */
export function flatOutputs(out: PyTree<unknown>, what: string): [Tracer[], ReturnType<typeof flatten>[1]] {
  const [leaves, def] = flatten(out);
  return [
    leaves.map((l) => {
      if (l instanceof Tracer) return l;
      if (typeof l === "number" || typeof l === "boolean") return asArray(l);
      throw new Error(`${what}: the function returned a ${typeof l} leaf (${String(l)}); outputs must be arrays or numbers`);
    }),
    def,
  ];
}

/**
 * Forward-mode derivative: returns f(primals) and the directional derivative along tangents.
 * @example const [y, dy] = jvp(np.sin, [x], [np.onesLike(x)]) // dy = cos(x)
 */
export function jvp<T extends PyTree>(f: (...args: never[]) => T, primals: PyTree[], tangents: PyTree[]): [T, T] {
  const [ps, pdef] = flatten(primals);
  const [ts, tdef] = flatten(tangents);
  if (!pdef.equals(tdef)) throw new Error(`jvp: primals ${pdef} and tangents ${tdef} have different structures`);
  const pa = ps.map((p) => asArray(p as never));
  const ta = ts.map((t) => asArray(t as never));
  pa.forEach((p, i) => {
    if (p.shape.join() !== ta[i].shape.join() || p.dtype !== ta[i].dtype) {
      throw new Error(`jvp: tangent ${i} is ${ta[i].dtype}[${ta[i].shape}] but its primal is ${p.dtype}[${p.shape}]`);
    }
  });
  let outDef: ReturnType<typeof flatten>[1] | undefined;
  const [po, to] = jvpFlat(
    (xs) => {
      const [outs, def] = flatOutputs((f as (...a: unknown[]) => T)(...(unflatten(pdef, xs) as unknown[])), "jvp");
      outDef = def;
      return outs;
    },
    pa,
    ta,
  );
  return [
    unflatten(outDef!, po) as T,
    unflatten(
      outDef!,
      to.map((t, i) => t ?? zerosLike(po[i])),
    ) as T,
  ];
}
