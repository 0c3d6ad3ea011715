/**
 * A jaxpr's fused plan run on buffer handles of one backend, without array objects: what a
 * loop runs once per step. Each value is a handle in a slot; a step's dead values go back
 * to the backend at once. Outputs are always the caller's own references (an output that
 * is an input is shared, not returned as the same reference).
 */
import { routineOf } from "./eager.ts";
import type { Backend, Handle } from "../backend.ts";
import type { Eqn, Jaxpr, Var } from "../jaxpr.ts";
import type { ShapedArray } from "../tracer.ts";
import { checkAddressable } from "../shape.ts";
import { fusionStats, planFor, type Step } from "./index.ts";

export type HandleProgram = (ins: Handle[]) => Handle[];

const programs = new WeakMap<Jaxpr, WeakMap<Backend, HandleProgram | null>>();

/**
 * The program for `jaxpr` (inputs: its constants, then its arguments) on `backend`, or null
 * where a step needs array objects: higher-order primitives (loops, calls) inside, or a
 * kernel with more inputs than the backend binds.
 */
export function handleProgram(jaxpr: Jaxpr, backend: Backend): HandleProgram | null {
  let perBackend = programs.get(jaxpr);
  if (!perBackend) programs.set(jaxpr, (perBackend = new WeakMap()));
  if (!perBackend.has(backend)) perBackend.set(backend, build(jaxpr, backend));
  return perBackend.get(backend)!;
}

function build(jaxpr: Jaxpr, backend: Backend): HandleProgram | null {
  if (!backend.runKernel || !backend.share) return null;
  const plan = planFor(jaxpr, backend);
  const { steps } = plan;
  const stepEqns = (s: Step) => (s.kind === "eqn" ? [s.eqn] : s.head ? [s.head.eqn] : []);
  if (steps.some((s) => stepEqns(s).some((e) => e.prim.evaluate || e.prim.inline))) return null;
  if (steps.some((s) => s.kind === "kernel" && s.inputs.length > (backend.maxKernelInputs ?? Infinity))) return null;
  for (const s of steps) if (s.kind === "kernel") checkAddressable(`jit (a fused kernel of ${s.eqns.map((e) => e.prim.name).join(", ")})`, s.kernel.shape);
  // The aval of every slot, for freeing.
  const avals: ShapedArray[] = new Array(plan.nSlots);
  const note = (vs: readonly Var[], slots: readonly number[]) => vs.forEach((v, i) => (avals[slots[i]] = v.aval));
  note(jaxpr.constVars, plan.constSlots);
  note(jaxpr.inVars, plan.inSlots);
  steps.forEach((s, k) => {
    stepEqns(s).forEach((e, i) => {
      note(e.inputs, plan.eqnIns[k][i]);
      note(e.outs, plan.eqnOuts[k][i]);
    });
    if (s.kind === "kernel") {
      note(s.inputs, plan.kernelIns[k]);
      avals[plan.outSlot[k]] = s.out.aval;
    }
  });
  const inputSlots = [...plan.constSlots, ...plan.inSlots];
  const isInput = new Set(inputSlots);
  // An output that is an input, or repeats an earlier output, is handed out as another owner of its buffer.
  const shareOut = plan.outSlots.map((k, i) => isInput.has(k) || plan.outSlots.indexOf(k) < i);
  const share = backend.share.bind(backend);
  const nIn = inputSlots.length;
  // One slot array per program, reused by every call (a body never runs inside itself).
  const vals: Handle[] = new Array(plan.nSlots);
  const pick = (slots: number[]) => {
    const out = new Array<Handle>(slots.length);
    for (let i = 0; i < slots.length; i++) out[i] = vals[slots[i]];
    return out;
  };
  const runEqn = (e: Eqn, inSlots: number[], outSlots: number[]): void => {
    if (e.prim.viewOf !== undefined) {
      vals[outSlots[0]] = share(vals[inSlots[e.prim.viewOf]]);
      return;
    }
    const res = backend.execute(routineOf(e), pick(inSlots));
    for (let j = 0; j < outSlots.length; j++) vals[outSlots[j]] = res[j];
  };
  return (ins) => {
    for (let i = 0; i < nIn; i++) vals[inputSlots[i]] = ins[i];
    for (let k = 0; k < steps.length; k++) {
      const s = steps[k];
      if (s.kind === "eqn") runEqn(s.eqn, plan.eqnIns[k][0], plan.eqnOuts[k][0]);
      else {
        let out: Handle | null = null;
        if (s.head && backend.runEpilogue) {
          out = backend.runEpilogue(routineOf(s.head.eqn), pick(plan.headIns[k]), s.kernel, s.head.input, pick(plan.otherIns[k]));
          if (out !== null) fusionStats.epiloguesRun++;
        }
        if (out === null) {
          if (s.head) runEqn(s.head.eqn, plan.eqnIns[k][0], plan.eqnOuts[k][0]);
          out = backend.runKernel!(s.kernel, pick(plan.kernelIns[k]));
        }
        vals[plan.outSlot[k]] = out;
        fusionStats.kernelsRun++;
        fusionStats.eqnsFused += s.eqns.length;
      }
      const dead = s.kind === "kernel" ? plan.freeAsKernel[k] : plan.freeAsEqns[k];
      for (let i = 0; i < dead.length; i++) {
        const d = dead[i];
        // A head run as the kernel's epilogue never materialised its output.
        if (vals[d] !== undefined) backend.free(vals[d], avals[d]);
        vals[d] = undefined;
      }
    }
    const outs = new Array<Handle>(plan.outSlots.length);
    for (let i = 0; i < outs.length; i++) outs[i] = shareOut[i] ? share(vals[plan.outSlots[i]]) : vals[plan.outSlots[i]];
    vals.fill(undefined);
    return outs;
  };
}
