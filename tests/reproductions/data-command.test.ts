/**
 * `augerino data`: exit codes 0 (all present and valid), 2 (bad arguments), 3 (missing or
 * corrupt, or a failed download), each failure with a one-line reason; downloads are
 * checksum-verified before they are kept.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runData } from "../../reproductions/data-command.ts";
import { main } from "../../reproductions/cli.ts";
import type { Fetch } from "../../reproductions/datasets/index.ts";
import { restoreEnv, sharedDataDir, tempDir } from "./fixtures.ts";

const shared = sharedDataDir();
if (!shared) console.log("data-command.test: skipping the tests that need the verified data (set AUGERINO_DATA_DIR or provide /work/shared/data)");

restoreEnv(afterAll, "AUGERINO_DATA_DIR", "HOME");
beforeAll(() => {
  process.env.HOME = tempDir("home");
});

async function run(args: string[], fetch?: Fetch) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runData(args, { out: (l) => out.push(l), err: (l) => err.push(l), download: fetch ? { fetch } : undefined });
  for (const l of err) expect(l).not.toContain("\n");
  return { code, out: out.join("\n"), err };
}

/** A folder whose datasets link to the shared ones, except the files in `replace`. */
function mirror(replace: Record<string, Buffer> = {}): string {
  const dir = tempDir("mirror");
  for (const ds of ["mnist", "mario-iggy", "olivetti"]) {
    mkdirSync(join(dir, ds));
    for (const f of [
      "images.npz",
      "olivetti_faces.npy",
      "olivetti_faces_target.npy",
      "olivettifaces.mat",
      "t10k-images-idx3-ubyte.gz",
      "t10k-labels-idx1-ubyte.gz",
      "train-labels-idx1-ubyte.gz",
      "train-images-idx3-ubyte-first19690.gz",
    ]) {
      const src = join(shared!, ds, f);
      const dst = join(dir, ds, f);
      if (replace[`${ds}/${f}`]) writeFileSync(dst, replace[`${ds}/${f}`]);
      else if (existsSync(src)) symlinkSync(src, dst);
    }
  }
  return dir;
}

describe("augerino data", () => {
  it("exits 2 with one line on an unknown option, also through the CLI", async () => {
    const r = await run(["--bogus"]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/unknown option "--bogus"/);
    await import("../../reproductions/data-command.ts");
    const errs: string[] = [];
    const orig = console.error;
    console.error = (l: string) => errs.push(l);
    try {
      expect(await main(["data", "--nope"])).toBe(2);
    } finally {
      console.error = orig;
    }
    expect(errs).toHaveLength(1);
  });

  it("exits 3 and lists the missing files when nothing is there", async () => {
    process.env.AUGERINO_DATA_DIR = tempDir("none");
    const r = await run(["--check"]);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/missing\s+train images\s+none of train-images-idx3-ubyte\.gz, train-images-idx3-ubyte-first19690\.gz/);
    expect(r.out).toMatch(/missing\s+sprites/);
    expect(r.out).toMatch(/absent\s+targets\s+\(optional/);
    expect(r.err).toEqual([expect.stringMatching(/^augerino data: 6 required files missing or corrupt; set AUGERINO_DATA_DIR .*augerino data --download/)]);
  });

  it.skipIf(!shared)("exits 0 on the verified data, with --check or no option", async () => {
    process.env.AUGERINO_DATA_DIR = shared!;
    for (const args of [["--check"], []]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(/missing|corrupt/);
      expect(r.out.match(/^\s+OK\s/gm)).toHaveLength(7);
    }
  });

  it.skipIf(!shared)("exits 3 on a corrupt file and says which", async () => {
    const good = readFileSync(join(shared!, "mario-iggy", "images.npz"));
    const bad = Buffer.from(good);
    bad[1000] ^= 0x55;
    process.env.AUGERINO_DATA_DIR = mirror({ "mario-iggy/images.npz": bad });
    const r = await run(["--check"]);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/corrupt\s+sprites\s+\S*images\.npz: checksum mismatch/);
    expect(r.err[0]).toMatch(/1 required file missing or corrupt/);
  });

  it("fails a download cleanly, in one line, when the host cannot be reached", async () => {
    process.env.AUGERINO_DATA_DIR = tempDir("none2");
    const offline: Fetch = async () => {
      throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND ossci-datasets.s3.amazonaws.com" } });
    };
    const r = await run(["--download"], offline);
    expect(r.code).toBe(3);
    expect(r.err).toEqual([expect.stringMatching(/^augerino data: mnist: download of https:\/\/ossci-datasets\.s3\.amazonaws\.com\/mnist\/train-images-idx3-ubyte\.gz failed: ENOTFOUND/)]);
  });

  it.skipIf(!shared)("keeps only downloads whose checksum matches, in ~/.cache/augerino", async () => {
    delete process.env.AUGERINO_DATA_DIR;
    process.env.HOME = tempDir("home2");
    const served: string[] = [];
    // Serves the shared copies under the upstream URLs; the full MNIST training file is not
    // available here, so that one URL gets the 19,690-image file, whose digest differs.
    const local: Fetch = async (url) => {
      served.push(url);
      const name = url.endsWith("/5976027")
        ? "olivetti/olivettifaces.mat"
        : url.includes("mario-iggy")
          ? "mario-iggy/images.npz"
          : `mnist/${url.split("/").pop()!.replace("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte-first19690.gz")}`;
      const bytes = readFileSync(join(shared!, name));
      return { ok: true, status: 200, arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
    };
    const r = await run(["--download"], local);
    expect(r.code).toBe(3);
    expect(r.err[0]).toMatch(/train-images-idx3-ubyte\.gz has sha256 a7e0fd079b2ddac0\.\.\., expected 440fcabf73cc546f\.\.\..*not saved/);
    const cache = join(process.env.HOME, ".cache", "augerino");
    expect(existsSync(join(cache, "mnist", "train-images-idx3-ubyte.gz"))).toBe(false);
    expect(existsSync(join(cache, "mnist", "train-images-idx3-ubyte.gz.part"))).toBe(false);

    // With the 19,690-image file in place, the rest downloads, verifies and checks out.
    mkdirSync(join(cache, "mnist"), { recursive: true });
    symlinkSync(join(shared!, "mnist", "train-images-idx3-ubyte-first19690.gz"), join(cache, "mnist", "train-images-idx3-ubyte-first19690.gz"));
    served.length = 0;
    const r2 = await run(["--download"], local);
    expect(r2.code).toBe(0);
    expect(served).toHaveLength(5); // 3 MNIST files, the sprites, the faces (.mat)
    expect(existsSync(join(cache, "olivetti", "olivettifaces.mat"))).toBe(true);
    expect(r2.out).toMatch(/sha256 verified/);
    // A second run finds everything and fetches nothing.
    served.length = 0;
    expect((await run(["--download"], local)).code).toBe(0);
    expect(served).toEqual([]);
  });
});
