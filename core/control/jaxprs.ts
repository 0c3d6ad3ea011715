/**
 * Transformations of closed jaxprs, for the rules of primitives that hold programs (loops,
 * branches, jit calls, checkpoints): a rule transforms its body once, here, and binds the
 * same primitive around the result. Each result is cached per body and signature, so a
 * transformed loop or jit call traced again in a training loop reuses the same program
 * (and the compiler's plan for it).
 */
import { NDArray } from "../array.ts";
import { buildJaxpr, evalJaxpr, Jaxpr, JaxprTrace, JaxprTracer, traceToJaxpr, type Builder, type ClosedJaxpr } from "../jaxpr.ts";
import { bind1, fullRaise, withDynamicTrace, withNewMain } from "../trace.ts";
import { fmtAval, Tracer, type ShapedArray } from "../tracer.ts";
import { zeros } from "../np/creation.ts";
import { broadcastInDim, moveaxis, reshapeP } from "../primitives/shape.ts";
import { fusionEnabled, placedConst, runFused } from "../compiler/index.ts";
import { handleProgram } from "../compiler/handles.ts";
import type { Backend, Handle } from "../backend.ts";
import { flatOutputs, jvpFlat } from "../../transforms/jvp.ts";
import { BatchTrace, BatchTracer } from "../../transforms/vmap.ts";
import { backwardPass } from "../../transforms/vjp.ts";
import type { TreeDef } from "../tree.ts";
import { isFloat } from "../dtype.ts";

const caches = new WeakMap<Jaxpr, Map<string, unknown>>();

/** Memoises `make` per body and key: the same transformed program for the same signature. */
export function cached<T>(body: ClosedJaxpr, kind: string, key: unknown[], make: () => T): T {
  let m = caches.get(body.jaxpr);
  if (!m) caches.set(body.jaxpr, (m = new Map()));
  const k = `${kind}|${JSON.stringify(key)}`;
  if (!m.has(k)) m.set(k, make());
  return m.get(k) as T;
}

/**
 * A user function staged once over avals, for a loop body or branch: closed over concrete
 * constants, and with every captured tracer of an enclosing transformation (a value from
 * outside the body) hoisted into `operands`, which the primitive passes as its first inputs.
 */
export interface Staged {
  body: ClosedJaxpr;
  operands: Tracer[];
  outDef: TreeDef;
}

export function stageBody(what: string, avals: ShapedArray[], fn: (args: Tracer[]) => unknown): Staged {
  let outDef: TreeDef | undefined;
  const closed = traceToJaxpr(avals, (args) => {
    const [outs, def] = flatOutputs(fn(args) as never, what);
    outDef = def;
    return outs;
  });
  const hoisted = closed.consts.map((c) => !(c instanceof NDArray));
  const { jaxpr } = closed;
  const body: ClosedJaxpr = {
    jaxpr: new Jaxpr(
      jaxpr.constVars.filter((_, i) => !hoisted[i]),
      [...jaxpr.constVars.filter((_, i) => hoisted[i]), ...jaxpr.inVars],
      jaxpr.eqns,
      jaxpr.outs,
    ),
    consts: closed.consts.filter((_, i) => !hoisted[i]),
  };
  return { body, operands: closed.consts.filter((_, i) => hoisted[i]), outDef: outDef! };
}

/** Runs a body on concrete arrays: its fused kernels where fusion is on, else equation by equation. */
export function runBody(body: ClosedJaxpr, args: Tracer[]): Tracer[] {
  if (fusionEnabled()) {
    const out = runFused(body.jaxpr, body.consts, args);
    if (out) return out;
  }
  return evalJaxpr(body.jaxpr, body.consts, args, { freeIntermediates: true });
}

/**
 * A result that is its own array. Consumers free the outputs of a primitive when they are
 * done with them, so an output that is one of the inputs (a loop that never ran, a branch
 * returning its operand) is handed out as a new owner of the same buffer.
 */
export function ownArray(x: Tracer, inputs: ReadonlySet<Tracer>): Tracer {
  return inputs.has(x) ? bind1(reshapeP, [x], { newShape: x.shape }) : x;
}

/**
 * The backend every array lives on, and the body's program on handles there, for loops
 * that run a body many times: null where the arrays are not all on one backend, fusion
 * is off, or the body needs array objects.
 */
