/**
 * The WGSL dialect. Every group computes its linear index from a 2-D grid (the runtime
 * spreads counts over 65535), bool is one u32, floats are f32 only, and large
 * one-per-element kernels give each invocation several elements because lavapipe charges
 * a fixed cost per invocation (see webgpu/kernels/grid.ts).
 */
import type { DType } from "../../dtype.ts";
import { GRID_SIDE, helpers, LINEAR_WORKGROUP, literal, MAIN_ARGS, NONFINITE, WG, wgslType } from "../webgpu/wgsl.ts";
import { PER } from "../webgpu/kernels/grid.ts";
import { groupsFor, PLAIN_ACCESS, type Buf, type Clike, type ModuleParts } from "./dialect.ts";

/** Elements from which a one-per-element kernel loops over PER elements per invocation. */
const MANY = 1 << 16;

const type = (d: DType | "index" | "bool") => wgslType(d);

/** How a WGSL module declares and reaches its storage buffers (windows.ts supplies a windowed one). */
export interface WgslAccess extends Pick<Clike, "ld" | "st" | "atomic" | "runtimeLength"> {
  /** The module-scope declaration of storage binding `k`: array `name` of WGSL element type `elem`. */
  storage(k: number, name: string, elem: string, write: boolean): string;
}

/** Whole arrays bound whole: `@group(0) @binding(k) var<storage, mode> name: array<T>;`, indexed directly. */
export const PLAIN_WGSL_ACCESS: WgslAccess = {
  ...PLAIN_ACCESS,
  storage: (k, name, elem, write) => `@group(0) @binding(${k}) var<storage, ${write ? "read_write" : "read"}> ${name}: array<${elem}>;`,
  runtimeLength: (n) => `arrayLength(&${n})`,
};

/** The WGSL element type of a storage buffer. */
export const storageType = (b: Buf) => (b.atomic ? "atomic<u32>" : type(b.dtype));

/** WGSL as a C-like dialect; hand-written WGSL kernels also declare their bindings with `storage`. */
export interface Wgsl extends Clike {
  storage: WgslAccess["storage"];
}

/** The WGSL dialect whose storage buffers are declared and reached through `access`. */
export function wgslDialect(access: WgslAccess): Wgsl {
  return {
    ...wgslCore,
    ...access,
    module(parts) {
      return wgslModule(access, parts);
    },
  };
}

const wgslCore: Omit<Clike, keyof WgslAccess | "module"> = {
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
  opaqueZero: "wid.z",
  barrier: "workgroupBarrier();",
  bitcast: (e, _from, to) => `bitcast<${type(to)}>(${e})`,
  perElement(n, body, invariant = "") {
    const pre = invariant && `${invariant}\n`;
    const span = n < MANY ? WG : PER * WG;
    // Where the groups cover [0, n) exactly and are dispatched as one row, no index passes n:
    // the bounds test is left out (SwiftShader spent a fifth of a copy's time on it in the loop).
    const exact = n > 0 && n % span === 0 && n / span <= GRID_SIDE;
    if (n < MANY) {
      return { body: `  let gi = grp * ${WG}u + lid;\n${exact ? "" : `  if (gi >= ${n >>> 0}u) { return; }\n`}${pre}${body}`, groups: groupsFor(n, WG) };
    }
    // Invariant statements go before the loop: loads in it are not hoisted by every compiler (SwiftShader keeps them).
    const loop = `${pre}  let gbase = grp * ${PER * WG}u + lid;
  for (var aug_i = 0u; aug_i < ${PER}u; aug_i++) {
    let gi = gbase + aug_i * ${WG}u;
${exact ? "" : `    if (gi >= ${n >>> 0}u) { break; }\n`}${body}
  }`;
    return { body: loop, groups: groupsFor(n, PER * WG) };
  },
  perBlock(n, inner, body, invariant) {
    // A block takes ceil(inner / span) groups; the consecutive invocations of a group keep
    // consecutive elements, as in perElement, and all of them have the same `gb`.
    const span = PER * WG;
    const segs = Math.ceil(inner / span);
    const ragged = inner % span !== 0;
    const groups = (n / inner) * segs;
    // Past one row of the grid the runtime may launch a few groups more than asked.
    const loop = `${groups > GRID_SIDE ? `  if (grp >= ${groups}u) { return; }\n` : ""}  let gb = (grp / ${segs}u) * ${inner >>> 0}u;
${invariant}
  let gs = (grp % ${segs}u) * ${span}u + lid;
  for (var aug_i = 0u; aug_i < ${PER}u; aug_i++) {
    let off = gs + aug_i * ${WG}u;
${ragged ? `    if (off >= ${inner >>> 0}u) { break; }\n` : ""}    let gi = gb + off;
${body}
  }`;
    return { body: loop, groups };
  },
};

function wgslModule(access: WgslAccess, { bufs, threads, body, decls: extra = [], helpers: names = [], fns = [], shared = [], state = [], closures = [] }: ModuleParts): string {
  const decls = bufs.map((b, k) => access.storage(k, b.name, storageType(b), !!(b.write || b.atomic)));
  const mem = shared.map(([n, t, len]) => `var<workgroup> ${n}: array<${t}, ${len}>;`);
  return `${[NONFINITE, ...decls, ...extra, ...helpers(names), ...fns, ...mem, ...state, ...closures].filter(Boolean).join("\n")}
@compute @workgroup_size(${threads})
fn main(${MAIN_ARGS}) {
  let grp = ${LINEAR_WORKGROUP};
${body}
}
`;
}

export const WGSL = wgslDialect(PLAIN_WGSL_ACCESS);
