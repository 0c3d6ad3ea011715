/**
 * PyTorch as a peer: a python3 subprocess (pytorch_peer.py) running the same workloads on the
 * same data, with as many threads as ours. Each timed call is one JSON line there and back
 * (well under a millisecond); inputs go through raw files in a temporary directory. The
 * interpreter is $AUGERINO_PYTHON, else the first of python3 and /usr/bin/python3 that can
 * `import torch` (a pyenv python3 often lacks Debian's python3-torch).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { cpuThreads } from "../../core/backends/cpu/wasm/pool.ts";
import type { Impl, Kind, Library, Peer } from "../harness.ts";
import { LR, THETA_INIT } from "../workloads/train.ts";
import { adamLeafSizes } from "../workloads/adam.ts";

const SCRIPT = fileURLToPath(new URL("./pytorch_peer.py", import.meta.url));

/** The first interpreter that imports torch, or the reason none does. */
function findPython(): string {
  const tried = process.env.AUGERINO_PYTHON ? [process.env.AUGERINO_PYTHON] : ["python3", "/usr/bin/python3"];
  const errors: string[] = [];
  for (const py of tried) {
    const r = spawnSync(py, ["-c", "import torch"], { encoding: "utf8" });
    if (r.status === 0) return py;
    errors.push(`${py}: ${r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)}`);
  }
  throw new Error(`no python3 with torch (${errors.join("; ")}); Debian: apt install python3-torch`);
}

/** One request/answer channel to the subprocess. */
class Channel {
  private pending: ((line: string) => void)[] = [];
  private exited: string | null = null;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => this.pending.shift()?.(line));
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => {
      this.exited = `python exited (${code}): ${stderr.trim().split("\n").pop() ?? ""}`;
      for (const p of this.pending.splice(0)) p(JSON.stringify({ error: this.exited }));
    });
  }

  async ask(msg: object): Promise<Record<string, unknown>> {
    if (this.exited) throw new Error(this.exited);
    const line = await new Promise<string>((resolve) => {
      this.pending.push(resolve);
      this.child.stdin.write(`${JSON.stringify(msg)}\n`);
    });
    const reply = JSON.parse(line) as Record<string, unknown>;
    if (typeof reply.error === "string") throw new Error(reply.error);
    return reply;
  }
}

export const pytorch: Peer = {
  name: "pytorch",
  async load(): Promise<Library> {
    const python = findPython();
    const child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
    // The subprocess must not keep the bench alive (run.ts exits explicitly anyway).
    child.unref();
    const ch = new Channel(child);
    const hello = await ch.ask({ cmd: "hello", threads: cpuThreads() });
    const dir = mkdtempSync(join(tmpdir(), "augerino-bench-torch-"));
    process.on("exit", () => {
      rmSync(dir, { recursive: true, force: true });
      child.kill();
    });
    const impl =
      (kind: Kind, extra: Record<string, number | number[]> = {}): Impl =>
      async (w, inputs) => {
        const files: Record<string, [string, string]> = {};
        for (const [name, a] of Object.entries(inputs)) {
          const path = join(dir, `${w.id}-${name}.bin`);
          writeFileSync(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
          files[name] = [path, a instanceof Int32Array ? "int32" : "float32"];
        }
        await ch.ask({ cmd: "prepare", kind, params: { ...w.params, ...extra }, inputs: files });
        return {
          run: () => ch.ask({ cmd: "run" }),
          check: async () => (await ch.ask({ cmd: "check" })).check as number,
        };
      };
    return {
      name: `pytorch ${hello.version}`,
      note: `PyTorch ${hello.version} in a python3 subprocess (${python}), ${hello.threads} threads (torch.set_num_threads), ${hello.blas} (Debian: the libblas.so.3 alternative), oneDNN (mkldnn) ${hello.mkldnn ? "on" : "off"}; eager mode. The train step is written as the reference code: a loop over the copies, F.affine_grid / F.grid_sample, torch.matrix_exp, Adam with two parameter groups. A timed call includes one JSON line to the subprocess and back.`,
      impls: {
        matmul: impl("matmul"),
        conv: impl("conv"),
        convGrad: impl("convGrad"),
        chain: impl("chain"),
        gridSample: impl("gridSample"),
        gridSampleGrad: impl("gridSampleGrad"),
        adam: impl("adam", { sizes: adamLeafSizes() }),
        copy: impl("copy"),
        maxPool: impl("maxPool"),
        avgPool: impl("avgPool"),
        batchNorm: impl("batchNorm"),
        train: impl("train", { thetaInit: THETA_INIT, lr: LR, lambda: 0.01 }),
      },
    };
  },
};
