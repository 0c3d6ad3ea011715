/**
 * Jaxprs: the staged programs that `jit` compiles and that `grad` transposes.
 * The JaxprTrace stages every primitive it sees into equations instead of running it.
 */
import type { Params, Primitive } from "./primitive.ts";
import { bind, fullRaise, Trace, withDynamicTrace, withNewMain } from "./trace.ts";
import { Tracer, type ShapedArray } from "./tracer.ts";

export class Var {
  constructor(readonly aval: ShapedArray) {}
}

export interface Eqn {
  prim: Primitive;
  inputs: Var[];
  params: Params;
  outs: Var[];
}

const applies = <P>(e: Eqn, prim: Primitive<P>): e is Eqn & { params: P } => e.prim === prim;

/** The params of `e`, typed by the primitive `prim` that it must apply. */
export function paramsOf<P>(e: Eqn, prim: Primitive<P>): P {
  if (!applies(e, prim)) throw new Error(`expected an equation of ${prim.name}, got ${e.prim.name}`);
  return e.params;
}

export class Jaxpr {
  constructor(
    readonly constVars: Var[],
    readonly inVars: Var[],
    readonly eqns: Eqn[],
    readonly outs: Var[],
  ) {}

  get inAvals(): ShapedArray[] {
    return this.inVars.map((v) => v.aval);
  }
  get outAvals(): ShapedArray[] {
    return this.outs.map((v) => v.aval);
  }

  toString(): string {
    const names = new Map<Var, string>();
    const name = (v: Var) => {
      let n = names.get(v);
      if (!n) {
        n = varName(names.size);
        names.set(v, n);
      }
      return n;
    };
    const decl = (v: Var) => `${name(v)}:${shortAval(v.aval)}`;
    const lines: string[] = [];
    lines.push(`{ lambda ${this.constVars.map(decl).join(" ")} ; ${this.inVars.map(decl).join(" ")}. let`);
    for (const e of this.eqns) {
      const ps = e.prim.printParams ? e.prim.printParams(e.params) : fmtParams(e.params);
      lines.push(`    ${e.outs.map(decl).join(" ")} = ${e.prim.name}${ps ? `[${ps}]` : ""} ${e.inputs.map(name).join(" ")}`);
    }
    lines.push(`  in ( ${this.outs.map(name).join(" ")} ) }`);
    return lines.join("\n");
  }
}

/** A jaxpr with the values of its constants. */
export interface ClosedJaxpr {
  jaxpr: Jaxpr;
  consts: Tracer[];
}

function varName(i: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return s;
}

const SHORT: Record<string, string> = { float32: "f32", float64: "f64", int32: "i32", uint32: "u32", bool: "bool" };
function shortAval(a: ShapedArray): string {
  return `${SHORT[a.dtype]}[${a.shape.join(",")}]`;
}

