import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
const toPackage = (src: string) =>
  src.replace('"../index.ts"', '"augerino"').replace('"../nn/index.ts"', '"augerino/nn"').replace('"../optim/index.ts"', '"augerino/optim"').replace('"../augerino/index.ts"', '"augerino/augerino"');
const firstTsBlock = (md: string) => md.split("```ts\n")[1].split("```")[0];

describe("docs show the code that the examples run", () => {
  it("docs/augerino.md holds examples/learn-rotation.ts", () => {
    const doc = readFileSync(new URL("docs/augerino.md", root), "utf8");
    expect(firstTsBlock(doc)).toBe(toPackage(readFileSync(new URL("examples/learn-rotation.ts", root), "utf8")));
  });
  it("README.md holds examples/quickstart.ts", () => {
    const readme = readFileSync(new URL("README.md", root), "utf8");
    const example = readFileSync(new URL("examples/quickstart.ts", root), "utf8").split("\n").slice(1).join("\n");
    expect(firstTsBlock(readme)).toBe(toPackage(example));
  });
  it("the Augerino example learns a wider rotation", async () => {
    const logs: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => logs.push(a.join(" "));
    try {
      await import("../examples/learn-rotation.ts");
    } finally {
      console.log = orig;
    }
    const widths = logs.join("").split(":")[1].trim().split(/\s+/).map(Number);
    expect(widths[2]).toBeGreaterThan(1.5);
  });
});
