/**
 * Each public entry loads alone, in a fresh Node process, and arrays then have their
 * methods (before, `import "core/lax.ts"` alone gave arrays whose x.add was undefined). `Tracer`'s methods call np while np's modules define the classes that extend
 * `Tracer`, so which module a program imports first decides the order the import cycle
 * evaluates in (core/tracer.ts loads the class before np); vitest's own module runner
 * shares one module graph per file, hence the child processes. The bundle is esbuild's
 * order of the same graph, as in the browser build.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const run = promisify(execFile);

/** Imports `module` alone and calls a method on an array it reaches; prints the result. */
function script(module: string): string {
  return `
    const m = await import(${JSON.stringify(module)});
    const { array } = await import(${JSON.stringify(join(root, "core/np.ts"))});
    const x = array([1, 2, 3]);
    console.log(Object.keys(m).length > 0, JSON.stringify(x.add(1).mul(x).reshape(3, 1).sum().item()));
  `;
}

/** package.json's exports, np and lax, and two internal modules that tests import first. */
const ENTRIES = ["index.ts", "nn/index.ts", "optim/index.ts", "augerino/index.ts", "testing/index.ts", "core/np.ts", "core/lax.ts", "core/array.ts", "core/primitives/elementwise.ts"];

// Concurrent: each test waits on its own child process.
describe.concurrent("public entries", () => {
  it.each(ENTRIES)("%s loads alone in a fresh process", async (entry) => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script(join(root, entry))], { cwd: root, timeout: 60_000 });
    // (1 + 1) * 1 + (2 + 1) * 2 + (3 + 1) * 3
    expect(stdout.trim()).toBe("true 20");
  });

  it("an esbuild bundle of the library evaluates its import cycle in a working order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "augerino-entries-"));
    try {
      const outfile = join(dir, "bundle.mjs");
      const contents = 'export * from "./index.ts";\nexport * as nn from "./nn/index.ts";\nexport * as augerino from "./augerino/index.ts";';
      await build({ absWorkingDir: root, stdin: { contents, resolveDir: root, loader: "ts" }, outfile, bundle: true, format: "esm", platform: "node", packages: "external", logLevel: "silent" });
      writeFileSync(join(dir, "main.mjs"), `const { np } = await import("./bundle.mjs");\nconst x = np.array([1, 2, 3]);\nconsole.log(x.add(1).mul(x).sum().item());\n`);
      const { stdout } = await run(process.execPath, [join(dir, "main.mjs")], { cwd: root, timeout: 60_000 });
      expect(stdout.trim()).toBe("20");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
