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
import { routineOf } from "./eager.ts";
import { NDArray } from "../array.ts";
import type { Backend, Handle } from "../backend.ts";
import type { Eqn, Jaxpr, Var } from "../jaxpr.ts";
import { bind } from "../trace.ts";
import { checkAddressable, sizeOf } from "../shape.ts";
import type { TypedArray } from "../dtype.ts";
import type { Tracer } from "../tracer.ts";
import { partition, type Step } from "./fuse.ts";
import { eliminateCommon } from "./cse.ts";
import { mergeReductions } from "./merge-reductions.ts";
import { mergeSiblingSums } from "./merge-sibling-sums.ts";
import { foldConvTransposes } from "./fold-conv-transposes.ts";
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

/**
 * A partition prepared for running: every variable has a slot, and each step knows the
 * slots it reads, writes and frees afterwards, so a call (a loop body runs one per step)
 * does no map lookups or liveness work.
 */
export interface Plan {
  steps: Step[];
  nSlots: number;
  constSlots: number[];
  inSlots: number[];
  outSlots: number[];
  /** Per step: slots of the head's inputs, of the kernel's inputs, of the kernel's inputs other than the head's output. */
  headIns: number[][];
  kernelIns: number[][];
  otherIns: number[][];
  outSlot: number[];
  /** Per step run as equations: each equation's input and output slots. */
  eqnIns: number[][][];
  eqnOuts: number[][][];
  /** Slots to free after the step, run as a kernel or as equations (a value dies at its last reader). */
  freeAsKernel: number[][];
  freeAsEqns: number[][];
  /** Kernel loop spaces were checked against the addressable size. */
  checked: boolean;
}

/**
 * Per jaxpr, its plans by whether reductions are merged (Backend.mergesReductions), whether
 * convolutions read swapped operands unswapped (Backend.swapsConvOperands), and by
 * the values of the scalar constants they took as literals ("" for none).
 */
const plans = new WeakMap<Jaxpr, Map<string, Plan>>();
/** Plans per jaxpr with different literal values before its constants are read as buffers again. */
const MAX_LITERAL_PLANS = 8;

/**
 * The values of a jaxpr's one-element constants that sit on the CPU: its kernels read them
 * as literals (folded into the code, hoisted out of every loop) instead of as buffers of
 * their own, which would each cost a kernel argument (and a copy into the wasm heap).
 * `key` names the constants and their values ("" for none).
 */
function scalarConsts(jaxpr: Jaxpr, consts: readonly Tracer[]): { literals: Map<Var, number>; key: string } {
  const literals = new Map<Var, number>();
  if (consts.length === 0) return { literals, key: "" };
  // Which constants are scalars is known once per jaxpr; a loop body runs this every iteration.
  let slots = scalarSlots.get(jaxpr);
  if (!slots) scalarSlots.set(jaxpr, (slots = jaxpr.constVars.flatMap((v, i) => (sizeOf(v.aval.shape) === 1 ? [i] : []))));
  let key = "";
  for (const i of slots) {
    const c = consts[i];
    if (!(c instanceof NDArray) || c.backendImpl.name !== "cpu") continue;
    const v = (c.handle as TypedArray)[0];
    literals.set(jaxpr.constVars[i], v);
    key += `${i}:${Object.is(v, -0) ? "-0" : v},`;
  }
  return { literals, key };
}
const scalarSlots = new WeakMap<Jaxpr, number[]>();

/**
 * The plan of a jaxpr for `backend`; with `consts` (its constants' values), one that reads
 * the scalar ones as literals.
 */
