// The Mario-Iggy sprites from the reference's images.npz (checked against its sha256), and
// the rotated training set built from them as reproductions/datasets/marioiggy.ts does:
// label = 2 * character + half; half 0 rotates within [-pi/4, pi/4], half 1 that range plus pi.
import { np, random } from "/dist/index.js";
import * as aug from "/dist/augerino.js";

export const SPRITES_SHA256 = "41d9671c1f3b732f87614c7fdf9ba270ee6d583f325051cacfb35daa1c9594c5";

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The members of a .npz (a zip of .npy files), found through the zip's central directory. */
async function unzip(bytes, what) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${what}: not a zip file (no end of central directory)`);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const files = {};
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error(`${what}: damaged central directory`);
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const [nameLen, extraLen, commentLen] = [28, 30, 32].map((o) => view.getUint16(at + o, true));
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLen));
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(start, start + size);
    if (method === 0) files[name] = raw;
    else if (method === 8) files[name] = new Uint8Array(await new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer());
    else throw new Error(`${what}: member ${name} uses zip method ${method}; expected stored or deflate`);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

/** A little-endian float64 or float32 .npy as { shape, data: Float32Array }. */
function parseNpy(bytes, what) {
  if (bytes[0] !== 0x93 || new TextDecoder().decode(bytes.subarray(1, 6)) !== "NUMPY") throw new Error(`${what}: not a .npy file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [len, headerStart] = bytes[6] === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + len));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "")
    .split(",")
    .filter((s) => s.trim())
    .map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${what}: Fortran-ordered arrays are not supported`);
  const body = bytes.slice(headerStart + len).buffer;
  if (descr === "<f8")
    return {
      shape,
      data: Float32Array.from(
        new Float64Array(
          body,
          0,
          shape.reduce((a, b) => a * b, 1),
        ),
      ),
    };
  if (descr === "<f4")
    return {
      shape,
      data: new Float32Array(
        body,
        0,
        shape.reduce((a, b) => a * b, 1),
      ),
    };
  throw new Error(`${what}: dtype ${descr}; expected <f8 or <f4`);
}

/** The two sprites, float32 [1, 3, 32, 32] arrays, from the bytes of images.npz (sha256 checked first). */
export async function spritesFrom(bytes, what) {
  const hash = await sha256Hex(bytes);
  if (hash !== SPRITES_SHA256) throw new Error(`${what}: sha256 ${hash} is not that of the reference's images.npz (${SPRITES_SHA256})`);
  const files = await unzip(bytes, what);
  const get = (name) => {
    const member = files[`${name}.npy`];
    if (!member) throw new Error(`${what}: no ${name}.npy inside`);
    const a = parseNpy(member, `${what}:${name}.npy`);
    if (a.shape.join(",") !== "1,3,32,32") throw new Error(`${what}: ${name} has shape [${a.shape}], expected [1, 3, 32, 32]`);
    return np.array(a.data).reshape([1, 3, 32, 32]);
  };
  return { mario: get("mario"), iggy: get("iggy") };
}

export function rotations(angles) {
  return np.stack(
    [
      np.stack([np.cos(angles), np.sin(angles).neg(), np.zerosLike(angles)], { axis: -1 }),
      np.stack([np.sin(angles), np.cos(angles), np.zerosLike(angles)], { axis: -1 }),
      np.stack([np.zerosLike(angles), np.zerosLike(angles), np.onesLike(angles)], { axis: -1 }),
    ],
    { axis: -2 },
  );
}

/** n rotated images (n a multiple of 4) with labels 0..3, drawn from `seed`. */
export function marioIggySet(sprites, n, seed) {
  const q = n / 4;
  const labels = np.array(
    Array.from({ length: n }, (_, i) => Math.floor(i / q)),
    { dtype: "int32" },
  );
  const base = random.uniform(random.key(seed), [n], { minval: -Math.PI / 4, maxval: Math.PI / 4 });
  const angles = base.add(np.remainder(labels, 2).astype("float32").mul(Math.PI));
  const images = np.concatenate([np.broadcastTo(sprites.mario, [n / 2, 3, 32, 32]), np.broadcastTo(sprites.iggy, [n / 2, 3, 32, 32])]);
  return { x: aug.warp(images, rotations(angles)), y: labels };
}
