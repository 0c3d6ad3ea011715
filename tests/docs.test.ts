import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { onWebgpu } from "./backend-under-test.ts";

const root = new URL("../", import.meta.url);
const toPackage = (src: string) =>
  src
    .replace('"../index.ts"', '"augerino"')
    .replace('"../nn/index.ts"', '"augerino/nn"')
    .replace('"../optim/index.ts"', '"augerino/optim"')
    .replace('"../augerino/index.ts"', '"augerino/augerino"')
    .replace('"../testing/index.ts"', '"augerino/testing"');
/** What an example prints (console.log lines) while it runs. */
async function printedBy(run: () => Promise<unknown>): Promise<string[]> {
  const logs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => logs.push(a.join(" "));
  try {
    await run();
  } finally {
    console.log = orig;
  }
  return logs;
}
const firstTsBlock = (md: string) => md.split("```ts\n")[1].split("```")[0];

describe("docs show the code that the examples run", () => {
  // The example reads results with Number(x), as a CPU script does (WebGPU reads asynchronously only).
  it.skipIf(onWebgpu)("docs/control-flow.md holds examples/control-flow.ts, and it prints what the doc promises", async () => {
    const doc = readFileSync(new URL("docs/control-flow.md", root), "utf8");
    expect(firstTsBlock(doc)).toBe(toPackage(readFileSync(new URL("examples/control-flow.ts", root), "utf8")));
    const out = (await printedBy(() => import("../examples/control-flow.ts"))).join("\n");
    expect(out).toContain("fit: 3.0000 3.0000");
    expect(out).toContain("equations at 1,000 steps: 1");
    expect(out).toContain("scan: 15 1 3 6 10 15");
    expect(out).toContain("halvings of 1000: 10 | batched: 2 7 0");
    expect(out).toContain("cond: 0 2 | where: -1 1");
    expect(out).toContain("switch: 40 2");
    const [, remat, plain] = /checkpointed steps: ([0-9.-]+) \| same without checkpoint: ([0-9.-]+)/.exec(out)!;
    expect(remat).toBe(plain);
  });
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
    const logs = await printedBy(() => import("../examples/learn-rotation.ts"));
    const widths = logs.join("").split(":")[1].trim().split(/\s+/).map(Number);
    expect(widths[2]).toBeGreaterThan(1.5);
  });

  it("docs/testing.md holds examples/invariance-checks.ts", () => {
    const doc = readFileSync(new URL("docs/testing.md", root), "utf8");
    expect(doc.split("```ts\n")[2].split("```")[0]).toBe(toPackage(readFileSync(new URL("examples/invariance-checks.ts", root), "utf8")));
  });
  it("the testing example finds and shrinks a counterexample, and the averaged models pass within the stated tolerances", async () => {
    const out = (await printedBy(() => import("../examples/invariance-checks.ts"))).join("\n");
    expect(out).toContain("cnn invariant under C4: false");
    // Shrunk to the smallest image the arbitrary allows, from seed 0, and the first quarter turn.
    expect(out).toMatch(/input: {3}image \[1, 1, 3, 3\] \(seed 0\)\n {2}element: rotation by 90 degrees\n {2}error: {3}[0-9.e-]+ > tol 0\.0001/);
    expect(Number(/C4 average: largest change ([0-9.e+-]+)/.exec(out)![1])).toBeLessThan(1e-5);
    const [, before, after] = /output moves by up to ([0-9.]+) under rotations; averaged over 256 rotations, by ([0-9.]+)/.exec(out)!.map(Number);
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(Math.min(0.05, 0.2 * before));
    expect(out).toContain("segmentation network equivariant: false; its C4 average: true");
  });
});
