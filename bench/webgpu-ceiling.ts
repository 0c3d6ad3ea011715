/**
 * What the adapter itself allows a product kernel, measured (`npx tsx bench/webgpu-ceiling.ts`):
 * on a software adapter the compiled shader, not the kernel design, bounds a matrix product,
 * and this prints by how much. Three measurements on the webgpu backend's device:
 * - multiply-add throughput: 32 independent chains per invocation, no memory traffic;
 * - load throughput inside a loop: per invocation, scalar or vec4 loads of a storage buffer
 *   (lavapipe loads every lane's element separately, vec4 or not);
 * - our register product kernel on a 1024-cube for several register tiles (REGISTER_TILE),
 *   beside the time its vec4 loads alone would take at the measured load throughput.
 * A tile of TM rows x 4·TN4 columns loads TM + 4·TN4 vec4s per 16·TM·TN4 multiply-adds;
 * larger tiles load less per multiply-add but no longer fit in registers.
 */
import { initBackend, getBackend } from "../index.ts";
import type { WebGpuBackend } from "../core/backends/webgpu/index.ts";
import { dotProgram, REGISTER_TILE } from "../core/backends/webgpu/kernels/dot.ts";
import type { ShapedArray } from "../core/tracer.ts";

const N = 1024;
const REPS = 5;

/** The fastest of REPS timed runs of `run` (which returns when its work is done) after one untimed, in ms. */
async function bestMs(run: () => Promise<void>): Promise<number> {
  await run();
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    await run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

async function main(): Promise<void> {
  await initBackend("webgpu");
  const be = getBackend("webgpu") as unknown as WebGpuBackend;
  const device = be.device;
  const info = (device as unknown as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  console.log(`adapter: ${[info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" / ") || "(anonymous)"}`);

  const buffer = (words: number) => device.createBuffer({ size: words * 4, usage: GPUBufferUsage.STORAGE });
  const src = buffer(1 << 20),
    dst = buffer(1 << 20);
  /** The time of a one-off kernel over `src` into `dst` (bestMs). */
  const timeKernel = async (code: string, workgroups: number) => {
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
    const bindings = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [src, dst].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    return bestMs(async () => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindings);
      pass.dispatchWorkgroups(workgroups);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    });
  };
  const header = (T: string) => `@group(0) @binding(0) var<storage, read> a: array<${T}>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gi = wid.x * 64u + lid;`;

  const chains = [...Array(32).keys()];
  const fmaCode = `${header("f32")}
  let x = a[gi % 1024u];
  ${chains.map((i) => `var s${i} = f32(${i});`).join(" ")}
  for (var k = 0u; k < 1024u; k++) { ${chains.map((i) => `s${i} = s${i} * x + 0.5;`).join(" ")} }
  c[gi % 1048576u] = ${chains.map((i) => `s${i}`).join(" + ")};
}`;
  const fmaGroups = 1024;
  const fmaMs = await timeKernel(fmaCode, fmaGroups);
  const fmaRate = (fmaGroups * 64 * 1024 * 32) / fmaMs / 1e6; // G multiply-adds per second

  const loadRate = async (T: "f32" | "vec4<f32>") => {
    const words = T === "f32" ? 1 << 20 : 1 << 18;
    const code = `${header(T)}
  var acc = ${T}();
  for (var k = 0u; k < 256u; k++) { ${[0, 1, 2, 3, 4, 5, 6, 7].map((q) => `acc += a[(k * 512u + ${q * 64}u + gi) % ${words}u];`).join(" ")} }
  c[gi % 1048576u] = ${T === "f32" ? "acc" : "dot(acc, vec4<f32>(1.0))"};
}`;
    const groups = 2048;
    return (groups * 64 * 256 * 8) / (await timeKernel(code, groups)) / 1e6; // G lane-loads per second
  };
  const scalarLoads = await loadRate("f32"),
    vec4Loads = await loadRate("vec4<f32>");
  console.log(`\n| measurement | rate |\n|---|---|`);
  console.log(`| multiply-adds, no memory | ${(2 * fmaRate).toFixed(1)} GFLOP/s |`);
  console.log(`| f32 loads in a loop | ${scalarLoads.toFixed(2)} G per second |`);
  console.log(`| vec4<f32> loads in a loop | ${vec4Loads.toFixed(2)} G per second (${(4 * vec4Loads).toFixed(2)} G elements) |`);

  const aval = { shape: [N, N], dtype: "float32" } as ShapedArray;
  const mm = { dims: { contracting: [[1], [0]], batch: [[], []] } } as const;
  const x = be.upload(new Float32Array(N * N).fill(0.5), "float32");
  const saved = { ...REGISTER_TILE };
  console.log(`\n| register tile (rows x columns) | matmul ${N} ms | GFLOP/s | its vec4 loads alone, ms |\n|---|---|---|---|`);
  try {
    for (const [TM, TN4] of [
      [4, 1],
      [8, 1],
      [4, 2],
      [8, 2],
    ]) {
      Object.assign(REGISTER_TILE, { TM, TN4 });
      const program = dotProgram([aval, aval], [aval], mm as never, "register");
      const best = await bestMs(async () => {
        const [out] = be.runProgram(program, [x, x], [aval], "ceiling (register product)");
        be.flush();
        await device.queue.onSubmittedWorkDone();
        be.free(out);
      });
      const loads = ((N * N * N) / (16 * TM * TN4)) * (TM + 4 * TN4);
      console.log(`| ${TM} x ${4 * TN4} | ${best.toFixed(1)} | ${((2 * N ** 3) / best / 1e6).toFixed(1)} | ${(loads / vec4Loads / 1e6).toFixed(1)} |`);
    }
  } finally {
    Object.assign(REGISTER_TILE, saved);
    be.free(x);
  }
}

if (process.argv.length > 2) {
  console.error(`webgpu-ceiling: takes no arguments, got ${process.argv.slice(2).join(" ")}\nusage: npx tsx bench/webgpu-ceiling.ts`);
  process.exit(2);
}
await main();
process.exit(0);
