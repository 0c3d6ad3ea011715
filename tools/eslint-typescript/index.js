// typescript-eslint's parser require()s "typescript" for the TypeScript 5/6 compiler API, which
// TypeScript 7 (the project's tsc) no longer ships. This module hands it the TypeScript 6 copy
// installed beside it; it lives in its own folder so that copy's tsc binary does not replace the
// project's. eslint.config.js calls useForTypescriptEslint() before it loads typescript-eslint.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const typescript = require("typescript");

/** Makes `require("typescript")` inside typescript-eslint (resolved from configUrl) return TypeScript 6. */
export function useForTypescriptEslint(configUrl) {
  const estree = createRequire(configUrl).resolve("@typescript-eslint/typescript-estree");
  const projectTypescript = createRequire(estree).resolve("typescript");
  require.cache[projectTypescript] = { id: projectTypescript, filename: projectTypescript, loaded: true, exports: typescript };
}
