/**
 * The class `Tracer` (see tracer.ts, the module to import it from). Its numpy-style methods
 * reach np through tracer.ts's `np` binding, read when a method is called, so this module
 * needs nothing from np while it loads.
 */
import type { DType } from "./dtype.ts";
import { sizeOf } from "./shape.ts";
import { concretizationError, fmtAval, np, type ShapedArray } from "./tracer.ts";
import type { MainTrace, Trace } from "./trace.ts";

type NpArg = Parameters<typeof np.add>[1];
/** A function's parameters after the array it is a method of. */
type Rest<F> = F extends (x: never, ...rest: infer R) => unknown ? R : never;

export abstract class Tracer {
  abstract get aval(): ShapedArray;
  /** The trace this tracer belongs to; undefined for concrete arrays. */
  get trace(): Trace | undefined {
    return undefined;
  }
  get level(): number {
    return this.trace?.main.level ?? 0;
  }
  get main(): MainTrace | undefined {
    return this.trace?.main;
  }
  get shape(): number[] {
    return [...this.aval.shape];
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get ndim(): number {
    return this.aval.shape.length;
  }
  get size(): number {
    return sizeOf(this.aval.shape);
  }
  /** Drops wrappers that carry no information (e.g. an unbatched BatchTracer). */
  fullLower(): Tracer {
    return this;
  }

  add(y: NpArg) {
    return np.add(this, y);
  }
  sub(y: NpArg) {
    return np.sub(this, y);
  }
  mul(y: NpArg) {
    return np.mul(this, y);
  }
  div(y: NpArg) {
    return np.div(this, y);
  }
  pow(y: NpArg) {
    return np.pow(this, y);
  }
  maximum(y: NpArg) {
    return np.maximum(this, y);
  }
  minimum(y: NpArg) {
    return np.minimum(this, y);
  }
  equal(y: NpArg) {
    return np.equal(this, y);
  }
  notEqual(y: NpArg) {
    return np.notEqual(this, y);
  }
  less(y: NpArg) {
    return np.less(this, y);
  }
  lessEqual(y: NpArg) {
    return np.lessEqual(this, y);
  }
  greater(y: NpArg) {
    return np.greater(this, y);
  }
  greaterEqual(y: NpArg) {
    return np.greaterEqual(this, y);
  }
  neg() {
    return np.neg(this);
  }
  exp() {
    return np.exp(this);
  }
  log() {
    return np.log(this);
  }
  sqrt() {
    return np.sqrt(this);
  }
  abs() {
    return np.abs(this);
  }
  sin() {
    return np.sin(this);
  }
  cos() {
    return np.cos(this);
  }
  tanh() {
    return np.tanh(this);
  }
  sigmoid() {
    return np.sigmoid(this);
  }
  // Methods take what the functions take after the array: `x.sum(1)` as well as `x.sum({ axis: 1 })`.
  sum(...a: Rest<typeof np.sum>) {
    return np.sum(this, ...a);
  }
  mean(...a: Rest<typeof np.mean>) {
    return np.mean(this, ...a);
  }
  max(...a: Rest<typeof np.max>) {
    return np.max(this, ...a);
  }
  min(...a: Rest<typeof np.min>) {
    return np.min(this, ...a);
  }
  prod(...a: Rest<typeof np.prod>) {
    return np.prod(this, ...a);
  }
  var(...a: Rest<typeof np.var>) {
    return np.var(this, ...a);
  }
  std(...a: Rest<typeof np.std>) {
    return np.std(this, ...a);
  }
  argmax(...a: Rest<typeof np.argmax>) {
    return np.argmax(this, ...a);
  }
  argmin(...a: Rest<typeof np.argmin>) {
    return np.argmin(this, ...a);
  }
  logsumexp(...a: Rest<typeof np.logsumexp>) {
    return np.logsumexp(this, ...a);
  }
  // NumPy's method forms x.reshape(2, 3) and x.transpose(1, 0) as well as the lists.
  reshape(shape: number[] | number, ...more: number[]) {
    return np.reshape(this, typeof shape === "number" ? [shape, ...more] : shape);
  }
  transpose(axes?: number[] | number, ...more: number[]) {
    return np.transpose(this, typeof axes === "number" ? [axes, ...more] : axes);
  }
  get T() {
    return np.transpose(this);
  }
  expandDims(axis: number | number[]) {
    return np.expandDims(this, axis);
  }
  squeeze(axis?: number | number[]) {
    return np.squeeze(this, axis);
  }
  broadcastTo(shape: number[]) {
    return np.broadcastTo(this, shape);
  }
  flatten() {
    return np.reshape(this, [-1]);
  }
  astype(dtype: DType) {
    return np.astype(this, dtype);
  }
  matmul(y: NpArg) {
    return np.matmul(this, y);
  }
  dot(y: NpArg) {
    return np.dot(this, y);
  }
  take(...a: Rest<typeof np.take>) {
    return np.take(this, ...a);
  }
  slice(...index: Parameters<typeof np.slice>[1]) {
    return np.slice(this, index);
  }
  softmax(...a: Rest<typeof np.softmax>) {
    return np.softmax(this, ...a);
  }
  logSoftmax(...a: Rest<typeof np.logSoftmax>) {
    return np.logSoftmax(this, ...a);
  }
  sort(...a: Rest<typeof np.sort>) {
    return np.sort(this, ...a);
  }
  argsort(...a: Rest<typeof np.argsort>) {
    return np.argsort(this, ...a);
  }
  cumsum(...a: Rest<typeof np.cumsum>) {
    return np.cumsum(this, ...a);
  }
  cumprod(...a: Rest<typeof np.cumprod>) {
    return np.cumprod(this, ...a);
  }
  any(...a: Rest<typeof np.any>) {
    return np.any(this, ...a);
  }
  all(...a: Rest<typeof np.all>) {
    return np.all(this, ...a);
  }
  ptp(...a: Rest<typeof np.ptp>) {
    return np.ptp(this, ...a);
  }
  diagonal(...a: Rest<typeof np.diagonal>) {
    return np.diagonal(this, ...a);
  }
  clip(...a: Rest<typeof np.clip>) {
    return np.clip(this, ...a);
  }
  round() {
    return np.round(this);
  }

  dataSync(): import("./dtype.ts").TypedArray {
    throw concretizationError(this, "read its data (dataSync)");
  }
  async data(): Promise<import("./dtype.ts").TypedArray> {
    throw concretizationError(this, "read its data (data)");
  }
  item(): number | boolean {
    throw concretizationError(this, "read its value (item)");
  }
  async toArray(): Promise<import("./array.ts").NestedArray> {
    throw concretizationError(this, "read its data (toArray)");
  }
  toArraySync(): import("./array.ts").NestedArray {
    throw concretizationError(this, "read its data (toArraySync)");
  }

  /** Releases the array's buffer now (concrete arrays); a tracer owns no memory, so this does nothing. */
  dispose(): void {}
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Arrays turn into JS values only when concrete; a traced value inside `jit` cannot. */
  [Symbol.toPrimitive](hint: string): number | string {
    throw concretizationError(this, `convert it to a JS ${hint === "string" ? "string" : "number"}`);
  }
  toString(): string {
    return `Traced<${fmtAval(this.aval)}>`;
  }
}
