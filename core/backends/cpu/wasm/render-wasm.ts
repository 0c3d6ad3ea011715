/**
 * Renders kernel IR (core/compiler/ir.ts) to a WebAssembly function, bit for bit the
 * JavaScript renderer's results (render-js.ts): every float is computed in f64, as
 * JavaScript computes, and each float32 ALU result is rounded through f32 exactly where
 * the JS kernel calls Math.fround. Transcendentals and the rarer integer helpers call
 * the same JavaScript functions (Math.exp, lib.erf, ...) as imports, so they agree too.
 *
 * The exported `kernel(lo, hi, out, in0, in1, ...)` runs iterations [lo, hi) of the
 * outermost loop, so threads can split a kernel into blocks; pointers are byte offsets
 * in the imported shared memory. Loops, hoisting and merged trailing axes are those of
 * render-js.ts (`loopPlan`).
 */
import { bytesPer, type DType } from "../../../dtype.ts";
import { lib } from "../scalar-lib.ts";
import { INDEX_OPS, topoSort, type IRNode, type IRType, type Kernel, type ReduceOp } from "../../../compiler/ir.ts";
import { aluDef, aluTypes } from "../../../compiler/alu.ts";
import { interleavedPlan, loopPlan, type LoopPlan } from "../../../compiler/loop-plan.ts";
import { FunctionBuilder, ModuleBuilder, type FunctionImport, type ValType } from "./emit.ts";
import { MATH_IMPORTS } from "./math-imports.js";
import { simdPlan } from "./simd-plan.ts";

const MAX_PAGES = 65536;

/**
 * The JavaScript each import runs; an i32 result converts with ToInt32, as `| 0` does.
 * `MATH_IMPORTS` (math-imports.js) are the ones worker threads define too; kernels calling
 * the others run on the calling thread only.
 */
export const WASM_IMPORTS = {
  ...MATH_IMPORTS,
  erf: lib.erf,
  erfInv: lib.erfInv,
  erfInv64: lib.erfInv64,
  ipow: (a: number, b: number) => lib.ipow(a, b),
  upow: (a: number, b: number) => lib.ipow(a >>> 0, b >>> 0),
};
type ImportName = keyof typeof WASM_IMPORTS;

const SIGS: Record<ImportName, [ValType[], ValType[]]> = {
  exp: [["f64"], ["f64"]],
  log: [["f64"], ["f64"]],
  log1p: [["f64"], ["f64"]],
  expm1: [["f64"], ["f64"]],
  sin: [["f64"], ["f64"]],
  cos: [["f64"], ["f64"]],
  tan: [["f64"], ["f64"]],
  tanh: [["f64"], ["f64"]],
  atan2: [["f64", "f64"], ["f64"]],
  pow: [["f64", "f64"], ["f64"]],
  erf: [["f64"], ["f64"]],
  erfInv: [["f64"], ["f64"]],
  erfInv64: [["f64"], ["f64"]],
  fmod: [["f64", "f64"], ["f64"]],
  toInt32: [["f64"], ["i32"]],
  ipow: [["i32", "i32"], ["i32"]],
  upow: [["i32", "i32"], ["i32"]],
};

const isFloatType = (d: IRType) => d === "float32" || d === "float64";
const valType = (d: IRType): ValType => (isFloatType(d) ? "f64" : "i32");

export interface WasmKernelCode {
  bytes: Uint8Array<ArrayBuffer>;
  /** Iterations of the outermost loop (the range `kernel(lo, hi, ...)` splits); 1 without loops. */
  outer: number;
  /** Whether blocks of the outer loop may run on different threads (false when it is a reduced axis or an import is main-thread only). */
  splittable: boolean;
  /** Whether the innermost loop runs four float32 elements at a time (simd-plan.ts). */
  vectorized: boolean;
  /**
   * Bytes of scratch memory an interleaved sum (loop-plan.ts) keeps its accumulators in; the
   * caller passes a block of them as the last pointer. 0: none, and no such parameter.
   */
  scratchBytes: number;
}

