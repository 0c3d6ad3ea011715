/**
 * Renders kernel IR (core/compiler/ir.ts) to a WGSL compute pass. Without a reduction
 * each invocation computes one output element (several in large kernels). With one, an output element is either
 * folded by one invocation (many outputs, short reductions) or by a whole workgroup that
 * strides over the reduced points and combines partial results in workgroup memory
 * (few outputs, long reductions). Floats are f32 throughout, so results match the CPU's
 * (which rounds every op to float32 but accumulates sums in float64) within float32 error.
 */
import type { DType } from "../../dtype.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import { emitBody, type Dialect, type Kernel, type ReduceOp } from "../../compiler/ir.ts";
import { aluDef, aluTypes } from "../../compiler/alu.ts";
import type { GpuProgram, Pass } from "./program.ts";
import { perElements } from "./kernels/grid.ts";
import { binding, groups, helpers, LINEAR_WORKGROUP, literal, MAIN_ARGS, WG, wgslType } from "./wgsl.ts";

const REDUCE: Record<ReduceOp, { init: (d: DType) => string; combine: (acc: string, v: string, d: DType) => string }> = {
  sum: { init: (d) => literal(0, d), combine: (acc, v) => `${acc} + ${v}` },
  prod: { init: (d) => literal(1, d), combine: (acc, v) => `${acc} * ${v}` },
  max: {
    init: (d) => (d === "float32" ? literal(-Infinity, d) : d === "int32" ? literal(-2147483648, d) : "0u"),
    combine: (acc, v, d) => (d === "float32" ? `select(${acc}, ${v}, ${v} > ${acc} || isnan_(${v}))` : `max(${acc}, ${v})`),
  },
  min: {
    init: (d) => (d === "float32" ? literal(Infinity, d) : d === "int32" ? literal(2147483647, d) : d === "bool" ? "1u" : "0xffffffffu"),
    combine: (acc, v, d) => (d === "float32" ? `select(${acc}, ${v}, ${v} < ${acc} || isnan_(${v}))` : `min(${acc}, ${v})`),
  },
};

/** Elements from which a map kernel loops over several elements per invocation. */
const MANY = 1 << 16;

/** Workgroup size of the cooperative reduction. */
const RWG = 256;

/** How WGSL spells kernel bodies; `use` collects the helper functions the body calls. */
function wgslDialect(use: (h: string) => void, load?: Dialect["load"]): Dialect {
  return {
    literal: (n) => literal(n.arg!, n.dtype as DType | "index"),
    idiv: (x, y) => `${x} / ${y}`,
    alu(n, a) {
      return aluDef(n.op, "webgpu").wgsl(a, aluTypes(n), use);
    },
    declare: (v, _n, expr) => `  let ${v} = ${expr};`,
    load,
  };
}

/** The statements computing `k.body`, given how loop indices and the flat index are named. */
function renderBody(k: Kernel, idx: (axis: number) => string, flat: string, use: (h: string) => void): { lines: string[]; value: string } {
  return emitBody(k.body, wgslDialect(use), idx, flat);
}

/** Names for loop index `axis`, decoded from a linear counter over `axes` of `shape`. */
function decoder(shape: readonly number[], axes: number[], counter: string): Map<number, string> {
  const sub = axes.map((a) => shape[a]);
  // An empty space is never iterated; WGSL rejects the constant "/ 0u" its decoding would contain.
  if (sub.includes(0)) return new Map(axes.map((a) => [a, "0u"]));
  const st = stridesOf(sub);
  return new Map(axes.map((a, i) => [a, sub[i] === 1 ? "0u" : `((${counter} / ${st[i]}u) % ${sub[i]}u)`]));
}

