/** Losses and metrics; each returns a scalar array (a mean over the batch). */
import { np, type Tracer } from "../index.ts";
import { checkIndexRange } from "../core/np/indexing.ts";

/**
 * Mean cross-entropy of logits [N, K] (or [..., K]) against integer labels [N] (or [...]).
 * A label outside [0, K) is an error naming it when the labels are known (eager, CPU); where
 * they are traced (jit, vmap) it gives NaN, as JAX's take_along_axis "fill" mode does.
 * @example nn.crossEntropy(logits, np.array([0, 2], { dtype: "int32" }))
 */
export function crossEntropy(logits: Tracer, labels: Tracer): Tracer {
  if (labels.ndim !== logits.ndim - 1 || labels.shape.some((n, i) => n !== logits.shape[i])) {
    throw new Error(`crossEntropy: labels [${labels.shape}] must match the logits [${logits.shape}] without the class axis`);
  }
  if (labels.dtype !== "int32" && labels.dtype !== "uint32") throw new Error(`crossEntropy: labels must be integer class indices, got ${labels.dtype}`);
  const k = logits.shape[logits.ndim - 1];
  let idx = labels;
  const known = checkIndexRange("crossEntropy", labels, 0, k - 1, "label", `for ${k} classes`);
  if (!known) {
    // Unknown labels: a negative one must not wrap around to a class from the end, so it goes out of range (NaN).
    idx = np.where(labels.astype("int32").less(0), k, labels.astype("int32"));
  }
  const logp = np.logSoftmax(logits, -1);
  const picked = np.takeAlongAxis(logp, idx.reshape([...labels.shape, 1]), { axis: -1, mode: known ? "clip" : "fill" });
  return np.mean(picked).neg();
}

function checkSame(name: string, a: Tracer, b: Tracer): void {
  if (a.shape.join() !== b.shape.join()) throw new Error(`${name}: predictions [${a.shape}] and targets [${b.shape}] differ in shape`);
}

/** Mean squared error. */
export function mse(pred: Tracer, target: Tracer): Tracer {
  checkSame("mse", pred, target);
  return np.mean(np.square(pred.sub(target)));
}

/** Mean absolute error. */
export function mae(pred: Tracer, target: Tracer): Tracer {
  checkSame("mae", pred, target);
  return np.mean(np.abs(pred.sub(target)));
}

/** Fraction of rows whose argmax equals the label. */
export function accuracy(logits: Tracer, labels: Tracer): Tracer {
  return np.mean(np.equal(np.argmax(logits, { axis: -1 }), labels.astype("int32")).astype("float32"));
}