/** Emits one kernel; see the file comment. */
export function renderWasm(k: Kernel): WasmKernelCode {
  const interleaved = interleavedPlan(k);
  const plan: LoopPlan = interleaved ?? loopPlan(k);
  const iv = plan.interleave;
  const m = new ModuleBuilder({ minPages: 1, maxPages: MAX_PAGES });
  const nodes = topoSort(k.body);
  // Imports first (one index space); only those the body uses.
  const wanted = new Set<ImportName>(["toInt32"]);
  for (const n of nodes) for (const i of importsOf(n)) wanted.add(i);
  const imports = new Map<ImportName, FunctionImport>();
  for (const name of Object.keys(SIGS) as ImportName[]) if (wanted.has(name)) imports.set(name, m.importFn(name, ...SIGS[name]));

  const f = m.fn("kernel", ["i32", "i32", "i32", ...k.inputs.map((): ValType => "i32"), ...(iv ? ["i32" as const] : [])]);
  const [LO, HI, OUT] = [0, 1, 2];
  const SCRATCH = IN0 + k.inputs.length;
  const loopVar = plan.loops.map(() => f.local("i32"));
  const flatPart = plan.loops.map(() => f.local("i32"));
  const counter = f.local("i32"); // f: the counted flat index
  const outIdx = f.local("i32"); // o: the reduction's output index
  const acc = f.local("f64");
  // The other three accumulators of a four-lane sum (LoopPlan.sumLanes).
  const lanes = plan.sumLanes === 4 ? [f.local("f64"), f.local("f64"), f.local("f64")] : [];
  const local = new Map<IRNode, number>();
  const imp = (name: ImportName) => imports.get(name)!;

  const e = new Emitter(f, k, plan, local, loopVar, flatPart, counter, imp);
  // Statements at each loop level (index 0: before every loop).
  const depth = plan.depthOf(nodes);
  const at: IRNode[][] = Array.from({ length: plan.loops.length + 1 }, () => []);
  for (const n of nodes) if (!LEAF.has(n.op)) at[depth.get(n)! + 1].push(n);
  for (const n of nodes) if (!LEAF.has(n.op)) local.set(n, f.local(valType(n.dtype)));
  // The innermost loop four float32 elements at a time where it can (simd-plan.ts), the rest one by one.
  const simd = simdPlan(k, plan, nodes, depth);
  const vecLocal = new Map<IRNode, number>();
  for (const n of simd?.vector ?? []) vecLocal.set(n, f.local("v128"));
  const vec = new VectorEmitter(f, e, local, vecLocal);
  // A four-lane sum's accumulators: lanes (0, 1) and (2, 3) of its four.
  const vecAcc = simd && k.reduce ? [f.local("v128"), f.local("v128")] : [];

  const r = k.reduce ? k.reduce.op : null;
  const innerPerOuter = plan.loops.slice(1).reduce((a, l) => a * l.extent, 1);
  const keptPerOuter = plan.keptLoops > 0 ? plan.loops.slice(1, plan.keptLoops).reduce((a, l) => a * l.extent, 1) * (iv?.k2Size ?? 1) : 0;
  const inner = plan.loops.length - 1;

  // Counters start where block lo begins.
  if (plan.counted) f.get(LO).i32(innerPerOuter).op("i32.mul").set(counter);
  if (r) {
    if (plan.keptLoops > 0) f.get(LO).i32(keptPerOuter).op("i32.mul").set(outIdx);
    else f.i32(0).set(outIdx);
  }

  const flatAt = (level: number) => {
    if (plan.usesFlat && !plan.counted && level >= 0) {
      if (level > 0) f.get(flatPart[level - 1]);
      else f.i32(0);
      f.get(loopVar[level]).i32(plan.loops[level].stride).op("i32.mul").op("i32.add").set(flatPart[level]);
    }
  };
  const statements = (level: number) => {
    flatAt(level);
    for (const n of at[level + 1]) {
      e.value(n);
      f.set(local.get(n)!);
    }
  };
  const innermost = () => {
    if (r) {
      e.combine(r, acc, k.body, lanes);
      if (plan.counted) f.addTo(counter, 1);
    } else {
      // out[f] = value; f++
      e.address(OUT, () => f.get(counter), k.out.dtype);
      e.push(k.body);
      e.store(k.out.dtype);
      f.addTo(counter, 1);
    }
  };
  // Four elements of the innermost loop, at its index and the three after.
  const innermostVector = () => {
    flatAt(inner);
    for (const n of simd!.scalar) {
      e.value(n);
      f.set(local.get(n)!);
    }
    for (const n of simd!.vector) {
      vec.value(n);
      f.set(vecLocal.get(n)!);
    }
    if (r) {
      const [lo, hi] = vecAcc;
      vec.push(k.body);
      f.op("f64x2.promote_low_f32x4").get(lo).op("f64x2.add").set(lo);
      vec.push(k.body);
      vec.push(k.body);
      f.shuffleF32([2, 3, 0, 1]).op("f64x2.promote_low_f32x4").get(hi).op("f64x2.add").set(hi);
      if (plan.counted) f.addTo(counter, 4);
    } else {
      e.address(OUT, () => f.get(counter), "float32");
      vec.push(k.body);
      f.mem("v128.store");
      f.addTo(counter, 4);
    }
  };
  const storeAcc = () => {
    e.address(OUT, () => f.get(outIdx), k.out.dtype);
    if (vecAcc.length > 0 && !iv) {
      // Every element went through the lanes: (a0 + a1) + (a2 + a3), as the scalar accumulators combine.
      const [lo, hi] = vecAcc;
      f.get(lo).f64Lane(0).get(lo).f64Lane(1).op("f64.add").get(hi).f64Lane(0).get(hi).f64Lane(1).op("f64.add").op("f64.add");
    } else {
      f.get(acc);
      if (lanes.length > 0) f.get(lanes[0]).op("f64.add").get(lanes[1]).get(lanes[2]).op("f64.add").op("f64.add");
    }
    e.fromF64(k.out.dtype);
    e.store(k.out.dtype);
    f.addTo(outIdx, 1);
  };
  const loop = (level: number) => {
    // The outermost loop runs the block [lo, hi) the caller passes; the others their whole extent.
    const v = loopVar[level];
    if (level === 0) f.get(LO).set(v);
    else f.i32(0).set(v);
    const end = () => (level === 0 ? f.get(HI) : f.i32(plan.loops[level].extent));
    if (simd && level === inner) {
      // Four at a time while four remain; the scalar loop below takes the rest from v.
      f.block().loop().get(v).i32(4).op("i32.add");
      end();
      f.op("i32.gt_u").brIf(1);
      innermostVector();
      f.addTo(v, 4).br(0).end().end();
      // An interleaved sum's lanes are its accumulators in the scalar ones' positions: the tail goes on from them.
      if (iv)
        vecAcc.forEach((a, i) =>
          [0, 1].forEach((lane) =>
            f
              .get(a)
              .f64Lane(lane as 0 | 1)
              .set([acc, ...lanes][2 * i + lane]),
          ),
        );
    }
    f.block().loop().get(v);
    end();
    f.op("i32.ge_u").brIf(1);
    block(level);
    f.addTo(v, 1).br(0).end().end();
  };
  // An interleaved sum's four accumulators of one output live at `slot` between its runs, as
  // the scalar ones hold them (the one the next element joins first, as the rotation leaves
  // them). Element j of an output joins chain j % 4, so at the start of each run those four
  // are its lanes in order whatever the run's length: a four-lane run loads them as its two
  // vector halves, and hands them back to the scalar accumulators for its tail.
  const slot = f.local("i32");
  const k2Index = f.local("i32");
  const scalarState: [number, ValType, number][] = [acc, ...lanes].map((a, i) => [a, "f64", 8 * i]);
  const loadState = (state = scalarState) => {
    for (const [a, t, at] of state)
      f.get(slot)
        .mem(t === "v128" ? "v128.load" : "f64.load", at)
        .set(a);
  };
  const saveState = () => {
    for (const [a, , at] of scalarState) f.get(slot).get(a).mem("f64.store", at);
  };
  // slot = scratch + (outer iteration * k2Size + index within the inner kept group) * 32.
  const setSlot = (index: () => void) => {
    // Threads split the outermost loop when it is kept: each iteration has its own slots.
    f.get(SCRATCH);
    if (iv!.outer > 0) f.get(loopVar[0]).i32(iv!.k2Size).op("i32.mul");
    else f.i32(0);
    index();
    f.op("i32.add").i32(32).op("i32.mul").op("i32.add").set(slot);
  };
  // Runs `body` for each output of the inner kept group, with its slot set.
  const eachOutput = (body: () => void) => {
    f.i32(0).set(k2Index);
    f.block().loop().get(k2Index).i32(iv!.k2Size).op("i32.ge_u").brIf(1);
    setSlot(() => f.get(k2Index));
    body();
    f.addTo(k2Index, 1).br(0).end().end();
  };
  const block = (level: number) => {
    statements(level);
    if (iv && level === iv.outer - 1) {
      // Zero every output's accumulators, run the reduced and kept loops in memory order, then combine and store each output.
      f.f64(0).set(acc);
      for (const a of lanes) f.f64(0).set(a);
      for (const a of vecAcc) f.f32x4(0).set(a);
      eachOutput(saveState);
      loop(level + 1);
      eachOutput(() => {
        loadState();
        storeAcc();
      });
    } else if (iv && level === iv.outer + iv.r1 + iv.k2 - 1) {
      setSlot(() => {
        // The row-major index within the inner kept group.
        const first = iv.outer + iv.r1;
        f.i32(0);
        for (let l = first; l <= level; l++) f.i32(plan.loops[l].extent).op("i32.mul").get(loopVar[l]).op("i32.add");
      });
      loadState(simd ? vecAcc.map((a, i): [number, ValType, number] => [a, "v128", 16 * i]) : scalarState);
      loop(level + 1);
      saveState();
    } else if (r && level === plan.keptLoops - 1) {
      f.f64(REDUCE_INIT[r]).set(acc);
      for (const a of lanes) f.f64(0).set(a);
      for (const a of vecAcc) f.f32x4(0).set(a);
      if (level === inner) innermost();
      else loop(level + 1);
      storeAcc();
    } else if (level === inner) innermost();
    else loop(level + 1);
  };
  block(-1);

  const threadSafe = [...wanted].every((name) => name in MATH_IMPORTS);
  return {
    bytes: m.bytes(),
    outer: plan.loops.length > 0 ? plan.loops[0].extent : 1,
    splittable: threadSafe && plan.loops.length > 0 && (!r || plan.keptLoops > 0),
    vectorized: simd !== null,
    scratchBytes: interleaved?.scratchBytes ?? 0,
  };
}

