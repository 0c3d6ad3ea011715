/**
 * The kernel IR: one loop over an output index space whose body is an expression over
 * index arithmetic and loads, optionally folded by one trailing reduction. Nothing here
 * is JavaScript-specific, so WGSL or CUDA C renderers can read the same kernels.
 *
 * Nodes are hash-consed by a `KernelBuilder`: structurally equal expressions are the same
 * object, so renderers compute each shared subexpression once per loop point.
 */
import type { DType } from "../dtype.ts";

/** Value types: the array dtypes, plus "index" for loop-index arithmetic (non-negative integers). */
export type IRType = DType | "index";

/**
 * Expression nodes.
 * - `idx`: loop index along `arg` (an axis of the kernel's loop space).
 * - `flat`: the row-major flat index of the loop point in the loop space.
 * - `const`: the number `arg` of type `dtype`.
 * - `load`: element `args[0]` (an index expression) of input buffer `arg`.
 * - `iadd`, `isub`, `imul`, `idiv`, `imod`: index arithmetic (`idiv` floors; operands are
 *   non-negative; `isub` may wrap where its result is then discarded by a `select`).
 * - any other op is an ALU op named like its primitive (`add`, `tanh`, `lt`, `select`, ...),
 *   with `convert_element_type` as the cast; its result is rounded to `dtype` as a store would.
 */
export interface IRNode {
  readonly id: number;
  readonly op: string;
  readonly dtype: IRType;
  readonly args: readonly IRNode[];
  readonly arg?: number;
}

/** The index arithmetic ops (every other non-leaf, non-load op is an ALU op). */
export const INDEX_OPS: ReadonlySet<string> = new Set(["iadd", "isub", "imul", "idiv", "imod"]);

export type ReduceOp = "sum" | "max" | "min" | "prod";

export interface Kernel {
  /** The loop space: every point evaluates `body` once. */
  readonly shape: readonly number[];
  /** Input buffers (contiguous, row-major), by position; `load` nodes name them by index. */
  readonly inputs: readonly { dtype: DType; size: number }[];
  readonly body: IRNode;
  /** A trailing reduction over some axes of the loop space; the output keeps the other axes. */
  readonly reduce?: { op: ReduceOp; axes: readonly number[] };
  readonly out: { dtype: DType; shape: readonly number[] };
}

/**
 * Builds hash-consed nodes, folding constant index arithmetic. Given the loop space's
 * shape, it knows an upper bound of each index expression and simplifies the divisions
 * that reshapes produce: (i * 28 + j) / 28 is i and (i * 28 + j) % 28 is j when j < 28,
 * so a value read through reshapes that split and merge axes indexes by loop counters
 * rather than dividing per element.
 */
export class KernelBuilder {
  private readonly interned = new Map<string, IRNode>();
  private readonly bounds = new Map<IRNode, number>();
  private next = 0;

  constructor(private readonly loopShape: readonly number[] = []) {}

  node(op: string, dtype: IRType, args: readonly IRNode[] = [], arg?: number): IRNode {
    const key = `${op}:${dtype}:${arg ?? ""}:${args.map((a) => a.id).join(",")}`;
    let n = this.interned.get(key);
    if (!n) {
      n = { id: this.next++, op, dtype, args, arg };
      this.interned.set(key, n);
    }
    return n;
  }

  const(value: number, dtype: IRType): IRNode {
    return this.node("const", dtype, [], value);
  }
  idx(axis: number): IRNode {
    return this.node("idx", "index", [], axis);
  }
  flat(): IRNode {
    return this.node("flat", "index");
  }
  load(buffer: number, dtype: DType, index: IRNode): IRNode {
    return this.node("load", dtype, [index], buffer);
  }

