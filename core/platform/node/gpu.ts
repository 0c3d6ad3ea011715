/** The WebGPU entry point in Node: Dawn's binding (npm `webgpu`), loaded on first use. */

/** Also kept here, process-wide, so the instance outlives every device made from it (Dawn frees it when collected). */
let instance: GPU | undefined;

/** The `GPU` object, or an Error whose message says why there is none. */
export async function gpuEntry(): Promise<GPU> {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!.env;
  // Dawn's Vulkan loader wants a runtime directory; CI shells may have none.
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = "/tmp";
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import("webgpu")) as unknown as typeof mod;
  } catch (e) {
    throw new Error(`webgpu: the "webgpu" package (Dawn for Node) did not load: ${(e as Error).message.split("\n")[0]}`, { cause: e });
  }
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  return (instance ??= mod.create([]));
}

export const noAdapterHint: string = "Dawn needs a Vulkan driver: a GPU driver, or Mesa 25's lavapipe from Debian bookworm-backports' mesa-vulkan-drivers";

/** Settings kept across runs: none in Node, where Dawn's adapters name themselves and nothing is timed (the browser keeps them in localStorage). */
export function savedSetting(_key: string): string | null {
  return null;
}

export function saveSetting(_key: string, _value: string): void {}
