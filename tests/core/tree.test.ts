import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { tree } from "../../index.ts";

const leafy = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.constant(null),
    fc.array(tie("node"), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), tie("node"), { maxKeys: 3 }),
  ),
})).node;

describe("tree", () => {
  it("unflatten(flatten(t)) == t and map preserves structure", () => {
    fc.assert(
      fc.property(leafy, (t) => {
        const [leaves, def] = tree.flatten(t);
        expect(tree.unflatten(def, leaves)).toEqual(t);
        expect(tree.structure(tree.map((x: unknown) => String(x), t)).toString()).toBe(def.toString());
        expect(tree.leaves(t)).toEqual(leaves);
      }),
    );
  });
  it("keys are ordered, and mismatched structures are reported", () => {
    expect(tree.leaves({ b: 1, a: 2 })).toEqual([2, 1]);
    expect(() => tree.map((a: number, b: number) => a + b, { a: 1 }, { b: 1 })).toThrow(/structures differ/);
    expect(() => tree.unflatten(tree.structure([1, 2]), [1])).toThrow(/needs 2 leaves/);
  });
});