  iadd(a: IRNode, b: IRNode): IRNode {
    if (isConst(a, 0)) return b;
    if (isConst(b, 0)) return a;
    if (a.op === "const" && b.op === "const") return this.const(a.arg! + b.arg!, "index");
    return this.node("iadd", "index", [a, b]);
  }
  imul(a: IRNode, k: number): IRNode {
    if (k === 0) return this.const(0, "index");
    if (k === 1) return a;
    if (a.op === "const") return this.const(a.arg! * k, "index");
    if (a.op === "imul") return this.imul(a.args[0], a.args[1].arg! * k);
    return this.node("imul", "index", [a, this.const(k, "index")]);
  }
  idiv(a: IRNode, k: number): IRNode {
    if (k === 1) return a;
    if (a.op === "const") return this.const(Math.floor(a.arg! / k), "index");
    if (this.bound(a) <= k) return this.const(0, "index");
    // floor(floor(a / p) / k) = floor(a / (p k)) for positive p, k.
    if (a.op === "idiv") return this.idiv(a.args[0], a.args[1].arg! * k);
    const split = this.splitMultiples(a, k);
    if (split) return this.iadd(split.quotient, this.idiv(split.rest, k));
    return this.node("idiv", "index", [a, this.const(k, "index")]);
  }
  imod(a: IRNode, k: number): IRNode {
    if (k === 1) return this.const(0, "index");
    if (a.op === "const") return this.const(a.arg! % k, "index");
    if (this.bound(a) <= k) return a;
    // (a mod p) mod k = a mod k when k divides p.
    if (a.op === "imod" && a.args[1].arg! % k === 0) return this.imod(a.args[0], k);
    const split = this.splitMultiples(a, k);
    if (split) return this.imod(split.rest, k);
    return this.node("imod", "index", [a, this.const(k, "index")]);
  }
  isub(a: IRNode, k: IRNode | number): IRNode {
    const c = typeof k === "number" ? this.const(k, "index") : k;
    if (isConst(c, 0)) return a;
    if (a.op === "const" && c.op === "const") return this.const(a.arg! - c.arg!, "index");
    return this.node("isub", "index", [a, c]);
  }
  /** `a op k` on indices, as a bool (the ALU comparisons read index operands as unsigned). */
  icmp(op: "lt" | "ge" | "eq", a: IRNode, k: number): IRNode {
    if (a.op === "const") return this.const(Number(op === "lt" ? a.arg! < k : op === "ge" ? a.arg! >= k : a.arg! === k), "bool");
    return this.node(op, "bool", [a, this.const(k, "index")]);
  }
  /** The conjunction of bool nodes (true for none). */
  all(conds: readonly IRNode[]): IRNode {
    const live = conds.filter((c) => !isConst(c, 1));
    if (live.some((c) => isConst(c, 0))) return this.const(0, "bool");
    return live.length === 0 ? this.const(1, "bool") : live.reduce((a, c) => this.node("and", "bool", [a, c]));
  }
  /** `p ? t : f` for values of any type (indices included). */
  select(p: IRNode, t: IRNode, f: IRNode): IRNode {
    if (p.op === "const") return p.arg ? t : f;
    return this.node("select", t.dtype, [p, t, f]);
  }

  /**
   * A number above every value of index node `n` at every loop point; Infinity when
   * unknown (an isub may wrap, an index converted from data may be anything).
   */
  bound(n: IRNode): number {
    let v = this.bounds.get(n);
    if (v !== undefined) return v;
    const [a, k] = [n.args[0], n.args[1]?.arg ?? 0];
    switch (n.op) {
      case "const":
        v = n.dtype === "index" ? n.arg! + 1 : Infinity;
        break;
      case "idx":
        v = this.loopShape[n.arg!] ?? Infinity;
        break;
      case "iadd":
        v = this.bound(a) + this.bound(n.args[1]) - 1;
        break;
      case "imul":
        v = (this.bound(a) - 1) * k + 1;
        break;
      case "idiv":
        v = Math.floor((this.bound(a) - 1) / k) + 1;
        break;
      case "imod":
        v = Math.min(k, this.bound(a));
        break;
      default:
        v = Infinity;
    }
    this.bounds.set(n, v);
    return v;
  }

  /**
   * A sum of known bound split as k * quotient + rest, where quotient gathers the terms
   * that are multiples of k; null when no term is (or the sum's bound is unknown, so some
   * term might wrap).
   */
  private splitMultiples(a: IRNode, k: number): { quotient: IRNode; rest: IRNode } | null {
    if (a.op !== "iadd" || !Number.isFinite(this.bound(a))) return null;
    const terms: IRNode[] = [];
    const collect = (n: IRNode): void => {
      if (n.op === "iadd") n.args.forEach(collect);
      else terms.push(n);
    };
    collect(a);
    const coef = (t: IRNode) => (t.op === "imul" ? t.args[1].arg! : t.op === "const" ? t.arg! : 1);
    const base = (t: IRNode) => (t.op === "imul" ? t.args[0] : t.op === "const" ? this.const(1, "index") : t);
    if (!terms.some((t) => coef(t) % k === 0)) return null;
    let quotient = this.const(0, "index");
    let rest = this.const(0, "index");
    for (const t of terms) {
      if (coef(t) % k === 0) quotient = this.iadd(quotient, this.imul(base(t), coef(t) / k));
      else rest = this.iadd(rest, t);
    }
    return { quotient, rest };
  }
}

