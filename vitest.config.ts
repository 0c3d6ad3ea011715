import { defineConfig } from "vitest/config";
import { browserProjects } from "./tests/browser/projects.ts";

// Every test runs on the CPU, then again with WebGPU as the default backend
// (tests/backend-under-test.ts reads AUGERINO_BACKEND); the exclusions below say why a file runs once.
// A subset also runs in Chromium (tests/browser/projects.ts).
export default defineConfig({
  test: {
    setupFiles: ["tests/setup.ts"],
    pool: "forks",
    // --expose-gc lets the memory test force collection and read a flat heap.
    execArgv: ["--expose-gc"],
    testTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "cpu", include: ["tests/**/*.test.ts"], exclude: ["tests/browser/**"], env: { AUGERINO_BACKEND: "cpu" } } },
      {
        extends: true,
        test: {
          name: "webgpu",
          include: ["tests/**/*.test.ts"],
          exclude: [
            // Each backend's own tests (CPU kernels, the CUDA driver mock, WebGPU's runtime) pick their backend themselves.
            "tests/backends/**",
            "tests/browser/**",
            // The demo's end-to-end test picks its backend in the page.
            "tests/demo/**",
          ],
          env: { AUGERINO_BACKEND: "webgpu" },
        },
      },
      ...browserProjects,
    ],
  },
});