const LEAF = new Set(["const", "idx", "flat"]);

/** Parameters of `kernel`: lo, hi, the output pointer, then the input pointers from IN0. */
const IN0 = 3;

/** How each dtype is read into its computing type (f64 for floats, i32 otherwise) and written back. */
const ACCESS: Record<DType, { load: (f: FunctionBuilder) => void; store: (f: FunctionBuilder) => void }> = {
  float32: { load: (f) => f.mem("f32.load").op("f64.promote_f32"), store: (f) => f.op("f32.demote_f64").mem("f32.store") },
  float64: { load: (f) => f.mem("f64.load"), store: (f) => f.mem("f64.store") },
  int32: { load: (f) => f.mem("i32.load"), store: (f) => f.mem("i32.store") },
  uint32: { load: (f) => f.mem("i32.load"), store: (f) => f.mem("i32.store") },
  bool: { load: (f) => f.mem("i32.load8_u"), store: (f) => f.mem("i32.store8") },
};

const REDUCE_INIT: Record<ReduceOp, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity };

/** The imports an ALU node calls. */
function importsOf(n: IRNode): ImportName[] {
  if (LEAF.has(n.op) || INDEX_OPS.has(n.op) || n.op === "load") return [];
  return (aluDef(n.op, "renderWasm").wasm.imports?.(aluTypes(n)) ?? []) as ImportName[];
}

