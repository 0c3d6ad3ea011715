/**
 * Pytrees: nestings of plain objects, JS arrays and null with arrays (or other values)
 * at the leaves. Transformations flatten their inputs and outputs with these.
 */
export type PyTree<T = unknown> = T | null | undefined | PyTree<T>[] | { [key: string]: PyTree<T> };

/** The shape of a tree without its leaves; equal structures print equal. */
export class TreeDef {
  constructor(
    readonly kind: "leaf" | "null" | "undefined" | "array" | "object",
    readonly children: TreeDef[] = [],
    readonly keys: string[] = [],
  ) {}
  get numLeaves(): number {
    return this.kind === "leaf" ? 1 : this.children.reduce((n, c) => n + c.numLeaves, 0);
  }
  toString(): string {
    switch (this.kind) {
      case "leaf":
        return "*";
      case "null":
        return "null";
      case "undefined":
        return "undefined";
      case "array":
        return `[${this.children.join(", ")}]`;
      case "object":
        return `{${this.keys.map((k, i) => `${k}: ${this.children[i]}`).join(", ")}}`;
    }
  }
  equals(other: TreeDef): boolean {
    return this.toString() === other.toString();
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

export function flatten<T = unknown>(t: PyTree<T>): [T[], TreeDef] {
  const leaves: T[] = [];
  const walk = (x: unknown): TreeDef => {
    if (x === null) return new TreeDef("null");
    if (x === undefined) return new TreeDef("undefined");
    if (Array.isArray(x)) return new TreeDef("array", x.map(walk));
    if (isPlainObject(x)) {
      const keys = Object.keys(x).sort();
      return new TreeDef(
        "object",
        keys.map((k) => walk(x[k])),
        keys,
      );
    }
    leaves.push(x as T);
    return new TreeDef("leaf");
  };
  const def = walk(t);
  return [leaves, def];
}

export function unflatten<T = unknown>(def: TreeDef, leaves: readonly T[]): PyTree<T> {
  if (leaves.length !== def.numLeaves) throw new Error(`tree.unflatten: structure ${def} needs ${def.numLeaves} leaves, got ${leaves.length}`);
  let i = 0;
  const build = (d: TreeDef): PyTree<T> => {
    switch (d.kind) {
      case "leaf":
        return leaves[i++];
      case "null":
        return null;
      case "undefined":
        return undefined;
      case "array":
        return d.children.map(build);
      case "object": {
        const out: Record<string, PyTree<T>> = {};
        d.keys.forEach((k, j) => (out[k] = build(d.children[j])));
        return out;
      }
    }
  };
  return build(def);
}

export function leaves<T = unknown>(t: PyTree<T>): T[] {
  return flatten(t)[0];
}

export function structure(t: PyTree): TreeDef {
  return flatten(t)[1];
}

/**
 * Applies `f` to the leaves of one or more trees of the same structure.
 * @example tree.map((p, g) => p.sub(g.mul(0.1)), params, grads)
 */
export function map<T = unknown, U = unknown>(f: (...xs: T[]) => U, t: PyTree<T>, ...rest: PyTree<T>[]): PyTree<U> {
  const [ls, def] = flatten(t);
  const others = rest.map((r) => {
    const [l, d] = flatten(r);
    if (!d.equals(def)) throw new Error(`tree.map: tree structures differ: ${def} vs ${d}`);
    return l;
  });
  return unflatten(
    def,
    ls.map((x, i) => f(x, ...others.map((o) => o[i]))),
  );
}

/**
 * Broadcasts a prefix tree (e.g. vmap's inAxes) against a full tree: each leaf of the
 * prefix applies to the whole subtree at its position.
 */
export function broadcastPrefix<P>(prefix: PyTree<P>, full: PyTree, what: string): P[] {
  const out: P[] = [];
  const walk = (p: unknown, f: unknown, path: string): void => {
    const [fl] = flatten(f);
    if (p === null || p === undefined || !(Array.isArray(p) || isPlainObject(p))) {
      for (let i = 0; i < fl.length; i++) out.push(p as P);
      return;
    }
    if (Array.isArray(p)) {
      if (!Array.isArray(f) || f.length !== p.length) throw new Error(`${what}: prefix ${JSON.stringify(p)} does not match the argument at ${path || "root"}`);
      p.forEach((pi, i) => walk(pi, f[i], `${path}[${i}]`));
      return;
    }
    if (!isPlainObject(f)) throw new Error(`${what}: prefix object does not match the argument at ${path || "root"}`);
    const keys = Object.keys(f).sort();
    const pk = Object.keys(p).sort();
    if (keys.join() !== pk.join()) throw new Error(`${what}: prefix keys {${pk}} differ from the argument's {${keys}} at ${path || "root"}`);
    for (const k of keys) walk((p as Record<string, unknown>)[k], f[k], `${path}.${k}`);
  };
  walk(prefix, full, "");
  return out;
}
