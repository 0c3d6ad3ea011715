/**
 * The kernel compiler's entry point for `jit` on the CPU: a jaxpr is partitioned into
 * fused kernels and ordinary equations once, and each call runs the plan, freeing every
 * intermediate right after its last use. On by default; AUGERINO_FUSE=0 (or `setFusion(false)`)
 * runs jaxprs primitive by primitive instead.
 *
 * @example
 * setFusion(true);
 * jit((x) => np.sum(np.tanh(x).mul(2)))(np.ones([1000])); // one fused kernel
 */
import { cpuBackend, NDArray } from "../array.ts";
import type { TypedArray } from "../dtype.ts";
import { jaxprEnv, type Jaxpr, type Var } from "../jaxpr.ts";
import { sizeOf } from "../shape.ts";
import { bind } from "../trace.ts";
import type { Tracer } from "../tracer.ts";
import { partition, type Step } from "./fuse.ts";
import { compileJs, type KernelFn } from "./render-js.ts";

export { partition, type Step } from "./fuse.ts";
export { kernelToString, type Kernel, type IRNode } from "./ir.ts";
export { renderJs } from "./render-js.ts";

let override: boolean | undefined;

/** Whether jit runs fused kernels: `setFusion`'s choice if made, else on unless AUGERINO_FUSE=0 (read on every call). */
export function fusionEnabled(): boolean {
  if (override !== undefined) return override;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.AUGERINO_FUSE !== "0";
}

/** Forces fusion on or off; `undefined` goes back to reading AUGERINO_FUSE. */
export function setFusion(on: boolean | undefined): void {
  override = on;
}

/** Counters for tests and profiling. */
export const fusionStats = { plans: 0, kernelsCompiled: 0, kernelsRun: 0, eqnsFused: 0 };

export function resetFusionStats(): void {
  Object.assign(fusionStats, { plans: 0, kernelsCompiled: 0, kernelsRun: 0, eqnsFused: 0 });
}

type PlanStep = Extract<Step, { kind: "eqn" }> | (Extract<Step, { kind: "kernel" }> & { fn: KernelFn });
interface Plan {
  steps: PlanStep[];
  /** For each variable, the index of the last step reading it (program outputs: Infinity). */
  lastUse: Map<Var, number>;
}

const plans = new WeakMap<Jaxpr, Plan>();

function planFor(jaxpr: Jaxpr): Plan {
  let plan = plans.get(jaxpr);
  if (plan) return plan;
  fusionStats.plans++;
  const steps: PlanStep[] = partition(jaxpr).map((s) => {
    if (s.kind === "eqn") return s;
    const { fn, fresh } = compileJs(s.kernel);
    if (fresh) fusionStats.kernelsCompiled++;
    return { ...s, fn };
  });
  const lastUse = new Map<Var, number>();
  steps.forEach((s, k) => {
    const [ins, outs] = s.kind === "eqn" ? [s.eqn.inputs, s.eqn.outs] : [s.inputs, [s.out]];
    for (const v of ins) lastUse.set(v, k);
    for (const v of outs) if (!lastUse.has(v)) lastUse.set(v, k);
  });
  for (const v of jaxpr.outs) lastUse.set(v, Infinity);
  plan = { steps, lastUse };
  plans.set(jaxpr, plan);
  return plan;
}

const onCpu = (t: Tracer) => t instanceof NDArray && t.backendImpl === cpuBackend;

/**
 * Runs a jaxpr on concrete CPU arrays with fused kernels; null when the arguments are
 * not all CPU arrays (the caller then evaluates it equation by equation).
 */
export function runFused(jaxpr: Jaxpr, consts: Tracer[], args: Tracer[]): Tracer[] | null {
  if (!consts.every(onCpu) || !args.every(onCpu)) return null;
  const { steps, lastUse } = planFor(jaxpr);
  const { env, read } = jaxprEnv(jaxpr, consts, args, "runFused");
  // Only outputs of ordinary primitives and kernels are fresh buffers; inlined calls may return their inputs.
  const fresh = new Set<Var>();
  steps.forEach((s, k) => {
    let ins: Var[];
    let outs: Var[];
    if (s.kind === "kernel" && s.inputs.every((v) => onCpu(read(v)))) {
      ins = s.inputs;
      outs = [s.out];
      const aval = s.out.aval;
      const out = cpuBackend.alloc(aval.dtype, sizeOf(aval.shape));
      s.fn(out, ...s.inputs.map((v) => (read(v) as NDArray).handle as TypedArray));
      env.set(s.out, new NDArray(aval, cpuBackend, out));
      fresh.add(s.out);
      fusionStats.kernelsRun++;
      fusionStats.eqnsFused += s.eqns.length;
    } else {
      // An ordinary equation, or a kernel whose inputs left the CPU: run its equations one by one.
      const eqns = s.kind === "eqn" ? [s.eqn] : s.eqns;
      for (const e of eqns) {
        const res = bind(e.prim, e.inputs.map(read), e.params);
        e.outs.forEach((v, i) => env.set(v, res[i]));
        if (!e.prim.inline) for (const v of e.outs) fresh.add(v);
      }
      ins = eqns.flatMap((e) => e.inputs);
      outs = eqns.flatMap((e) => e.outs);
    }
    for (const v of new Set([...ins, ...outs])) {
      const last = lastUse.get(v);
      // Group-internal values (no entry) die inside the step.
      if (fresh.has(v) && (last === k || last === undefined)) {
        env.get(v)!.dispose();
        env.delete(v);
      }
    }
  });
  return jaxpr.outs.map(read);
}
