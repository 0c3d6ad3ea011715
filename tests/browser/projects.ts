/**
 * The vitest projects that run tests in Chromium (Debian's /usr/bin/chromium through
 * Playwright; no browser is downloaded): the CPU backend, and WebGPU on the two adapters
 * a headless Chromium offers here. Flags measured on Chromium 156:
 * - compat: Dawn's compatibility mode on lavapipe through ANGLE (no subgroups, no f16),
 *   the target of older GPUs and Android;
 * - swiftshader: Chromium's own software adapter, core features with subgroups.
 * A machine without /usr/bin/chromium (or CHROMIUM naming another) gets no browser projects.
 */
import { existsSync } from "node:fs";
import { playwright } from "@vitest/browser-playwright";
import type { TestProjectInlineConfiguration } from "vitest/config";

const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Representative files, small enough for CI's budget (about a minute per project). */
const CPU_FILES = ["tests/core/np.test.ts", "tests/transforms/compositions.test.ts", "tests/augerino/augerino.test.ts", "tests/browser/platform.test.ts", "tests/backends/cpu/scalar-math.test.ts"];
const WEBGPU_FILES = ["tests/core/reduce.test.ts", "tests/augerino/augerino.test.ts", "tests/browser/webgpu-adapter.test.ts"];

const ADAPTER_FLAGS: Record<string, string[]> = {
  compat: ["--use-angle=vulkan", "--use-webgpu-adapter=opengles", "--force-webgpu-compat"],
  swiftshader: ["--enable-unsafe-webgpu"],
};

function browserProject(name: string, include: string[], backend: "cpu" | "webgpu", flags: string[], adapter?: string): TestProjectInlineConfiguration {
  // A page has no `process`: the settings the test helpers read are written into the code.
  const env = { AUGERINO_BACKEND: backend, AUGERINO_BROWSER_ADAPTER: adapter, AUGERINO_REQUIRE_WEBGPU: process.env.AUGERINO_REQUIRE_WEBGPU, FC_SEED: process.env.FC_SEED };
  return {
    extends: true,
    define: { "process.env": JSON.stringify(env) },
    // Cross-origin isolated pages, so the CPU pool's Web Workers get the shared memory.
    server: { headers: { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } },
    test: {
      name,
      include,
      env: { AUGERINO_BACKEND: backend },
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({ launchOptions: { executablePath: chromium, args: ["--no-sandbox", ...flags] } }),
        instances: [{ browser: "chromium" }],
      },
    },
  };
}

export const browserProjects: TestProjectInlineConfiguration[] = existsSync(chromium)
  ? [
      browserProject("browser-cpu", CPU_FILES, "cpu", []),
      ...Object.entries(ADAPTER_FLAGS).map(([adapter, flags]) => browserProject(`browser-webgpu-${adapter}`, WEBGPU_FILES, "webgpu", flags, adapter)),
    ]
  : [];