export function bodyOnHandles(body: ClosedJaxpr, args: Tracer[]): { backend: Backend; run: (ins: Handle[]) => Handle[]; consts: Handle[] } | null {
  if (!fusionEnabled() || args.length === 0 || !args.every((a) => a instanceof NDArray)) return null;
  const backend = (args[0] as NDArray).backendImpl;
  if (!args.every((a) => (a as NDArray).backendImpl === backend)) return null;
  const run = handleProgram(body.jaxpr, backend);
  if (!run) return null;
  return { backend, run, consts: body.consts.map((c) => placedConst(c as NDArray, backend).handle) };
}

/** Evaluates a body under whatever traces are active (a rule's inline use). */
export function callBody(body: ClosedJaxpr, args: Tracer[]): Tracer[] {
  return evalJaxpr(body.jaxpr, body.consts, args);
}

/** A zero tangent for outputs no input reaches (never for integers, which carry none). */
function zeroOf(a: ShapedArray): Tracer {
  return zeros([...a.shape], { dtype: a.dtype });
}

/** Which outputs a nonzero input can reach: a cheap dependence pass, no tracing. */
export function nonzeroOutputs(body: ClosedJaxpr, nonzeros: boolean[]): boolean[] {
  const { jaxpr } = body;
  const nz = new Set(jaxpr.inVars.filter((_, i) => nonzeros[i]));
  for (const e of jaxpr.eqns) {
    if (e.prim.jvp === "zero") continue;
    if (e.inputs.some((v) => nz.has(v))) for (const v of e.outs) if (isFloat(v.aval.dtype)) nz.add(v);
  }
  return jaxpr.outs.map((v) => nz.has(v));
}

/**
 * Forward mode of a body: (primals..., tangents of the nonzero inputs...) -> (outputs...,
 * tangents of the outputs in `outTangents`), zeros where no input reaches them.
 */
export function jvpJaxpr(body: ClosedJaxpr, nonzeros: boolean[], outTangents: boolean[]): ClosedJaxpr {
  return cached(body, "jvp", [nonzeros, outTangents], () => {
    const ins = body.jaxpr.inAvals;
    const tanAvals = ins.filter((_, i) => nonzeros[i]);
    return traceToJaxpr([...ins, ...tanAvals], (args) => {
      const primals = args.slice(0, ins.length);
      let k = ins.length;
      const tangents = nonzeros.map((nz) => (nz ? args[k++] : null));
      const [po, to] = jvpFlat((xs) => callBody(body, xs), primals, tangents);
      const touts = to.flatMap((t, i) => (outTangents[i] ? [t ?? zeroOf(po[i].aval)] : []));
      return [...po, ...touts];
    });
  });
}

/**
 * Linearisation of a body, split into what runs now and what is linear:
 * - `primal`: inputs -> (outputs..., residuals...);
 * - `linear`: (residuals..., tangents of the nonzero inputs...) -> tangents of the outputs
 *   in `outNonzero` (those reached from a nonzero input, and those asked for by `instantiate`).
 * `residualInput[r]` is the input a residual is, when it is one unchanged (a loop can pass
 * it once instead of stacking a copy per step).
 */
export interface LinearizedJaxpr {
  primal: ClosedJaxpr;
  linear: ClosedJaxpr;
  residuals: ShapedArray[];
  residualInput: (number | null)[];
  outNonzero: boolean[];
}

