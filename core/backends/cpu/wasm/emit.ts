/**
 * A small builder for WebAssembly binaries: enough of the format (types, one imported
 * shared memory, functions with locals, exports) to generate compute kernels at run time
 * without a toolchain. Instructions are written as a flat byte list, in the order of the
 * spec's text format.
 *
 *   const m = new ModuleBuilder({ minPages: 1, maxPages: 16 });
 *   const f = m.fn("add", ["i32", "i32"], ["i32"]);
 *   f.get(0).get(1).op("i32.add");
 *   new WebAssembly.Module(m.bytes());
 */

export type ValType = "i32" | "f32" | "f64" | "v128";

const valTypeCode: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Opcodes without immediates. SIMD ones are 0xfd followed by a LEB128 index. */
const plainOps = {
  "i32.eqz": [0x45],
  "i32.eq": [0x46],
  "i32.ne": [0x47],
  "i32.lt_s": [0x48],
  "i32.lt_u": [0x49],
  "i32.gt_s": [0x4a],
  "i32.gt_u": [0x4b],
  "i32.le_s": [0x4c],
  "i32.le_u": [0x4d],
  "i32.ge_s": [0x4e],
  "i32.ge_u": [0x4f],
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "i32.mul": [0x6c],
  "i32.div_s": [0x6d],
  "i32.div_u": [0x6e],
  "i32.rem_s": [0x6f],
  "i32.rem_u": [0x70],
  "i32.and": [0x71],
  "i32.or": [0x72],
  "i32.xor": [0x73],
  "i32.shl": [0x74],
  "i32.shr_u": [0x76],
  "f32.eq": [0x5b],
  "f32.ne": [0x5c],
  "f32.lt": [0x5d],
  "f32.gt": [0x5e],
  "f64.eq": [0x61],
  "f64.ne": [0x62],
  "f64.lt": [0x63],
  "f64.gt": [0x64],
  "f64.le": [0x65],
  "f64.ge": [0x66],
  "f32.abs": [0x8b],
  "f32.neg": [0x8c],
  "f32.floor": [0x8e],
  "f32.add": [0x92],
  "f32.sub": [0x93],
  "f32.mul": [0x94],
  "f32.div": [0x95],
  "i32.reinterpret_f32": [0xbc],
  "f32.convert_i32_s": [0xb2],
  "f32.reinterpret_i32": [0xbe],
  "f64.abs": [0x99],
  "f64.neg": [0x9a],
  "f64.ceil": [0x9b],
  "f64.floor": [0x9c],
  "f64.nearest": [0x9e],
  "f64.sqrt": [0x9f],
  "f64.add": [0xa0],
  "f64.sub": [0xa1],
  "f64.mul": [0xa2],
  "f64.div": [0xa3],
  "f64.min": [0xa4],
  "f64.max": [0xa5],
  "f32.demote_f64": [0xb6],
  "f64.convert_i32_s": [0xb7],
  "f64.convert_i32_u": [0xb8],
  "f64.promote_f32": [0xbb],
  "i32.trunc_sat_f64_s": [0xfc, 0x02],
  "i32.trunc_sat_f64_u": [0xfc, 0x03],
  select: [0x1b],
  drop: [0x1a],
  return: [0x0f],
  "f32x4.splat": simd(0x13),
  "i32x4.splat": simd(0x11),
  "i32x4.eq": simd(0x37),
  "f32x4.eq": simd(0x41),
  "f32x4.ne": simd(0x42),
  "f32x4.lt": simd(0x43),
  "f32x4.gt": simd(0x44),
  "v128.and": simd(0x4e),
  "v128.or": simd(0x50),
  "v128.bitselect": simd(0x52),
  "i32x4.ne": simd(0x38),
  "f32x4.le": simd(0x45),
  "f32x4.ge": simd(0x46),
  "f32x4.ceil": simd(0x67),
  "f32x4.floor": simd(0x68),
  "f32x4.nearest": simd(0x6a),
  "f32x4.pmin": simd(0xea),
  "f32x4.pmax": simd(0xeb),
  "i32x4.shl": simd(0xab),
  "i32x4.shr_u": simd(0xad),
  "i32x4.sub": simd(0xb1),
  "f32x4.convert_i32x4_s": simd(0xfa),
  "f32x4.abs": simd(0xe0),
  "f32x4.neg": simd(0xe1),
  "f32x4.sqrt": simd(0xe3),
  "f32x4.add": simd(0xe4),
  "f32x4.sub": simd(0xe5),
  "f32x4.mul": simd(0xe6),
  "f32x4.div": simd(0xe7),
  "f64x2.promote_low_f32x4": simd(0x5f),
  "f64x2.sqrt": simd(0xef),
  "f64x2.add": simd(0xf0),
  // Relaxed SIMD; Node 20 rejects it unless started with --experimental-wasm-relaxed-simd.
  "f32x4.relaxed_madd": simd(0x105),
} as const;