/** Writes the instructions computing IR nodes; values of hoisted nodes are read from their locals. */
class Emitter {
  constructor(
    private readonly f: FunctionBuilder,
    private readonly k: Kernel,
    private readonly plan: LoopPlan,
    private readonly local: Map<IRNode, number>,
    private readonly loopVar: number[],
    private readonly flatPart: number[],
    private readonly counter: number,
    private readonly imp: (name: ImportName) => FunctionImport,
  ) {}

  /** Pushes node n's value (its local once computed; leaves directly). */
  push(n: IRNode): void {
    const f = this.f;
    switch (n.op) {
      case "const":
        if (isFloatType(n.dtype)) f.f64(n.arg!);
        else f.i32(n.arg! | 0);
        return;
      case "idx":
        f.get(this.loopVar[this.plan.levelOfAxis(n.arg!)]);
        return;
      case "flat":
        if (this.plan.counted) f.get(this.counter);
        else if (this.plan.loops.length === 0) f.i32(0);
        else f.get(this.flatPart[this.plan.loops.length - 1]);
        return;
      default:
        f.get(this.local.get(n)!);
    }
  }

  /** Pushes the value of a non-leaf node from its arguments. */
  value(n: IRNode): void {
    const f = this.f;
    const a = n.args;
    switch (n.op) {
      case "load": {
        const dt = this.k.inputs[n.arg!].dtype;
        this.address(IN0 + n.arg!, () => this.push(a[0]), dt);
        this.load(dt);
        return;
      }
      case "iadd":
      case "isub":
      case "imul":
      case "idiv":
      case "imod": {
        this.push(a[0]);
        this.push(a[1]);
        f.op(({ iadd: "i32.add", isub: "i32.sub", imul: "i32.mul", idiv: "i32.div_u", imod: "i32.rem_u" } as const)[n.op as "iadd"]);
        return;
      }
    }
    this.alu(n);
  }

