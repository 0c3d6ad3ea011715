// ESLint's recommended rules plus typescript-eslint's syntax-only set (the type-checked set
// needs a TypeScript program for every file: too slow for CI's two cores).
import js from "@eslint/js";
import comments from "@eslint-community/eslint-plugin-eslint-comments";
import { useForTypescriptEslint } from "eslint-typescript";

useForTypescriptEslint(import.meta.url);
const { default: tseslint } = await import("typescript-eslint");

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "results/", "scratch/", "data/"] },
  // A disable comment that no longer suppresses anything fails, so none outlives its reason.
  { linterOptions: { reportUnusedDisableDirectives: "error" } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    plugins: { "@eslint-community/eslint-comments": comments },
    rules: {
      // A disable comment says why after "--" and names its rules.
      "@eslint-community/eslint-comments/require-description": "error",
      "@eslint-community/eslint-comments/no-unlimited-disable": "error",
      // An underscore marks a parameter kept for its position; a rest sibling drops keys from a copy.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    // core/tracer.ts loads the Tracer class before np (whose modules extend it); entering the
    // import cycle at the class's own file would load np first.
    files: ["**/*.ts"],
    ignores: ["core/tracer.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/tracer-class.ts"], allowTypeImports: true, message: "Import Tracer from core/tracer.ts, which loads the class before np." }] },
      ],
    },
  },
  {
    // The plain JavaScript files run on Node (a wasm worker, the CLI launcher, this tooling).
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", WebAssembly: "readonly", Atomics: "readonly", URL: "readonly" } },
  },
  {
    // The demo page and the browser's wasm worker run in a page or a Web Worker.
    files: ["examples/web/**/*.js", "core/platform/browser/**/*.js"],
    languageOptions: {
      globals: {
        self: "readonly",
        document: "readonly",
        window: "readonly",
        fetch: "readonly",
        crypto: "readonly",
        TextDecoder: "readonly",
        Response: "readonly",
        Blob: "readonly",
        DecompressionStream: "readonly",
        console: "readonly",
        WebAssembly: "readonly",
        Atomics: "readonly",
        URL: "readonly",
      },
    },
  },
);