export function linearizeJaxpr(body: ClosedJaxpr, nonzeros: boolean[], instantiate: boolean[]): LinearizedJaxpr {
  return cached(body, "linearize", [nonzeros, instantiate], () => {
    const ins = body.jaxpr.inAvals;
    const builderP: Builder = { eqns: [], consts: new Map() };
    return withNewMain(JaxprTrace, builderP, (mainP) => {
      const traceP = new JaxprTrace(mainP);
      const primIns = ins.map((a) => traceP.newArg(a));
      const builderT: Builder = { eqns: [], consts: new Map(), linear: true };
      const lin = withNewMain(JaxprTrace, builderT, (mainT) => {
        const traceT = new JaxprTrace(mainT);
        const tanIns = ins.filter((_, i) => nonzeros[i]).map((a) => traceT.newArg(a));
        let k = 0;
        const tangents = nonzeros.map((nz) => (nz ? tanIns[k++] : null));
        // Work on constants alone is primal work: stage it with the primal program.
        const [po, to] = withDynamicTrace(traceP, () => jvpFlat((xs) => callBody(body, xs), primIns, tangents));
        const outNonzero = to.map((t, i) => t !== null || instantiate[i]);
        const touts = to.flatMap((t, i) =>
          outNonzero[i]
            ? [
                fullRaise(
                  traceT,
                  withDynamicTrace(traceT, () => t ?? zeroOf(po[i].aval)),
                ) as JaxprTracer,
              ]
            : [],
        );
        return { po, outNonzero, closed: buildJaxpr(builderT, tanIns, touts) };
      });
      // The linear program's constants: primal values (residuals) and concrete constants.
      const { jaxpr, consts } = lin.closed;
      const isResidual = consts.map((c) => !(c instanceof NDArray));
      for (const c of consts) if (!(c instanceof NDArray) && c.trace?.main !== mainP) throw new Error("linearize: a body read a value of an enclosing transformation; stage bodies with stageBody");
      const residualValues = consts.filter((_, i) => isResidual[i]);
      const linear: ClosedJaxpr = {
        jaxpr: new Jaxpr(
          jaxpr.constVars.filter((_, i) => !isResidual[i]),
          [...jaxpr.constVars.filter((_, i) => isResidual[i]), ...jaxpr.inVars],
          jaxpr.eqns,
          jaxpr.outs,
        ),
        consts: consts.filter((_, i) => !isResidual[i]),
      };
      const primalOuts = [...lin.po, ...residualValues].map((x) => fullRaise(traceP, x) as JaxprTracer);
      const primal = withDynamicTrace(traceP, () => buildJaxpr(builderP, primIns, primalOuts));
      return {
        primal,
        linear,
        residuals: residualValues.map((r) => r.aval),
        residualInput: residualValues.map((r) => {
          const i = primIns.indexOf(r as JaxprTracer);
          return i < 0 ? null : i;
        }),
        outNonzero: lin.outNonzero,
      };
    });
  });
}

/**
 * Reverse mode of a body linear in the inputs marked `linear`: (the other inputs..., cotangents
 * of the outputs...) -> cotangents of the linear inputs (zeros where none flows).
 */
export function transposeJaxpr(body: ClosedJaxpr, linear: boolean[]): ClosedJaxpr {
  return cached(body, "transpose", [linear], () => {
    const { jaxpr } = body;
    const known = jaxpr.inVars.filter((_, i) => !linear[i]);
    const unknown = jaxpr.inVars.filter((_, i) => linear[i]);
    const asLinear = new Jaxpr([...jaxpr.constVars, ...known], unknown, jaxpr.eqns, jaxpr.outs);
    return traceToJaxpr([...known.map((v) => v.aval), ...jaxpr.outAvals], (args) => backwardPass(asLinear, [...body.consts, ...args.slice(0, known.length)], args.slice(known.length)));
  });
}

/**
 * Batching of a body: inputs marked `inBatched` carry a leading batch axis of `axisSize`;
 * outputs get one where the body maps them, or where `forceOut` asks (by broadcasting).
 */
export function batchJaxpr(body: ClosedJaxpr, axisSize: number, inBatched: boolean[], forceOut: boolean[]): { body: ClosedJaxpr; outBatched: boolean[] } {
  return cached(body, "batch", [axisSize, inBatched, forceOut], () => {
    let outBatched: boolean[] = [];
    const avals = body.jaxpr.inAvals.map((a, i) => (inBatched[i] ? { shape: [axisSize, ...a.shape], dtype: a.dtype } : a));
    const batched = traceToJaxpr(avals, (args) =>
      withNewMain(BatchTrace, { axisSize }, (main) => {
        const trace = new BatchTrace(main);
        const ins = args.map((a, i) => (inBatched[i] ? new BatchTracer(trace, a, 0) : a));
        const outs = callBody(body, ins).map((o) => fullRaise(trace, o) as BatchTracer);
        outBatched = outs.map((t, i) => t.bdim !== null || forceOut[i]);
        return outs.map((t, i) => {
          if (t.bdim !== null) return moveaxis(t.val, t.bdim, 0);
          return forceOut[i]
            ? broadcastInDim(
                t.val,
                [axisSize, ...t.val.shape],
                t.val.shape.map((_, d) => d + 1),
              )
            : t.val;
        });
      }),
    );
    return { body: batched, outBatched };
  });
}

/** Flattens a user's pytree of arrays or numbers for a loop or branch (`what` names it in errors). */
export function leavesOf(tree: unknown, what: string): [Tracer[], TreeDef] {
  return flatOutputs((tree ?? null) as never, what);
}

/** `shape` and dtype of each leaf, for error messages. */
export function fmtAvals(xs: readonly ShapedArray[]): string {
  return `(${xs.map(fmtAval).join(", ")})`;
}