export function planFor(original: Jaxpr, backend?: Backend, consts: readonly Tracer[] = []): Plan {
  const merge = backend?.mergesReductions === true;
  const swaps = backend?.swapsConvOperands === true;
  let byKey = plans.get(original);
  if (!byKey) plans.set(original, (byKey = new Map()));
  let { literals, key } = scalarConsts(original, consts);
  const maxInputs = backend?.maxKernelInputs ?? Infinity;
  const passes = `${+merge}${+swaps}${maxInputs}`;
  if (!byKey.has(`${passes}|${key}`) && byKey.size >= MAX_LITERAL_PLANS) [literals, key] = [new Map(), ""];
  const fullKey = `${passes}|${key}`;
  const plan = byKey.get(fullKey);
  if (plan) return plan;
  fusionStats.plans++;
  const common = eliminateCommon(original);
  const merged = merge ? mergeSiblingSums(mergeReductions(common)) : common;
  const jaxpr = swaps ? foldConvTransposes(merged) : merged;
  const steps = partition(jaxpr, literals, maxInputs);
  const slots = new Map<Var, number>();
  const slot = (v: Var) => {
    let k = slots.get(v);
    if (k === undefined) slots.set(v, (k = slots.size));
    return k;
  };
  const constSlots = jaxpr.constVars.map(slot);
  const inSlots = jaxpr.inVars.map(slot);
  const lastUse = new Map<Var, number>();
  steps.forEach((s, k) => {
    // A kernel step also reads its head's inputs (the head runs inside the step).
    const [ins, outs] = s.kind === "eqn" ? [s.eqn.inputs, s.eqn.outs] : [[...(s.head?.eqn.inputs ?? []), ...s.inputs], [s.out]];
    for (const v of ins) lastUse.set(v, k);
    for (const v of outs) if (!lastUse.has(v)) lastUse.set(v, k);
  });
  for (const v of jaxpr.outs) lastUse.set(v, Infinity);
  // Only outputs of ordinary primitives and kernels are fresh buffers; inlined calls may return their inputs.
  const freshEqnOut = (e: Eqn) => !e.prim.inline;
  const dying = (vars: Var[], k: number, fresh: (v: Var) => boolean) => [...new Set(vars)].filter((v) => fresh(v) && (lastUse.get(v) === k || lastUse.get(v) === undefined)).map(slot);
  const producedFresh = new Set<Var>();
  const p: Plan = {
    steps,
    nSlots: 0,
    constSlots,
    inSlots,
    outSlots: [],
    headIns: [],
    kernelIns: [],
    otherIns: [],
    outSlot: [],
    eqnIns: [],
    eqnOuts: [],
    freeAsKernel: [],
    freeAsEqns: [],
    checked: false,
  };
  steps.forEach((s, k) => {
    const eqns = s.kind === "eqn" ? [s.eqn] : [...(s.head ? [s.head.eqn] : []), ...s.eqns];
    p.eqnIns.push(eqns.map((e) => e.inputs.map(slot)));
    p.eqnOuts.push(eqns.map((e) => e.outs.map(slot)));
    if (s.kind === "kernel") {
      p.headIns.push((s.head?.eqn.inputs ?? []).map(slot));
      p.kernelIns.push(s.inputs.map(slot));
      p.otherIns.push(s.inputs.filter((_, i) => i !== s.head?.input).map(slot));
      p.outSlot.push(slot(s.out));
    } else {
      p.headIns.push([]);
      p.kernelIns.push([]);
      p.otherIns.push([]);
      p.outSlot.push(-1);
    }
    // Freshness as of this step: earlier fresh outputs, and this step's own.
    const before = new Set(producedFresh);
    const asEqns = new Set(before);
    for (const e of eqns) if (freshEqnOut(e)) for (const v of e.outs) asEqns.add(v);
    p.freeAsEqns.push(
      dying(
        eqns.flatMap((e) => [...e.inputs, ...e.outs]),
        k,
        (v) => asEqns.has(v),
      ),
    );
    if (s.kind === "kernel") {
      const asKernel = new Set(before).add(s.out);
      p.freeAsKernel.push(dying([...(s.head?.eqn.inputs ?? []), ...s.inputs, s.out], k, (v) => asKernel.has(v)));
      producedFresh.add(s.out);
    } else p.freeAsKernel.push([]);
    for (const e of eqns) if (freshEqnOut(e)) for (const v of e.outs) producedFresh.add(v);
  });
  p.outSlots = jaxpr.outs.map(slot);
  p.nSlots = slots.size;
  byKey.set(fullKey, p);
  return p;
}

/** The one backend holding all these arrays, if it runs kernels; CPU constants may sit beside accelerator arguments. */
function kernelBackend(consts: Tracer[], args: Tracer[]): Backend | null {
  let cpu: Backend | undefined;
  let other: Backend | undefined;
  for (const xs of [consts, args]) {
    for (const t of xs) {
      if (!(t instanceof NDArray)) return null;
      const b = t.backendImpl;
      if (b.name === "cpu") cpu = b;
      else if (!other) other = b;
      else if (other !== b) return null;
    }
  }
  const b = other ?? cpu;
  return b?.runKernel ? b : null;
}