function fmtParams(p: Params): string {
  return Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v instanceof Jaxpr ? "{jaxpr}" : typeof v === "object" && v !== null && "jaxpr" in v ? "{jaxpr}" : JSON.stringify(v)}`)
    .join(" ");
}

/**
 * Runs a jaxpr by binding each equation, so whatever traces are active interpret it.
 * With `freeIntermediates` (concrete evaluation), each intermediate array is disposed
 * right after its last use, so a long program runs in the memory of its live values
 * rather than waiting for garbage collection.
 */
export function evalJaxpr(jaxpr: Jaxpr, consts: Tracer[], args: Tracer[], opts: { freeIntermediates?: boolean } = {}): Tracer[] {
  const { env, read } = jaxprEnv(jaxpr, consts, args, "evalJaxpr");
  const lastUse = opts.freeIntermediates ? lastUses(jaxpr) : null;
  // Only outputs of ordinary primitives are fresh buffers; inlined calls may return their inputs.
  const fresh = new Set<Var>();
  jaxpr.eqns.forEach((e, k) => {
    const outs = bind(e.prim, e.inputs.map(read), e.params);
    e.outs.forEach((v, i) => env.set(v, outs[i]));
    if (!lastUse) return;
    if (!e.prim.inline) for (const v of e.outs) fresh.add(v);
    for (const v of new Set([...e.inputs, ...e.outs])) {
      if (fresh.has(v) && lastUse.get(v) === k) {
        env.get(v)!.dispose();
        env.delete(v);
      }
    }
  });
  return jaxpr.outs.map(read);
}

/** The variable environment of a jaxpr run: constants and arguments bound, and a checked reader. */
export function jaxprEnv(jaxpr: Jaxpr, consts: Tracer[], args: Tracer[], who: string): { env: Map<Var, Tracer>; read: (v: Var) => Tracer } {
  const env = new Map<Var, Tracer>();
  jaxpr.constVars.forEach((v, i) => env.set(v, consts[i]));
  jaxpr.inVars.forEach((v, i) => env.set(v, args[i]));
  const read = (v: Var) => {
    const x = env.get(v);
    if (!x) throw new Error(`${who}: unbound variable`);
    return x;
  };
  return { env, read };
}

/** For each variable, the index of the last equation reading it (outputs count as read at the end). */
function lastUses(jaxpr: Jaxpr): Map<Var, number> {
  const last = new Map<Var, number>();
  jaxpr.eqns.forEach((e, k) => {
    for (const v of e.inputs) last.set(v, k);
    for (const v of e.outs) if (!last.has(v)) last.set(v, k);
  });
  for (const v of jaxpr.outs) last.set(v, Infinity);
  return last;
}

export class JaxprTracer extends Tracer {
  constructor(
    private readonly _trace: JaxprTrace,
    private readonly _aval: ShapedArray,
  ) {
    super();
  }
  get aval(): ShapedArray {
    return this._aval;
  }
  override get trace(): JaxprTrace {
    return this._trace;
  }
}

export interface Builder {
  trace?: JaxprTrace;
  /** Stages the tangents of a linearisation: calls that can be transposed stay calls (are not inlined). */
  linear?: boolean;
  eqns: { prim: Primitive; inputs: JaxprTracer[]; params: Params; outs: JaxprTracer[] }[];
  consts: Map<Tracer, JaxprTracer>;
}

export class JaxprTrace extends Trace {
  get builder(): Builder {
    return this.main.globalData as Builder;
  }
  newArg(aval: ShapedArray): JaxprTracer {
    return new JaxprTracer(this, { shape: [...aval.shape], dtype: aval.dtype });
  }
  pure(val: Tracer): Tracer {
    let t = this.builder.consts.get(val);
    if (!t) {
      t = new JaxprTracer(this, val.aval);
      this.builder.consts.set(val, t);
    }
    return t;
  }
  lift(val: Tracer): Tracer {
    return this.pure(val);
  }
  processPrimitive(prim: Primitive, tracers: Tracer[], params: Params): Tracer[] {
    if (prim.inline && !(this.builder.linear && prim.transpose)) return prim.inline(tracers, params);
    const outAvals = prim.abstractEval(
      tracers.map((t) => t.aval),
      params,
    );
    const outs = outAvals.map((a) => new JaxprTracer(this, a));
    this.builder.eqns.push({ prim, inputs: tracers as JaxprTracer[], params, outs });
    return outs;
  }
}

/**
 * Stages `fn` into a jaxpr. `fn` receives fresh tracers with the given avals and returns
 * tracers (or concrete arrays, which become constants). Unused equations are dropped.
 */
export function traceToJaxpr(inAvals: ShapedArray[], fn: (args: Tracer[]) => Tracer[]): ClosedJaxpr {
  const builder: Builder = { eqns: [], consts: new Map() };
  return withNewMain(JaxprTrace, builder, (main) => {
    const trace = new JaxprTrace(main);
    const ins = inAvals.map((a) => trace.newArg(a));
    const outs = withDynamicTrace(trace, () => fn(ins)).map((o) => fullRaise(trace, o) as JaxprTracer);
    return buildJaxpr(builder, ins, outs);
  });
}

/** Stages `fn` on tracers of an already pushed JaxprTrace (used by linearize). */
export function buildJaxpr(builder: Builder, ins: JaxprTracer[], outs: JaxprTracer[]): ClosedJaxpr {
  const vars = new Map<JaxprTracer, Var>();
  const varOf = (t: JaxprTracer) => {
    let v = vars.get(t);
    if (!v) {
      v = new Var(t.aval);
      vars.set(t, v);
    }
    return v;
  };
  // Dead-code elimination: keep equations that feed the outputs.
  const needed = new Set<JaxprTracer>(outs);
  const kept: Builder["eqns"] = [];
  for (let i = builder.eqns.length - 1; i >= 0; i--) {
    const e = builder.eqns[i];
    if (e.outs.some((o) => needed.has(o))) {
      kept.push(e);
      for (const t of e.inputs) needed.add(t);
    }
  }
  kept.reverse();
  const inVars = ins.map(varOf);
  const constVars: Var[] = [];
  const consts: Tracer[] = [];
  for (const [val, t] of builder.consts) {
    if (needed.has(t)) {
      constVars.push(varOf(t));
      consts.push(val);
    }
  }
  const eqns = kept.map((e) => ({ prim: e.prim, inputs: e.inputs.map(varOf), params: e.params, outs: e.outs.map(varOf) }));
  return { jaxpr: new Jaxpr(constVars, inVars, eqns, outs.map(varOf)), consts };
}
