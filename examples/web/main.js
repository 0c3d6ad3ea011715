// The demo page: loads the sprites, builds a rotated training set, and trains a small CNN
// with Augerino's rotation width, drawing the loss, the width, sampled rotations and the
// predicted probability against input angle as it goes. window.demo exposes the run's
// numbers (the end-to-end test in tests/demo/ reads them).
import { initBackend, jit, np, random, setDefaultBackend, valueAndGrad } from "/dist/index.js";
import * as nn from "/dist/nn.js";
import * as optim from "/dist/optim.js";
import * as aug from "/dist/augerino.js";
import { marioIggySet, rotations, spritesFrom } from "./data.js";
import { drawImages, drawLines } from "./plots.js";

const $ = (id) => document.getElementById(id);
const demo = (window.demo = { backend: null, steps: 0, losses: [], widths: [], running: false, error: null });
let sprites = null;

async function loadBytes(bytes, what) {
  $("data-status").textContent = `checking ${what}...`;
  try {
    sprites = await spritesFrom(bytes, what);
    $("data-status").textContent = `${what}: sha256 ok, Mario and Iggy loaded`;
    $("start").disabled = false;
    drawImages($("samples"), await np.concatenate([sprites.mario, sprites.iggy]).data(), 2);
  } catch (e) {
    $("data-status").textContent = e.message;
  }
}
$("file").addEventListener("change", async () => {
  const f = $("file").files[0];
  if (f) await loadBytes(new Uint8Array(await f.arrayBuffer()), f.name);
});
$("fetch").addEventListener("click", async () => {
  try {
    const r = await fetch($("url").value);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    await loadBytes(new Uint8Array(await r.arrayBuffer()), $("url").value);
  } catch (e) {
    $("data-status").textContent = `could not fetch: ${e.message}`;
  }
});

async function chooseBackend(choice) {
  if (choice !== "cpu") {
    try {
      await initBackend("webgpu");
      setDefaultBackend("webgpu");
      return "webgpu";
    } catch (e) {
      if (choice === "webgpu") throw e;
      console.warn(`WebGPU unavailable, training on the CPU: ${e.message}`);
    }
  }
  setDefaultBackend("cpu");
  return "cpu";
}

const marioNet = nn.sequential(nn.conv2d(8, 3, { strides: 2 }), nn.relu(), nn.conv2d(16, 3, { strides: 2 }), nn.relu(), nn.flatten(), nn.dense(4));
const apply = (w, x) => marioNet.apply(w, null, x).y;
const ANGLES = Array.from({ length: 49 }, (_, i) => -Math.PI + (2 * Math.PI * i) / 48);
const CLASSES = ["Mario upright", "Mario upside down", "Iggy upright", "Iggy upside down"];

async function train() {
  demo.running = true;
  $("start").disabled = true;
  $("stop").disabled = false;
  demo.backend = await chooseBackend($("backend").value);
  const width0 = Number($("width0").value);
  const lambda = Number($("lambda").value);
  $("status").textContent = `building data on ${demo.backend}...`;
  const data = marioIggySet(sprites, 512, 0);
  const dist = aug.uniformAffine({ initWidth: [0, 0, width0, 0, 0, 0], trainable: [false, false, true, false, false, false] });
  let params = { w: marioNet.init(random.key(0), [1, 3, 32, 32]).params, theta: dist.init() };
  const tx = optim.multiTransform({ w: optim.adam({ lr: 3e-3 }), theta: optim.adam({ lr: 3e-2 }) }, { w: "w", theta: "theta" });
  let state = tx.init(params);
  const step = jit((p, s, key, x, y) => {
    const [loss, g] = valueAndGrad((q) => aug.loss(apply, q, key, x, y, { dist, nCopies: 1, lambda }))(p);
    const { updates, state: next } = tx.update(g, s, p);
    return { p: optim.applyUpdates(p, updates), s: next, loss, width: dist.width(p.theta) };
  });
  const probe = aug.warp(np.broadcastTo(sprites.mario, [ANGLES.length, 3, 32, 32]), rotations(np.array(ANGLES)));
  const probabilities = jit((w) => np.softmax(apply(w, probe), { axis: -1 }));
  const sampled = jit((theta, key) => dist.apply(np.broadcastTo(sprites.mario, [8, 3, 32, 32]), dist.sample(key, theta, 8)));
  demo.steps = 0;
  demo.losses = [];
  demo.widths = [width0];
  const batch = 64;
  while (demo.running) {
    const at = (demo.steps * batch) % 512;
    const out = step(params, state, random.key(1000 + demo.steps), data.x.slice([at, at + batch]), data.y.slice([at, at + batch]));
    ({ p: params, s: state } = out);
    const [loss, width] = await Promise.all([out.loss.data(), dist.width(params.theta).data()]);
    demo.steps++;
    demo.losses.push(loss[0]);
    demo.widths.push(width[2]);
    $("status").textContent = `${demo.backend}: step ${demo.steps}, loss ${loss[0].toFixed(3)}, rotation width ${width[2].toFixed(3)} rad (true range ${(Math.PI / 2).toFixed(3)})`;
    drawLines($("loss"), [{ values: demo.losses, color: "#c33" }], {});
    drawLines($("width"), [{ values: demo.widths, color: "#36c" }], { rule: Math.PI / 2, min: 0 });
    if (demo.steps % 10 === 1) {
      drawImages($("samples"), await sampled(params.theta, random.key(demo.steps)).data(), 8);
      const probs = await probabilities(params.w).data();
      drawLines(
        $("probs"),
        CLASSES.map((name, c) => ({ name, values: ANGLES.map((_, i) => probs[i * 4 + c]), color: ["#c33", "#e90", "#36c", "#3a3"][c] })),
        { min: 0, max: 1, xs: ANGLES },
      );
    }
  }
  $("start").disabled = false;
  $("stop").disabled = true;
}

$("start").addEventListener("click", () => {
  train().catch((e) => {
    console.error(e);
    demo.error = e.message;
    demo.running = false;
    $("status").textContent = `failed: ${e.message}`;
    $("start").disabled = false;
  });
});
$("stop").addEventListener("click", () => (demo.running = false));
