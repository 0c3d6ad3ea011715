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

export type ValType = "i32" | "f32" | "v128";

const valTypeCode: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** Opcodes without immediates. SIMD ones are 0xfd followed by a LEB128 index. */
const plainOps = {
  "i32.eqz": [0x45], "i32.eq": [0x46], "i32.ne": [0x47],
  "i32.lt_s": [0x48], "i32.lt_u": [0x49], "i32.gt_s": [0x4a], "i32.gt_u": [0x4b],
  "i32.le_s": [0x4c], "i32.le_u": [0x4d], "i32.ge_s": [0x4e], "i32.ge_u": [0x4f],
  "i32.add": [0x6a], "i32.sub": [0x6b], "i32.mul": [0x6c], "i32.div_u": [0x6e],
  "i32.or": [0x72], "i32.shl": [0x74],
  "select": [0x1b], "drop": [0x1a], "return": [0x0f],
  "f32x4.splat": simd(0x13), "f32x4.add": simd(0xe4), "f32x4.sub": simd(0xe5), "f32x4.mul": simd(0xe6),
  // Relaxed SIMD; Node 20 rejects it unless started with --experimental-wasm-relaxed-simd.
  "f32x4.relaxed_madd": simd(0x105),
} as const;

/** Memory instructions: opcode bytes and the natural alignment (log2 bytes) used in the memarg. */
const memOps = {
  "i32.load": [[0x28], 2], "f32.load": [[0x2a], 2], "i32.store": [[0x36], 2], "f32.store": [[0x38], 2],
  "v128.load": [simd(0x00), 4], "v128.load32_splat": [simd(0x09), 2], "v128.store": [simd(0x0b), 4],
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

  f32(v: number): this {
    this.code.push(0x43, ...new Uint8Array(new Float32Array([v]).buffer));
    return this;
  }

  /** A v128 with every f32 lane equal to v. */
  f32x4(v: number): this {
    const lanes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    this.code.push(...simd(0x0c), ...lanes);
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

  if(): this {
    this.code.push(0x04, 0x40);
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

  call(fn: FunctionBuilder): this {
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

/** A module that imports `env.memory` (shared, so worker threads can instantiate it too). */
export class ModuleBuilder {
  private readonly fns: FunctionBuilder[] = [];
  private readonly exported = new Set<FunctionBuilder>();

  constructor(private readonly memory: MemoryImport) {}

  fn(name: string, params: ValType[], results: ValType[] = [], exported = true): FunctionBuilder {
    const f = new FunctionBuilder(name, this.fns.length, params, results);
    this.fns.push(f);
    if (exported) this.exported.add(f);
    return f;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    // One type per function keeps the builder simple; the engine deduplicates them anyway.
    const types = this.fns.map((f) => [0x60, ...vec(f.params.map((t) => [valTypeCode[t]])), ...vec(f.results.map((t) => [valTypeCode[t]]))]);
    // Limits flag 0x03: a maximum is present and the memory is shared.
    const memImport = [...utf8Name("env"), ...utf8Name("memory"), 0x02, 0x03, ...uleb(this.memory.minPages), ...uleb(this.memory.maxPages)];
    const exports = [...this.exported].map((f) => [...utf8Name(f.name), 0x00, ...uleb(f.index)]);
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, vec(types)),
      ...section(2, vec([memImport])),
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
