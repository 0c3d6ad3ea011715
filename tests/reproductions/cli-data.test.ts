/**
 * Datasets through the real command, from a local HTTP server (AUGERINO_DATA_URL), never
 * the network: `data --download NAME` fetches one dataset, `reproduce` fetches what is
 * missing before it starts, and a failed or corrupt download is one line with exit 3.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { lines, runCli, serveFiles } from "./cli-run.ts";
import { sharedDataDir, tempDir } from "./fixtures.ts";

const shared = sharedDataDir();
const sprites = shared ? readFileSync(join(shared, "mario-iggy", "images.npz")) : undefined;

let server: Awaited<ReturnType<typeof serveFiles>>;
beforeAll(async () => {
  server = await serveFiles({ "/bad/mario-iggy/images.npz": new TextEncoder().encode("not the sprites"), ...(sprites && { "/good/mario-iggy/images.npz": sprites }) });
});
afterAll(() => server.close());

/** A machine with no data folder and an empty home, whose downloads come from `mirror` on the test's server. */
const fresh = (mirror: string) => {
  const home = tempDir("cli-home");
  return { home, env: { HOME: home, AUGERINO_DATA_DIR: "", AUGERINO_DATA_URL: `${server.url}/${mirror}` } };
};
const cached = (home: string) => join(home, ".cache", "augerino", "mario-iggy", "images.npz");

describe("augerino data --download NAME", () => {
  it.skipIf(!shared)("fetches that dataset alone, verified, and checks only it", async () => {
    const { home, env } = fresh("good");
    server.served.length = 0;
    const r = await runCli(["data", "--download", "mario-iggy"], env);
    expect(r.code, r.err).toBe(0);
    expect(server.served).toEqual(["/good/mario-iggy/images.npz"]);
    expect(r.out).toMatch(/saved .*images\.npz .*sha256 verified/);
    expect(r.out).not.toMatch(/mnist|olivetti/);
    expect(readFileSync(cached(home))).toEqual(sprites);
  });

  it("keeps nothing from a download whose checksum differs, and says so in one line", async () => {
    const { home, env } = fresh("bad");
    const r = await runCli(["data", "mario-iggy", "--download"], env);
    expect(r.code).toBe(3);
    expect(lines(r.err)).toEqual([expect.stringMatching(/^augerino data: mario-iggy: download of .*images\.npz has sha256 .*not saved/)]);
    expect(existsSync(cached(home))).toBe(false);
  });
});

describe("augerino reproduce on a machine without the data", () => {
  it("fails in one line with exit 3, saying what to copy where, when the download fails", async () => {
    const { home, env } = fresh("absent");
    const r = await runCli(["reproduce", "mario-iggy", "--quick", "--out", join(home, "out")], env);
    expect(r.code).toBe(3);
    expect(lines(r.err)).toEqual([expect.stringMatching(/download of .*images\.npz failed: HTTP 404; .*copy images\.npz into .*\.cache\/augerino\/mario-iggy/)]);
  });

  it.skipIf(!shared)("fetches the missing dataset before it starts a backend", async () => {
    const { home, env } = fresh("good");
    // An unknown backend stops the run right after the data step, so no training runs here.
    const r = await runCli(["reproduce", "mario-iggy", "--backend=nope", "--out", join(home, "out")], env);
    expect(lines(r.err)).toEqual([expect.stringMatching(/backend "nope" cannot start/)]);
    expect(r.out).toMatch(/mario-iggy: no images\.npz in .*; downloading it/);
    expect(readFileSync(cached(home))).toEqual(sprites);
  });
});
