/**
 * The WGSL dialect. Every group computes its linear index from a 2-D grid (the runtime
 * spreads counts over 65535), bool is one u32, floats are f32 only, and large
 * one-per-element kernels give each invocation several elements because lavapipe charges
 * a fixed cost per invocation (see webgpu/kernels/grid.ts).
 */
import type { DType } from "../../dtype.ts";
import { binding, helpers, LINEAR_WORKGROUP, literal, MAIN_ARGS, WG, wgslType } from "../webgpu/wgsl.ts";
import { PER } from "../webgpu/kernels/grid.ts";
import { groupsFor, type Clike } from "./dialect.ts";

/** Elements from which a one-per-element kernel loops over PER elements per invocation. */
const MANY = 1 << 16;

const type = (d: DType | "index" | "bool") => wgslType(d);

export const WGSL: Clike = {
  name: "wgsl",
  threads: WG,
  floatAtomics: false,
  type,
  sumType: (d) => d,
  literal,
  cast: (e, from, to) => (type(from) === type(to) ? e : `${type(to)}(${e})`),
  let: (n, d, e) => `let ${n}: ${type(d)} = ${e};`,
  test: (n, c) => `let ${n} = ${c};`,
  var: (n, d, e) => `var ${n}: ${type(d)} = ${e};`,
  select: (c, t, f) => `select(${f}, ${t}, ${c})`,
  isNan(v, use) {
    use.add("isnan");
    return `isnan_(${v})`;
  },
  loop: (k, init, cond, update, d = "index") => `for (var ${k}: ${type(d)} = ${init}; ${cond}; ${update})`,
  fn: (name, params, ret, body) => `fn ${name}(${params.map(([p, d]) => `${p}: ${type(d)}`).join(", ")}) -> ${ret === "bool" ? "bool" : type(ret)} {\n${body}\n}`,
  state: (n, d, len) => `var<private> ${n}: ${len === undefined ? type(d) : `array<${type(d)}, ${len}>`};`,
  table: (n, d, v) => `var<private> ${n}: array<${type(d)}, ${v.length}> = array<${type(d)}, ${v.length}>(${v.join(", ")});`,
  closure: (name, params, ret, body) => `fn ${name}(${params.map(([p, d]) => `${p}: ${type(d)}`).join(", ")})${ret === "void" ? "" : ` -> ${type(ret)}`} {\n${body}\n}`,
  math: (fn, _d, args) => `${fn}(${args.join(", ")})`,
  isInf(v, _d, use) {
    use.add("isinf");
    return `isinf_(${v})`;
  },
  runtimeLength: (n) => `arrayLength(&${n})`,
  opaqueZero: "wid.z",
  barrier: "workgroupBarrier();",
  bitcast: (e, _from, to) => `bitcast<${type(to)}>(${e})`,
  perElement(n, body) {
    if (n < MANY) {
      return { body: `  let gi = grp * ${WG}u + lid;\n  if (gi >= ${n >>> 0}u) { return; }\n${body}`, groups: groupsFor(n, WG) };
    }
    const loop = `  let gbase = grp * ${PER * WG}u + lid;
  for (var aug_i = 0u; aug_i < ${PER}u; aug_i++) {
    let gi = gbase + aug_i * ${WG}u;
    if (gi >= ${n >>> 0}u) { break; }
${body}
  }`;
    return { body: loop, groups: groupsFor(n, PER * WG) };
  },
  module({ bufs, threads, body, decls: extra = [], helpers: names = [], fns = [], shared = [], state = [], closures = [] }) {
    const decls = bufs.map((b, k) => (b.atomic ? `@group(0) @binding(${k}) var<storage, read_write> ${b.name}: array<atomic<u32>>;` : binding(k, b.name, b.dtype, b.write)));
    const mem = shared.map(([n, t, len]) => `var<workgroup> ${n}: array<${t}, ${len}>;`);
    return `${[...decls, ...extra, ...helpers(names), ...fns, ...mem, ...state, ...closures].filter(Boolean).join("\n")}
@compute @workgroup_size(${threads})
fn main(${MAIN_ARGS}) {
  let grp = ${LINEAR_WORKGROUP};
${body}
}
`;
  },
};