function isConst(n: IRNode, v: number): boolean {
  return n.op === "const" && n.arg === v;
}

/** The nodes reachable from `root`, each after its arguments. */
export function topoSort(root: IRNode): IRNode[] {
  const seen = new Set<IRNode>();
  const order: IRNode[] = [];
  const visit = (n: IRNode) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const a of n.args) visit(a);
    order.push(n);
  };
  visit(root);
  return order;
}

/** A readable, canonical listing of a kernel (node ids renumbered), for debugging and cache keys. */
export function kernelToString(k: Kernel): string {
  const order = topoSort(k.body);
  const local = new Map<IRNode, number>(order.map((n, i) => [n, i]));
  const lines = order.map((n, i) => `  %${i} = ${n.op}${n.arg !== undefined ? `[${n.arg}]` : ""}:${n.dtype} ${n.args.map((a) => `%${local.get(a)}`).join(" ")}`);
  const ins = k.inputs.map((b, i) => `in${i}:${b.dtype}[${b.size}]`).join(" ");
  const red = k.reduce ? ` reduce ${k.reduce.op}[${k.reduce.axes.join(",")}]` : "";
  return `kernel [${k.shape.join(",")}] (${ins}) -> ${k.out.dtype}[${k.out.shape.join(",")}]${red}\n${lines.join("\n")}`;
}

/** How a renderer spells the parts of a kernel body. */
export interface Dialect {
  /** A `const` node's value. */
  literal(n: IRNode): string;
  /** Floor division of non-negative indices (`/` on unsigned types, `Math.floor(a / b)` in JavaScript). */
  idiv(a: string, b: string): string;
  /** An ALU node over its arguments' names. */
  alu(n: IRNode, args: string[]): string;
  /** A statement binding `name` to `expr`, the value of node `n`. */
  declare(name: string, n: IRNode, expr: string): string;
  /** Element `index` of input `buffer` (default `in{buffer}[index]`); an epilogue reads its fused input from a register instead. */
  load?(buffer: number, index: string): string;
}

/**
 * The statements computing `root`, one per non-leaf node in dependency order (`nodes[i]`
 * is the node of `lines[i]`), given how loop indices (`idx`) and the flat index (`flat`)
 * are named; `value` names the root.
 */
export function emitBody(root: IRNode, d: Dialect, idx: (axis: number) => string, flat: string): { lines: string[]; nodes: IRNode[]; value: string } {
  const name = new Map<IRNode, string>();
  const lines: string[] = [];
  const nodes: IRNode[] = [];
  for (const n of topoSort(root)) {
    const a = n.args.map((x) => name.get(x)!);
    let expr: string;
    switch (n.op) {
      case "const":
        name.set(n, d.literal(n));
        continue;
      case "idx":
        name.set(n, idx(n.arg!));
        continue;
      case "flat":
        name.set(n, flat);
        continue;
      case "load":
        expr = d.load ? d.load(n.arg!, a[0]) : `in${n.arg}[${a[0]}]`;
        break;
      case "iadd":
        expr = `${a[0]} + ${a[1]}`;
        break;
      case "isub":
        expr = `${a[0]} - ${a[1]}`;
        break;
      case "imul":
        expr = `${a[0]} * ${a[1]}`;
        break;
      case "idiv":
        expr = d.idiv(a[0], a[1]);
        break;
      case "imod":
        expr = `${a[0]} % ${a[1]}`;
        break;
      default:
        expr = d.alu(n, a);
    }
    const v = `t${lines.length}`;
    lines.push(d.declare(v, n, expr));
    nodes.push(n);
    name.set(n, v);
  }
  return { lines, nodes, value: name.get(root)! };
}