/** Copies of captured CPU constants on accelerators, made once per constant and backend. */
const placed = new WeakMap<Backend, WeakMap<NDArray, NDArray>>();
export function placedConst(c: NDArray, backend: Backend): NDArray {
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
  const backend = kernelBackend(consts, args);
  if (!backend && consts.length + args.length > 0) return null;
  // Literals on the CPU only: elsewhere each set of values would be a pipeline of its own to
  // compile (slow on WebGPU, and a jaxpr is often run with other scalars only in tests).
  const onCpu = !backend || backend.name === "cpu";
  const plan = planFor(jaxpr, backend ?? undefined, onCpu ? consts : []);
  if (!onCpu) consts = consts.map((c) => placedConst(c as NDArray, backend!));
  const { steps } = plan;
  if (!plan.checked) {
    // A kernel's loop space (reduced axes included) can exceed every array it touches: check it before anything runs.
    for (const s of steps) if (s.kind === "kernel") checkAddressable(`jit (a fused kernel of ${s.eqns.map((e) => e.prim.name).join(", ")})`, s.kernel.shape);
    plan.checked = true;
  }
  const vals: (Tracer | undefined)[] = new Array(plan.nSlots);
  plan.constSlots.forEach((k, i) => (vals[k] = consts[i]));
  plan.inSlots.forEach((k, i) => (vals[k] = args[i]));
  const read = (k: number) => {
    const x = vals[k];
    if (!x) throw new Error("runFused: unbound variable");
    return x;
  };
  const onBackend = (k: number) => {
    const x = vals[k];
    return x instanceof NDArray && x.backendImpl === backend;
  };
  const handle = (k: number) => (vals[k] as NDArray).handle;
  const maxIns = backend?.maxKernelInputs ?? Infinity;
  for (let k = 0; k < steps.length; k++) {
    const s = steps[k];
    let asKernel = false;
    if (s.kind === "kernel" && backend && s.inputs.length <= maxIns) {
      // The head's output is not computed yet: the fused path needs what it and the rest of the kernel read.
      const needed = s.head ? [...plan.headIns[k], ...plan.otherIns[k]] : plan.kernelIns[k];
      asKernel = needed.every(onBackend);
    }
    if (asKernel) {
      const sk = s as Extract<Step, { kind: "kernel" }>;
      let out: Handle | null = null;
      if (sk.head && backend!.runEpilogue) {
        out = backend!.runEpilogue(routineOf(sk.head.eqn), plan.headIns[k].map(handle), sk.kernel, sk.head.input, plan.otherIns[k].map(handle));
        if (out !== null) fusionStats.epiloguesRun++;
      }
      if (out === null) {
        // No epilogue here (or not for this program): materialise the head's output, then run the kernel.
        if (sk.head) runEqn(sk.head.eqn, plan.eqnIns[k][0], plan.eqnOuts[k][0]);
        out = backend!.runKernel!(sk.kernel, plan.kernelIns[k].map(handle));
      }
      vals[plan.outSlot[k]] = new NDArray(sk.out.aval, backend!, out);
      fusionStats.kernelsRun++;
      fusionStats.eqnsFused += sk.eqns.length;
    } else {
      // An ordinary equation, or a kernel whose inputs left the CPU: run its equations one by one.
      const eqns = s.kind === "eqn" ? [s.eqn] : [...(s.head ? [s.head.eqn] : []), ...s.eqns];
      // A kernel's copy of a value that an earlier step stored is already bound.
      eqns.forEach((e, i) => plan.eqnOuts[k][i].every((o) => vals[o] !== undefined) || runEqn(e, plan.eqnIns[k][i], plan.eqnOuts[k][i]));
    }
    for (const d of asKernel ? plan.freeAsKernel[k] : plan.freeAsEqns[k]) {
      // A head run as the kernel's epilogue never materialised its output.
      vals[d]?.dispose();
      vals[d] = undefined;
    }
  }
  return plan.outSlots.map(read);

  function runEqn(e: Eqn, ins: number[], outs: number[]): void {
    const res = bind(e.prim, ins.map(read), e.params);
    outs.forEach((o, i) => (vals[o] = res[i]));
  }
}
