// Small canvas plots for the demo: line charts and rows of RGB images.

/** Lines over a shared axis; opts: min/max of y (else the data's), rule (a dashed y), xs (x values, else the index). */
export function drawLines(canvas, series, opts) {
  const g = canvas.getContext("2d");
  const [w, h, pad] = [canvas.width, canvas.height, 30];
  g.clearRect(0, 0, w, h);
  const all = series.flatMap((s) => s.values).concat(opts.rule ?? []);
  if (all.length === 0) return;
  const lo = opts.min ?? Math.min(...all);
  const hi = Math.max(opts.max ?? Math.max(...all), lo + 1e-6);
  const n = Math.max(...series.map((s) => s.values.length));
  const xs = opts.xs ?? Array.from({ length: n }, (_, i) => i);
  const [x0, x1] = [xs[0], Math.max(xs[xs.length - 1], xs[0] + 1)];
  const px = (x) => pad + ((x - x0) / (x1 - x0)) * (w - pad - 8);
  const py = (y) => h - pad + 10 - ((y - lo) / (hi - lo)) * (h - pad - 4);
  g.strokeStyle = "#999";
  g.strokeRect(pad, 6, w - pad - 8, h - pad - 4);
  g.fillStyle = "#333";
  g.font = "11px sans-serif";
  g.fillText(hi.toFixed(2), 2, 14);
  g.fillText(lo.toFixed(2), 2, h - pad + 10);
  g.fillText(x1.toFixed(1), w - 40, h - 8);
  if (opts.rule !== undefined) {
    g.setLineDash([5, 4]);
    g.strokeStyle = "#555";
    g.beginPath();
    g.moveTo(pad, py(opts.rule));
    g.lineTo(w - 8, py(opts.rule));
    g.stroke();
    g.setLineDash([]);
  }
  series.forEach((s, k) => {
    g.strokeStyle = s.color;
    g.beginPath();
    s.values.forEach((v, i) => (i === 0 ? g.moveTo(px(xs[i]), py(v)) : g.lineTo(px(xs[i]), py(v))));
    g.stroke();
    if (s.name) {
      g.fillStyle = s.color;
      g.fillText(s.name, pad + 6, 20 + 12 * k);
    }
  });
}

/** `count` RGB images [count, 3, 32, 32] (values in [0, 1]) side by side. */
export function drawImages(canvas, data, count) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const size = Math.min(canvas.height, Math.floor(canvas.width / count));
  const img = g.createImageData(32, 32);
  const tile = document.createElement("canvas");
  tile.width = tile.height = 32;
  for (let k = 0; k < count; k++) {
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) img.data[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, data[k * 3072 + c * 1024 + p])));
      img.data[4 * p + 3] = 255;
    }
    tile.getContext("2d").putImageData(img, 0, 0);
    g.imageSmoothingEnabled = false;
    g.drawImage(tile, k * size, 0, size, size);
  }
}
