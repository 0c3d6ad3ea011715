/**
 * `npm run build`: the library for browsers and bundlers in dist/: ESM bundles (esbuild,
 * browser conditions, so #platform/* resolves to core/platform/browser/), the Web Worker of
 * the CPU pool beside them, and type declarations from tsc (tsconfig.build.json) under
 * dist/types. Node under tsx keeps running the sources; package.json's exports choose.
 *
 *   npm run build            # prints each file's size, minified and gzipped
 */
import { build } from "esbuild";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { pathToFileURL } from "node:url";

const root = join(import.meta.dirname, "..");
const dist = join(root, "dist");

/** Writes dist/: the bundles, and (unless `declarations` is false) the type declarations. */
export async function buildDist(opts: { declarations?: boolean } = {}): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  await bundle();
  if (opts.declarations !== false) declarations();
}

/** The subpath entries beside the main one: package.json's "./nn", "./optim", "./augerino". */
const SUBPATHS: Record<string, string> = { nn: "nn/index.ts", optim: "optim/index.ts", augerino: "augerino/index.ts" };

/**
 * One bundle, dist/index.js, holding the library and the subpath modules as namespaces;
 * dist/{nn,optim,augerino}.js re-export their namespace's names from it, so a page that
 * imports several gets one copy of the library (one backend registry). Not esbuild's code
 * splitting: it reorders module evaluation over import cycles.
 */
async function bundle(): Promise<void> {
  const entry = ['export * from "./index.ts";', ...Object.entries(SUBPATHS).map(([name, file]) => `export * as ${name} from "./${file}";`)].join("\n");
  await build({
    absWorkingDir: root,
    stdin: { contents: entry, resolveDir: root, sourcefile: "browser-entry.ts", loader: "ts" },
    outfile: join(dist, "index.js"),
    ...ESBUILD_OPTIONS,
  });
  // threads.ts starts it as new URL("./wasm-worker.js", import.meta.url), beside index.js.
  await build({ absWorkingDir: root, entryPoints: ["core/platform/browser/wasm-worker.js"], outfile: join(dist, "wasm-worker.js"), ...ESBUILD_OPTIONS });
  for (const [name, file] of Object.entries(SUBPATHS)) {
    const names = Object.keys(await import(join(root, file)));
    writeFileSync(join(dist, `${name}.js`), `import { ${name} as m } from "./index.js";\nexport const { ${names.join(", ")} } = m;\n`);
  }
}

const ESBUILD_OPTIONS = { bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true, sourcemap: true, logLevel: "warning" } as const;

/** tsc writes "./x.ts" specifiers as in the sources; consumers resolve "./x.js" to x.d.ts. */
function declarations(): void {
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  const rewrite = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) rewrite(path);
      else if (name.endsWith(".d.ts")) writeFileSync(path, readFileSync(path, "utf8").replace(/((?:from|import)\s*\(?\s*["']\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1.js$2"));
    }
  };
  rewrite(join(dist, "types"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await buildDist();
  printSizes();
}

function printSizes(): void {
  const sizes = (dir: string): [string, number, number][] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === "types" ? [] : sizes(path);
      if (!name.endsWith(".js")) return [];
      const bytes = readFileSync(path);
      return [[path.slice(dist.length + 1), bytes.length, gzipSync(bytes, { level: 9 }).length]];
    });
  const rows = sizes(dist);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [name, raw, gz] of rows) console.log(`${name.padEnd(40)} ${kib(raw).padStart(11)} ${kib(gz).padStart(11)} gzipped`);
  const total = rows.reduce((a, r) => [a[0] + r[1], a[1] + r[2]], [0, 0]);
  console.log(`${"all .js".padEnd(40)} ${kib(total[0]).padStart(11)} ${kib(total[1]).padStart(11)} gzipped`);
}