/** One WGSL pass computing the kernel; binding k < inputs.length is input k, the last is the output. */
export function renderWgsl(k: Kernel): Pass {
  const used = new Set<string>();
  const use = (h: string) => used.add(h);
  const decls = [
    ...k.inputs.map((b, i) => binding(i, `in${i}`, b.dtype)),
    binding(k.inputs.length, "out", k.out.dtype, true),
  ];
  const bindings = [...k.inputs.map((_, i) => ({ in: i })), { out: 0 }];
  const rank = k.shape.length;
  const outSize = sizeOf(k.out.shape);
  const st = stridesOf(k.shape);
  const flatOf = (idx: Map<number, string>) => k.shape.map((n, d) => (n === 1 ? "" : `${idx.get(d)} * ${st[d]}u`)).filter(Boolean).join(" + ") || "0u";

  if (!k.reduce) {
    const idx = decoder(k.shape, [...Array(rank).keys()], "gi");
    const { lines, value } = renderBody(k, (a) => idx.get(a)!, "gi", use);
    const body = `${lines.join("\n")}\n  out[gi] = ${value};`;
    // Large maps give each invocation several elements (see kernels/grid.ts for why).
    if (outSize >= MANY) return { ...perElements([...decls, ...helpers(used)], outSize, body), bindings };
    const main = `@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  let gi = ${LINEAR_WORKGROUP} * ${WG}u + lid;
  if (gi >= ${outSize}u) { return; }
${body}
}`;
    return { code: [...decls, ...helpers(used), main].join("\n"), bindings, workgroups: groups(outSize) };
  }

  const red = [...k.reduce.axes].sort((a, b) => a - b);
  const kept = [...Array(rank).keys()].filter((d) => !red.includes(d));
  const R = sizeOf(red.map((a) => k.shape[a]));
  const idx = new Map([...decoder(k.shape, kept, "o"), ...decoder(k.shape, red, "r")]);
  const { lines, value } = renderBody(k, (a) => idx.get(a)!, "fl", use);
  const usesFlat = lines.some((l) => /\bfl\b/.test(l));
  const flatLine = usesFlat ? `  let fl = ${flatOf(idx)};\n` : "";
  const d = k.out.dtype;
  const r = REDUCE[k.reduce.op];
  if (d === "float32" && (k.reduce.op === "max" || k.reduce.op === "min")) use("isnan");
  const t = wgslType(d);
  const point = `${flatLine}${lines.join("\n")}\n  acc = ${r.combine("acc", value, d)};`;
  const cooperative = R >= 512 && outSize <= 8192;
  let main: string;
  if (!cooperative) {
    main = `@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  let o = ${LINEAR_WORKGROUP} * ${WG}u + lid;
  if (o >= ${outSize}u) { return; }
  var acc: ${t} = ${r.init(d)};
  for (var r = 0u; r < ${R}u; r = r + 1u) {
${point}
  }
  out[o] = acc;
}`;
  } else {
    main = `var<workgroup> part: array<${t}, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(${MAIN_ARGS}) {
  let o = ${LINEAR_WORKGROUP};
  var acc: ${t} = ${r.init(d)};
  if (o < ${outSize}u) {
    for (var r = lid; r < ${R}u; r = r + ${RWG}u) {
${point}
    }
  }
  part[lid] = acc;
  for (var s = ${RWG / 2}u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { let v = part[lid + s]; let a = part[lid]; part[lid] = ${r.combine("a", "v", d)}; }
  }
  if (lid == 0u && o < ${outSize}u) { out[o] = part[0]; }
}`;
  }
  return { code: [...decls, ...helpers(used), main].join("\n"), bindings, workgroups: cooperative ? Math.max(1, outSize) : groups(outSize) };
}

/** A store to the output buffer: `out[index] = value;`. */
const STORE = /\bout\[([^[\]]+)\] = ([^;]+);/g;

/**
 * `program` (one output, e.g. a dot or convolution) with kernel `k` applied in every store
 * to its output, so the fused pair runs as one program: `k`'s input `input` is the value
 * being stored, read at `k`'s own loop point (fuse.ts only attaches such kernels); its other
 * inputs j are bound as `ep{slot}` after each pass's own bindings and refer to the
 * program's input `base + slot`. Passes not writing the output (packing, im2col) are kept.
 * Null where a pass does not have the expected shape or would bind more than `maxBindings`.
 *
 * @example
 * const fused = withEpilogue(dotProgram(ins, [out], params), kernel, 0, 2, 8);
 * // run with runProgram(fused, [lhs, rhs, ...kernelInputsBut0], [kernelOut])
 */
export function withEpilogue(program: GpuProgram, k: Kernel, input: number, base: number, maxBindings: number): GpuProgram | null {
  if (k.reduce || k.inputs[input]?.dtype !== k.out.dtype) return null;
  const T = wgslType(k.out.dtype);
  const slot = (j: number) => (j < input ? j : j - 1);
  const used = new Set<string>();
  const idx = decoder(k.shape, [...k.shape.keys()], "ei");
  const load = (buf: number, index: string) => (buf === input ? "ev" : `ep${slot(buf)}[${index}]`);
  const { lines, value } = emitBody(k.body, wgslDialect((h) => used.add(h), load), (a) => idx.get(a)!, "ei");
  const epi = `fn epi_(ei: u32, ev: ${T}) -> ${T} {\n${lines.join("\n")}\n  return ${value};\n}`;
  const others = k.inputs.flatMap((b, j) => (j === input ? [] : [b]));
  let stores = 0;
  const passes: Pass[] = [];
  for (const pass of program.passes) {
    const o = pass.bindings.findIndex((r) => "out" in r && r.out === 0);
    if (o < 0) {
      passes.push(pass);
      continue;
    }
    // The product's element type must be what the epilogue takes and returns.
    const decl = new RegExp(`@binding\\(${o}\\) var<storage, read_write> out: array<(\\w+)>`).exec(pass.code);
    if (!decl || decl[1] !== T || pass.bindings.length + others.length > maxBindings) return null;
    // Every use of `out` must be a plain store, or the rewrite would miss one.
    const uses = pass.code.match(/\bout\[/g)?.length ?? 0;
    const matched = pass.code.match(STORE)?.length ?? 0;
    if (uses === 0 || matched !== uses) return null;
    stores += matched;
    const code = pass.code.replace(STORE, (_, i: string, v: string) => `out[${i}] = epi_(${i}, ${v});`);
    const n = pass.bindings.length;
    // Helpers the pass already defines (e.g. its own isnan_) must not be declared twice.
    const extra = helpers(used).filter((h) => !code.includes(/^fn \w+\(/.exec(h)![0]));
    const decls = [...others.map((b, j) => binding(n + j, `ep${j}`, b.dtype)), ...extra, epi, ""].join("\n");
    const at = code.indexOf("@compute");
    if (at < 0) return null;
    passes.push({ ...pass, code: code.slice(0, at) + decls + code.slice(at), bindings: [...pass.bindings, ...others.map((_, j) => ({ in: base + j }))] });
  }
  return stores > 0 ? { ...program, passes } : null;
}
