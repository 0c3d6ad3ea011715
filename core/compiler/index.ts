/**
 * The kernel compiler's entry point for `jit`: a jaxpr is partitioned into
 * fused kernels and ordinary equations once, and each call runs the plan, freeing every
 * intermediate right after its last use. On by default; AUGERINO_FUSE=0 (or `setFusion(false)`)
 * runs jaxprs primitive by primitive instead.
 *
 * @example
 * setFusion(true);
 * jit((x) => np.sum(np.tanh(x).mul(2)))(np.ones([1000])); // one fused kernel
 */
import { NDArray } from "../array.ts";
import type { Backend, Handle } from "../backend.ts";
import { jaxprEnv, type Eqn, type Jaxpr, type Var } from "../jaxpr.ts";
import { bind } from "../trace.ts";
import { checkAddressable } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import { partition, type Step } from "./fuse.ts";
import { jsKernelStats } from "./render-js.ts";

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

/** Counters for tests and profiling (kernelsCompiled counts JavaScript kernels; WebGPU counts pipelines in gpuStats). */
export const fusionStats = {
  plans: 0,
  kernelsRun: 0,
  eqnsFused: 0,
  /** Kernels run as a dot or convolution program's epilogue (the backend's `runEpilogue`). */
  epiloguesRun: 0,
  get kernelsCompiled(): number {
    return jsKernelStats.compiled;
  },
};

export function resetFusionStats(): void {
  Object.assign(fusionStats, { plans: 0, kernelsRun: 0, eqnsFused: 0, epiloguesRun: 0 });
  jsKernelStats.compiled = 0;
}

interface Plan {
  steps: Step[];
  /** For each variable, the index of the last step reading it (program outputs: Infinity). */
  lastUse: Map<Var, number>;
}

const plans = new WeakMap<Jaxpr, Plan>();

function planFor(jaxpr: Jaxpr): Plan {
  let plan = plans.get(jaxpr);
  if (plan) return plan;
  fusionStats.plans++;
  const steps = partition(jaxpr);
  const lastUse = new Map<Var, number>();
  steps.forEach((s, k) => {
    // A kernel step also reads its head's inputs (the head runs inside the step).
    const [ins, outs] = s.kind === "eqn" ? [s.eqn.inputs, s.eqn.outs] : [[...(s.head?.eqn.inputs ?? []), ...s.inputs], [s.out]];
    for (const v of ins) lastUse.set(v, k);
    for (const v of outs) if (!lastUse.has(v)) lastUse.set(v, k);
  });
  for (const v of jaxpr.outs) lastUse.set(v, Infinity);
  plan = { steps, lastUse };
  plans.set(jaxpr, plan);
  return plan;
}

/** The one backend holding all these arrays, if it runs kernels; CPU constants may sit beside accelerator arguments. */
function kernelBackend(xs: Tracer[]): Backend | null {
  if (!xs.every((t) => t instanceof NDArray)) return null;
  const set = new Set((xs as NDArray[]).map((a) => a.backendImpl));
  const named = [...set].filter((b) => b.name !== "cpu");
  const b = named.length === 0 ? [...set][0] : named.length === 1 ? named[0] : undefined;
  return b?.runKernel ? b : null;
}

/** Copies of captured CPU constants on accelerators, made once per constant and backend. */
const placed = new WeakMap<Backend, WeakMap<NDArray, NDArray>>();
function placedConst(c: NDArray, backend: Backend): NDArray {
  if (c.backendImpl === backend) return c;
  let copies = placed.get(backend);
  if (!copies) placed.set(backend, (copies = new WeakMap()));
  let copy = copies.get(c);
  if (!copy) copies.set(c, (copy = c.copyTo(backend)));
  return copy;
}

/**
 * Runs a jaxpr on concrete arrays with fused kernels; null when the arguments are not
 * concrete arrays on one kernel-running backend (the caller then evaluates it equation
 * by equation).
 */
export function runFused(jaxpr: Jaxpr, consts: Tracer[], args: Tracer[]): Tracer[] | null {
  const backend = kernelBackend([...consts, ...args]);
  if (!backend && consts.length + args.length > 0) return null;
  if (backend && backend.name !== "cpu") consts = consts.map((c) => placedConst(c as NDArray, backend));
  const { steps, lastUse } = planFor(jaxpr);
  // A kernel's loop space (reduced axes included) can exceed every array it touches: check it before anything runs.
  for (const s of steps) if (s.kind === "kernel") checkAddressable(`jit (a fused kernel of ${s.eqns.map((e) => e.prim.name).join(", ")})`, s.kernel.shape);
  const { env, read } = jaxprEnv(jaxpr, consts, args, "runFused");
  // Only outputs of ordinary primitives and kernels are fresh buffers; inlined calls may return their inputs.
  const fresh = new Set<Var>();
  steps.forEach((s, k) => {
    let ins: Var[];
    let outs: Var[];
    const onBackend = (v: Var) => {
      const x = read(v);
      return x instanceof NDArray && x.backendImpl === backend;
    };
    const handle = (v: Var) => (read(v) as NDArray).handle;
    const runEqn = (e: Eqn) => {
      const res = bind(e.prim, e.inputs.map(read), e.params);
      e.outs.forEach((v, i) => env.set(v, res[i]));
      if (!e.prim.inline) for (const v of e.outs) fresh.add(v);
    };
    const head = s.kind === "kernel" ? s.head : undefined;
    // The head's output is not in env yet: the fused path needs what it and the rest of the kernel read.
    const others = s.kind === "kernel" ? s.inputs.filter((_, i) => i !== head?.input) : [];
    const needed = s.kind === "kernel" ? (head ? [...head.eqn.inputs, ...others] : s.inputs) : [];
    if (s.kind === "kernel" && backend && s.inputs.length <= (backend.maxKernelInputs ?? Infinity) && needed.every(onBackend)) {
      ins = [...(head?.eqn.inputs ?? []), ...s.inputs];
      outs = [s.out];
      let out: Handle | null = null;
      if (head && backend.runEpilogue) {
        out = backend.runEpilogue(head.eqn, head.eqn.inputs.map(handle), s.kernel, head.input, others.map(handle));
        if (out !== null) fusionStats.epiloguesRun++;
      }
      if (out === null) {
        // No epilogue here (or not for this program): materialise the head's output, then run the kernel.
        if (head) runEqn(head.eqn);
        out = backend.runKernel!(s.kernel, s.inputs.map(handle));
      }
      env.set(s.out, new NDArray(s.out.aval, backend, out));
      fresh.add(s.out);
      fusionStats.kernelsRun++;
      fusionStats.eqnsFused += s.eqns.length;
    } else {
      // An ordinary equation, or a kernel whose inputs left the CPU: run its equations one by one.
      const eqns = s.kind === "eqn" ? [s.eqn] : [...(head ? [head.eqn] : []), ...s.eqns];
      for (const e of eqns) runEqn(e);
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