  /** Pushes the byte address of element `index()` of the `dt` array whose pointer is parameter `ptr`. */
  address(ptr: number, index: () => void, dt: DType): void {
    this.f.get(ptr);
    index();
    this.f.i32(bytesPer(dt)).op("i32.mul").op("i32.add");
  }

  private load(dt: DType): void {
    ACCESS[dt].load(this.f);
  }

  /** Stores the value on the stack (f64 for floats, i32 otherwise) at the address below it. */
  store(dt: DType): void {
    ACCESS[dt].store(this.f);
  }

  /** Converts an f64 on the stack to what a typed array of `dt` stores (ToInt32 for integers). */
  fromF64(dt: DType): void {
    if (dt === "float32" || dt === "float64") return;
    this.toInt32();
  }

  /** ToInt32 of the f64 on the stack: a direct truncation when it is in range, else the import. */
  private toInt32(): void {
    const f = this.f;
    const t = f.local("f64");
    f.set(t).get(t).op("f64.abs").f64(2147483648).op("f64.lt").if("i32");
    f.get(t).op("i32.trunc_sat_f64_s").else().get(t).call(this.imp("toInt32")).end();
  }

  /** Math.fround of the f64 on the stack. */
  private fround(): void {
    this.f.op("f32.demote_f64").op("f64.promote_f32");
  }

  /** acc = combine(acc, body) in float64, as render-js.ts folds; with `lanes`, a sum into acc, then the accumulators rotate. */
  combine(op: ReduceOp, acc: number, body: IRNode, lanes: number[]): void {
    const f = this.f;
    const v = f.local("f64");
    this.push(body);
    this.toF64(body.dtype);
    f.set(v);
    if (lanes.length > 0) {
      f.get(acc).get(v).op("f64.add").set(v);
      f.get(lanes[0]).set(acc).get(lanes[1]).set(lanes[0]).get(lanes[2]).set(lanes[1]).get(v).set(lanes[2]);
      return;
    }
    switch (op) {
      case "sum":
        f.get(acc).get(v).op("f64.add").set(acc);
        return;
      case "prod":
        f.get(acc).get(v).op("f64.mul").set(acc);
        return;
      default:
        // (v > acc || v !== v) ? v : acc, and < for min.
        f.get(v)
          .get(acc)
          .get(v)
          .get(acc)
          .op(op === "max" ? "f64.gt" : "f64.lt")
          .get(v)
          .get(v)
          .op("f64.ne")
          .op("i32.or")
          .op("select")
          .set(acc);
    }
  }

