/**
 * The trace machinery (after JAX's autodidax). Every operation calls `bind`, which
 * finds the innermost (highest-level) trace among its arguments, lifts the other
 * arguments into it and lets that trace interpret the primitive. Level 0 is the
 * eval trace, which runs kernels on a backend.
 */
import type { Params, Primitive } from "./primitive.ts";
import type { Tracer } from "./tracer.ts";

export class MainTrace {
  constructor(
    readonly level: number,
    readonly traceType: { new (main: MainTrace): Trace; readonly name: string },
    readonly globalData: unknown,
  ) {}
  active = true;
}

export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Wraps a value from level 0 (a concrete array). */
  abstract pure(val: Tracer): Tracer;
  /** Wraps a tracer of a lower, still active trace. */
  abstract lift(val: Tracer): Tracer;
  abstract processPrimitive(prim: Primitive, tracers: Tracer[], params: Params): Tracer[];
}

/** Set by core/eval.ts: the level-0 interpreter. */
export const evalHooks: { evalTrace?: (main: MainTrace) => Trace } = {};

// Level 0 is the eval trace; transformations stack above it.
const traceStack: MainTrace[] = [];

/** Runs `fn` with a new main trace of the given type pushed on the stack. */
export function withNewMain<T>(traceType: { new (main: MainTrace): Trace; readonly name: string }, globalData: unknown, fn: (main: MainTrace) => T): T {
  const main = new MainTrace(traceStack.length + 1, traceType, globalData);
  traceStack.push(main);
  try {
    return fn(main);
  } finally {
    main.active = false;
    traceStack.pop();
  }
}

/** A primitive's params as a bind argument, optional where it needs none. NoInfer: the primitive alone fixes P. */
type ParamsArg<P> = Record<string, never> extends P ? [params?: NoInfer<P>] : [params: NoInfer<P>];

/** Applies `prim` to `args` in the innermost trace; params are checked against the primitive's params type. */
export function bind<P extends Params>(prim: Primitive<P>, args: Tracer[], ...[params]: ParamsArg<P>): Tracer[] {
  const top = findTopTrace(args);
  const tracers = args.map((a) => fullRaise(top, a));
  const outs = top.processPrimitive(prim, tracers, params ?? {});
  return outs.map((o) => o.fullLower());
}

export function bind1<P extends Params>(prim: Primitive<P>, args: Tracer[], ...params: ParamsArg<P>): Tracer {
  return bind(prim, args, ...params)[0];
}

let evalTrace: Trace | undefined;

/**
 * While jit stages a function, work on constants is staged too (JAX's omnistaging), so a
 * JS number broadcast against a traced array stays a scalar in the program instead of a
 * full-size constant computed at trace time.
 */
let dynamicTrace: Trace | undefined;

export function withDynamicTrace<T>(trace: Trace, fn: () => T): T {
  const prev = dynamicTrace;
  dynamicTrace = trace;
  try {
    return fn();
  } finally {
    dynamicTrace = prev;
  }
}

function findTopTrace(args: Tracer[]): Trace {
  let top: Trace | undefined = dynamicTrace;
  for (const a of args) {
    const t = a.trace;
    if (!t) continue;
    if (!t.main.active) throw escapedTracerError(a);
    if (!top || t.main.level > top.main.level) top = t;
  }
  if (top) return top;
  evalTrace ??= evalHooks.evalTrace!(new MainTrace(0, EvalTraceMarker, null));
  return evalTrace;
}

class EvalTraceMarker extends Trace {
  pure(v: Tracer) {
    return v;
  }
  lift(v: Tracer) {
    return v;
  }
  processPrimitive(): Tracer[] {
    throw new Error("unreachable");
  }
}

export function fullRaise(trace: Trace, val: Tracer): Tracer {
  const t = val.trace;
  if (!t) return trace.main.level === 0 ? val : trace.pure(val);
  if (t.main === trace.main) return val;
  if (t.main.level < trace.main.level) return trace.lift(val);
  throw new Error(`Can't lift a tracer of level ${t.main.level} into level ${trace.main.level}: a value escaped its transformation.`);
}

export function escapedTracerError(t: Tracer): Error {
  return new Error(
    `Encountered a tracer (${t.aval.dtype}[${t.aval.shape.join(",")}]) from a ${t.main?.traceType.name ?? "transformation"} ` +
      `that has already finished: a traced value escaped its function (e.g. stored in an outer variable). ` +
      `Return values from the transformed function instead of saving them.`,
  );
}
