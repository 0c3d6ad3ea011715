import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    setupFiles: ["tests/setup.ts"],
    pool: "forks",
    // --expose-gc lets the memory test force collection and read a flat heap.
    execArgv: ["--expose-gc"],
    testTimeout: 60_000,
  },
});