/** Memory instructions: opcode bytes and the natural alignment (log2 bytes) used in the memarg. */
const memOps = {
  "i32.load": [[0x28], 2],
  "f32.load": [[0x2a], 2],
  "i32.store": [[0x36], 2],
  "f32.store": [[0x38], 2],
  "f64.load": [[0x2b], 3],
  "f64.store": [[0x39], 3],
  "i32.load8_u": [[0x2d], 0],
  "i32.store8": [[0x3a], 0],
  "v128.load": [simd(0x00), 4],
  "v128.load32_splat": [simd(0x09), 2],
  "v128.store": [simd(0x0b), 4],
  // Atomics (prefix 0xfe) must use exactly the natural alignment.
  "i32.atomic.rmw.add": [[0xfe, 0x1e], 2],
} as const satisfies Record<string, readonly [readonly number[], number]>;

export type PlainOp = keyof typeof plainOps;
export type MemOp = keyof typeof memOps;

function simd(index: number): number[] {
  return [0xfd, ...uleb(index)];
}

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    // Stop once the remaining bits are all copies of the sign bit just written.
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** One function: signature, locals and a body written with chained instruction calls. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly name: string,
    readonly index: number,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** Declares a local and returns its index (parameters come first). */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(name: PlainOp): this {
    this.code.push(...plainOps[name]);
    return this;
  }

  get(i: number): this {
    this.code.push(0x20, ...uleb(i));
    return this;
  }

  set(i: number): this {
    this.code.push(0x21, ...uleb(i));
    return this;
  }

  tee(i: number): this {
    this.code.push(0x22, ...uleb(i));
    return this;
  }

  i32(v: number): this {
    this.code.push(0x41, ...sleb(v));
    return this;
  }

  /** An i64 constant in the i32 range (its signed LEB128 is the same bytes). */
  i64(v: number): this {
    this.code.push(0x42, ...sleb(v));
    return this;
  }

  f32(v: number): this {
    this.code.push(0x43, ...new Uint8Array(new Float32Array([v]).buffer));
    return this;
  }

  f64(v: number): this {
    this.code.push(0x44, ...new Uint8Array(new Float64Array([v]).buffer));
    return this;
  }

  /** A v128 with every f32 lane equal to v. */
  f32x4(v: number): this {
    const lanes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    this.code.push(...simd(0x0c), ...lanes);
    return this;
  }

  /** f64x2.extract_lane: lane `lane` (0 or 1) of the v128 on the stack, as an f64. */
  f64Lane(lane: 0 | 1): this {
    this.code.push(...simd(0x21), lane);
    return this;
  }

  /** i8x16.shuffle picking f32 lanes: 0-3 from the first operand, 4-7 from the second. */
  shuffleF32(lanes: readonly [number, number, number, number]): this {
    this.code.push(...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
    return this;
  }

  /** A load or store at the address on the stack plus a constant byte offset. */
  mem(name: MemOp, offset = 0): this {
    const [bytes, align] = memOps[name];
    this.code.push(...bytes, align, ...uleb(offset));
    return this;
  }

  block(): this {
    this.code.push(0x02, 0x40);
    return this;
  }

  loop(): this {
    this.code.push(0x03, 0x40);
    return this;
  }

  /** `if` without a result, or with one value of type `result`. */
  if(result?: ValType): this {
    this.code.push(0x04, result ? valTypeCode[result] : 0x40);
    return this;
  }

  else(): this {
    this.code.push(0x05);
    return this;
  }

  end(): this {
    this.code.push(0x0b);
    return this;
  }

  br(depth: number): this {
    this.code.push(0x0c, ...uleb(depth));
    return this;
  }

  brIf(depth: number): this {
    this.code.push(0x0d, ...uleb(depth));
    return this;
  }

  call(fn: { index: number }): this {
    this.code.push(0x10, ...uleb(fn.index));
    return this;
  }

  /** `while (i < end) body()` over two i32 locals (unsigned), tested at the bottom so each trip takes one branch. */
  whileBelow(i: number, end: number, body: () => void): this {
    this.get(i).get(end).op("i32.lt_u").if().loop();
    body();
    return this.get(i).get(end).op("i32.lt_u").brIf(0).end().end();
  }

  /** local += step: an i32 constant, or another local's value. */
  addTo(local: number, step: number | { local: number }): this {
    this.get(local);
    if (typeof step === "number") this.i32(step);
    else this.get(step.local);
    return this.op("i32.add").set(local);
  }

  /** The code section entry: locals run-length encoded by type, then the body. */
  encode(): number[] {
    const runs: number[][] = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === valTypeCode[t]) last[0]++;
      else runs.push([1, valTypeCode[t]]);
    }
    const body = [...vec(runs.map(([n, t]) => [...uleb(n), t])), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

export interface MemoryImport {
  minPages: number;
  maxPages: number;
}

/** A function imported from `env` (JavaScript), called like a defined one. */
export interface FunctionImport {
  name: string;
  index: number;
  params: readonly ValType[];
  results: readonly ValType[];
}

/** A module that imports `env.memory` (shared, so worker threads can instantiate it too). */
export class ModuleBuilder {
  private readonly fns: FunctionBuilder[] = [];
  private readonly imports: FunctionImport[] = [];
  private readonly exported = new Set<FunctionBuilder>();

  constructor(private readonly memory: MemoryImport) {}

  /** Imports `env[name]`; all imports come before the first defined function (they share one index space). */
  importFn(name: string, params: ValType[], results: ValType[]): FunctionImport {
    if (this.fns.length > 0) throw new Error("ModuleBuilder: import functions before defining any");
    const f = { name, index: this.imports.length, params, results };
    this.imports.push(f);
    return f;
  }

  fn(name: string, params: ValType[], results: ValType[] = [], exported = true): FunctionBuilder {
    const f = new FunctionBuilder(name, this.imports.length + this.fns.length, params, results);
    this.fns.push(f);
    if (exported) this.exported.add(f);
    return f;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    // One type per function keeps the builder simple; the engine deduplicates them anyway.
    const sigs = [...this.imports, ...this.fns];
    const types = sigs.map((f) => [0x60, ...vec(f.params.map((t) => [valTypeCode[t]])), ...vec(f.results.map((t) => [valTypeCode[t]]))]);
    // Limits flag 0x03: a maximum is present and the memory is shared.
    const memImport = [...utf8Name("env"), ...utf8Name("memory"), 0x02, 0x03, ...uleb(this.memory.minPages), ...uleb(this.memory.maxPages)];
    const fnImports = this.imports.map((f) => [...utf8Name("env"), ...utf8Name(f.name), 0x00, ...uleb(f.index)]);
    const exports = [...this.exported].map((f) => [...utf8Name(f.name), 0x00, ...uleb(f.index)]);
    return new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      ...section(1, vec(types)),
      ...section(2, vec([...fnImports, memImport])),
      // Each function's type index equals its function index (one type per function).
      ...section(3, vec(this.fns.map((f) => uleb(f.index)))),
      ...section(7, vec(exports)),
      ...section(10, vec(this.fns.map((f) => f.encode()))),
    ]);
  }
}

function utf8Name(s: string): number[] {
  const b = utf8(s);
  return [...uleb(b.length), ...b];
}
