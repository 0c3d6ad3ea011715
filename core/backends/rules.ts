/** A backend's kernel rules by primitive name; defining one primitive twice is an error. */
export function ruleTable<R>(backend: string): {
  define(names: string | string[], rule: R): void;
  get(name: string): R | undefined;
  names(): string[];
} {
  const rules = new Map<string, R>();
  return {
    define(names, rule) {
      for (const n of typeof names === "string" ? [names] : names) {
        if (rules.has(n)) throw new Error(`${backend} kernel for ${n} is defined twice`);
        rules.set(n, rule);
      }
    },
    get: (name) => rules.get(name),
    names: () => [...rules.keys()],
  };
}
