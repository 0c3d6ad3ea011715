/**
 * The browser demo end to end (examples/web/, served by scripts/demo-server.ts): the
 * server keeps to its two folders and sends COOP/COEP; in Chromium the page loads the
 * Mario-Iggy sprites from a picked file (sha256 checked), trains Augerino for a few
 * seconds on WebGPU (SwiftShader here), and the learned rotation width moves. A screenshot
 * goes to results/browser/demo.png. Needs /usr/bin/chromium and the data
 * (AUGERINO_DATA_DIR); without them the tests are skipped, saying which is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import type { Server } from "node:http";
import { demoServer, listen } from "../../scripts/demo-server.ts";
import { buildDist } from "../../scripts/build.ts";

const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
const sprites = join(process.env.AUGERINO_DATA_DIR ?? "/nonexistent", "mario-iggy", "images.npz");
const missing = !existsSync(chromium) ? `no Chromium at ${chromium}` : !existsSync(sprites) ? `no ${sprites} (set AUGERINO_DATA_DIR)` : null;

let server: Server;
let base: string;
beforeAll(async () => {
  if (missing) return;
  await buildDist({ declarations: false });
  server = demoServer();
  base = await listen(server, "127.0.0.1", 0);
}, 120_000);
afterAll(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** GET with the path sent as written (fetch would normalise "..") -> [status, headers]. */
function rawGet(path: string): Promise<[number, Record<string, unknown>]> {
  return new Promise((done, fail) => {
    const req = request(new URL(base), { path, method: "GET" }, (res) => {
      res.resume();
      done([res.statusCode ?? 0, res.headers]);
    });
    req.on("error", fail);
    req.end();
  });
}

describe.skipIf(missing !== null)(`the browser demo${missing ? ` (skipped: ${missing})` : ""}`, () => {
  it("serves the page and dist with COOP/COEP, and nothing outside them", async () => {
    const [status, headers] = await rawGet("/");
    expect(status).toBe(200);
    expect(headers["cross-origin-opener-policy"]).toBe("same-origin");
    expect(headers["cross-origin-embedder-policy"]).toBe("require-corp");
    expect((await rawGet("/dist/index.js"))[0]).toBe(200);
    for (const path of [
      "/../package.json",
      "/%2e%2e/package.json",
      "/..%2fpackage.json",
      "/%2E%2E%2Fpackage.json",
      "/dist/../package.json",
      "/dist/..%2f..%2fpackage.json",
      "/dist/%2e%2e%2f%2e%2e%2fpackage.json",
      "/..%5cpackage.json",
      "/%00",
      "/dist/../../scripts/build.ts",
    ]) {
      expect([path, (await rawGet(path))[0]]).toEqual([path, 404]);
    }
  });

  it("trains Augerino on Mario-Iggy in Chromium: the learned width moves", async () => {
    const { chromium: browserType } = await import("playwright");
    const browser = await browserType.launch({ executablePath: chromium, args: ["--no-sandbox", "--enable-unsafe-webgpu"] });
    try {
      const page = await browser.newPage({ viewport: { width: 940, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(base);
      await page.setInputFiles("#file", sprites);
      // Strings, so that these page-side expressions need no DOM types here.
      await page.waitForFunction("!document.getElementById('start').disabled", null, { timeout: 30_000 });
      await page.fill("#width0", "0.3");
      await page.click("#start");
      // A few seconds of training (at least 12 steps: SwiftShader is slow to compile the first ones).
      await page.waitForFunction("window.demo.steps >= 12", null, { timeout: 90_000 });
      await page.waitForTimeout(3000);
      await page.click("#stop");
      const demo = (await page.evaluate("window.demo")) as { backend: string; widths: number[]; losses: number[]; error: string | null };
      expect(errors).toEqual([]);
      expect(demo.error).toBeNull();
      if (process.env.AUGERINO_REQUIRE_WEBGPU === "1") expect(demo.backend).toBe("webgpu");
      expect(demo.losses.every(Number.isFinite)).toBe(true);
      const moved = Math.abs(demo.widths[demo.widths.length - 1] - demo.widths[0]);
      expect(moved).toBeGreaterThan(0.01);
      mkdirSync("results/browser", { recursive: true });
      await page.screenshot({ path: "results/browser/demo.png", fullPage: true });
    } finally {
      await browser.close();
    }
  }, 180_000);
});