  /** The i32 on the stack as the JS number it stands for (signed, unsigned or 0/1). */
  private toF64(d: IRType): void {
    if (isFloatType(d)) return;
    this.f.op(d === "int32" ? "f64.convert_i32_s" : "f64.convert_i32_u");
  }

  private alu(n: IRNode): void {
    const f = this.f;
    const t = aluTypes(n);
    const def = aluDef(n.op, "renderWasm");
    def.wasm.emit(
      {
        f,
        arg: (i) => this.push(n.args[i]),
        args: () => n.args.forEach((x) => this.push(x)),
        call: (name) => void f.call(this.imp(name as ImportName)),
        toF64: (d) => this.toF64(d),
        fround: () => this.fround(),
        intDivide: (op) => this.intDivide(op),
      },
      t,
    );
    // Float results are rounded to float32 where render-js.ts rounds; integers come out exact.
    if (t.to === "float32" && !def.exact) this.fround();
  }

  /**
   * lib.idiv / lib.irem then ToInt32: 0 for a zero divisor; the signed quotient of
   * -2^31 / -1 wraps to -2^31 (div_s would trap). Math.trunc(a / b) is the exact
   * truncated quotient for 32-bit operands, so div_s / div_u give the same value.
   */
  private intDivide(op: "i32.div_s" | "i32.div_u" | "i32.rem_s" | "i32.rem_u"): void {
    const f = this.f;
    const [a, b] = [f.local("i32"), f.local("i32")];
    f.set(b).set(a);
    f.get(b).op("i32.eqz").if("i32").i32(0).else();
    if (op === "i32.div_s") {
      f.get(a).i32(-2147483648).op("i32.eq").get(b).i32(-1).op("i32.eq").op("i32.and").if("i32").i32(-2147483648).else();
      f.get(a).get(b).op(op).end();
    } else f.get(a).get(b).op(op);
    f.end();
  }
}

/** Writes the four-lane instructions of the nodes a SimdPlan vectorises (simd-plan.ts). */
class VectorEmitter {
  constructor(
    private readonly f: FunctionBuilder,
    private readonly e: Emitter,
    private readonly local: Map<IRNode, number>,
    private readonly vecLocal: Map<IRNode, number>,
  ) {}

  /** Pushes n's lanes: its v128 local, a constant, or a value fixed in the loop copied to every lane (a bool as a mask). */
  push(n: IRNode): void {
    const f = this.f;
    const v = this.vecLocal.get(n);
    if (v !== undefined) f.get(v);
    else if (n.op === "const" && n.dtype === "float32") f.f32x4(n.arg!);
    else if (n.op === "const")
      f.f32x4(0)
        .f32x4(0)
        .op(n.arg ? "f32x4.eq" : "f32x4.ne");
    else if (n.dtype === "float32") f.get(this.local.get(n)!).op("f32.demote_f64").op("f32x4.splat");
    else f.get(this.local.get(n)!).op("i32x4.splat").f32x4(0).op("i32x4.ne");
  }

  /** Pushes the lanes of a vectorised node from its operands. */
  value(n: IRNode): void {
    const f = this.f;
    if (n.op === "load") {
      this.e.address(IN0 + n.arg!, () => this.e.push(n.args[0]), "float32");
      f.mem("v128.load");
      return;
    }
    aluDef(n.op, "renderWasm").f32x4!({ f, arg: (i) => this.push(n.args[i]), args: () => n.args.forEach((a) => this.push(a)) });
  }
}
