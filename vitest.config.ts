import { defineConfig } from "vitest/config";

// Every test runs on the CPU; the ones that are backend-agnostic (nn, optim, transforms,
// augerino, core) run a second time with WebGPU as the default backend
// (tests/backend-under-test.ts reads the variable); the exclusions below say why a file stays CPU-only.
export default defineConfig({
  test: {
    setupFiles: ["tests/setup.ts"],
    pool: "forks",
    // --expose-gc lets the memory test force collection and read a flat heap.
    execArgv: ["--expose-gc"],
    testTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "cpu", include: ["tests/**/*.test.ts"], env: { AUGERINO_TEST_BACKEND: "cpu" } } },
      {
        extends: true,
        test: {
          name: "webgpu",
          include: ["tests/optim/**/*.test.ts", "tests/nn/**/*.test.ts", "tests/transforms/**/*.test.ts", "tests/augerino/**/*.test.ts", "tests/core/**/*.test.ts"],
          exclude: [
            // The CPU's JS and WebAssembly kernels; their WebGPU counterparts are tests/backends/webgpu.
            "tests/core/compiler/**",
            // Reads the CPU backend's buffer pool and live-buffer counts (getBackend("cpu").memoryStats()).
            "tests/core/memory.test.ts",
          ],
          env: { AUGERINO_TEST_BACKEND: "webgpu" },
        },
      },
    ],
  },
});
