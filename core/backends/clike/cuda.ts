/**
 * The CUDA C dialect: one-dimensional grids, bool as one byte, float64 available, float
 * sums accumulated in double and integer sums wrapped in unsigned (as the CPU does), and
 * hardware atomicAdd on floats. Modules include no headers (see cuda/cuda-c.ts).
 */
import type { DType } from "../../dtype.ts";
import { ctype, ENTRY, helpers, literal, param, THREADS } from "../cuda/cuda-c.ts";
import { groupsFor, PLAIN_ACCESS, type Clike } from "./dialect.ts";

const type = (d: DType | "index" | "bool") => ctype(d);

export const CUDA: Clike = {
  ...PLAIN_ACCESS,
  name: "cuda",
  threads: THREADS,
  floatAtomics: true,
  type,
  sumType: (d) => (d === "float32" || d === "float64" ? "float64" : "uint32"),
  literal,
  cast: (e, from, to) => (type(from) === type(to) ? e : `(${type(to)})${e}`),
  let: (n, d, e) => `const ${type(d)} ${n} = ${e};`,
  test: (n, c) => `const bool ${n} = ${c};`,
  var: (n, d, e) => `${type(d)} ${n} = ${e};`,
  select: (c, t, f) => `((${c}) ? ${t} : ${f})`,
  isNan: (v) => `(${v} != ${v})`,
  loop: (k, init, cond, update, d = "index") => `for (${type(d)} ${k} = ${init}; ${cond}; ${update})`,
  fn: (name, params, ret, body) => `static __device__ __forceinline__ ${ret === "bool" ? "bool" : type(ret)} ${name}(${params.map(([p, d]) => `${type(d)} ${p}`).join(", ")}) {\n${body}\n}`,
  state: (n, d, len) => `${type(d)} ${n}${len === undefined ? "" : `[${len}]`};`,
  table: (n, d, v) => `static __device__ const ${type(d)} ${n}[${v.length}] = { ${v.join(", ")} };`,
  closure: (name, params, ret, body) => `const auto ${name} = [&](${params.map(([p, d]) => `${type(d)} ${p}`).join(", ")}) -> ${ret === "void" ? "void" : type(ret)} {\n${body}\n};`,
  math(fn, d, args) {
    const f = d === "float32" ? "f" : "";
    if (fn === "sign") return `(${args[0]} > 0 ? ${literal(1, d)} : (${args[0]} < 0 ? ${literal(-1, d)} : ${args[0]}))`;
    return `${fn === "abs" ? "fabs" : fn === "max" ? "fmax" : fn}${f}(${args.join(", ")})`;
  },
  isInf: (v, d) => `(${v} == ${literal(Infinity, d)} || ${v} == ${literal(-Infinity, d)})`,
  runtimeLength: () => null,
  opaqueZero: "blockIdx.z",
  barrier: "__syncthreads();",
  // Between 32-bit dtypes only (the primitive checks): through the unsigned word.
  bitcast(e, from, to) {
    const word = from === "float32" ? `__float_as_uint(${e})` : `(unsigned)${e}`;
    return to === "float32" ? `__uint_as_float(${word})` : `(${type(to)})${word}`;
  },
  perElement(n, body, invariant = "") {
    // The linear index is formed in 64 bits so the bounds check cannot wrap.
    const head = `  const unsigned long long aug_g = (unsigned long long)grp * ${THREADS}u + lid;
  if (aug_g >= ${n >>> 0}ull) return;
  const unsigned gi = (unsigned)aug_g;`;
    return { body: `${head}\n${invariant && `${invariant}\n`}${body}`, groups: groupsFor(n, THREADS) };
  },
  module({ bufs, threads, body, decls = [], helpers: names = [], fns = [], shared = [], state = [], closures = [] }) {
    const params = bufs.map((b) => param(b.name, b.dtype, b.write || b.atomic));
    const mem = shared.map(([n, t, len]) => `  __shared__ ${t} ${n}[${len}];`);
    return `${[...decls, ...helpers(names), ...fns].filter(Boolean).join("\n")}
extern "C" __global__ void __launch_bounds__(${threads}) ${ENTRY}(${params.join(", ")}) {
  const unsigned lid = threadIdx.x;
  const unsigned grp = blockIdx.x;
${[...mem, ...state, ...closures, body].join("\n")}
}
`;
  },
};
