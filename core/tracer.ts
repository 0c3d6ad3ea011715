/**
 * The value every operation takes and returns. Concrete arrays (`NDArray`) and the
 * transformations' tracers all extend `Tracer`, so user code is written once and runs
 * eagerly, under `grad`, under `vmap` and while being staged by `jit`.
 */
import type { DType } from "./dtype.ts";
import { fmtShape, sizeOf } from "./shape.ts";
import type * as npModule from "./np.ts";
import type { MainTrace, Trace } from "./trace.ts";

export interface ShapedArray {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export function fmtAval(a: ShapedArray): string {
  return `${a.dtype}${fmtShape(a.shape)}`;
}

/** Filled in by np.ts once loaded; lets methods call the numpy layer without an import cycle at load time. */
export const ops = {} as typeof npModule;

type NpArg = Parameters<typeof npModule.add>[1];
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
    return ops.add(this, y);
  }
  sub(y: NpArg) {
    return ops.sub(this, y);
  }
  mul(y: NpArg) {
    return ops.mul(this, y);
  }
  div(y: NpArg) {
    return ops.div(this, y);
  }
  pow(y: NpArg) {
    return ops.pow(this, y);
  }
  maximum(y: NpArg) {
    return ops.maximum(this, y);
  }
  minimum(y: NpArg) {
    return ops.minimum(this, y);
  }
  equal(y: NpArg) {
    return ops.equal(this, y);
  }
  notEqual(y: NpArg) {
    return ops.notEqual(this, y);
  }
  less(y: NpArg) {
    return ops.less(this, y);
  }
  lessEqual(y: NpArg) {
    return ops.lessEqual(this, y);
  }
  greater(y: NpArg) {
    return ops.greater(this, y);
  }
  greaterEqual(y: NpArg) {
    return ops.greaterEqual(this, y);
  }
  neg() {
    return ops.neg(this);
  }
  exp() {
    return ops.exp(this);
  }
  log() {
    return ops.log(this);
  }
  sqrt() {
    return ops.sqrt(this);
  }
  abs() {
    return ops.abs(this);
  }
  sin() {
    return ops.sin(this);
  }
  cos() {
    return ops.cos(this);
  }
  tanh() {
    return ops.tanh(this);
  }
  sigmoid() {
    return ops.sigmoid(this);
  }
  // Methods take what the functions take after the array: `x.sum(1)` as well as `x.sum({ axis: 1 })`.
  sum(...a: Rest<typeof npModule.sum>) {
    return ops.sum(this, ...a);
  }
  mean(...a: Rest<typeof npModule.mean>) {
    return ops.mean(this, ...a);
  }
  max(...a: Rest<typeof npModule.max>) {
    return ops.max(this, ...a);
  }
  min(...a: Rest<typeof npModule.min>) {
    return ops.min(this, ...a);
  }
  prod(...a: Rest<typeof npModule.prod>) {
    return ops.prod(this, ...a);
  }
  var(...a: Rest<typeof npModule.var>) {
    return ops.var(this, ...a);
  }
  std(...a: Rest<typeof npModule.std>) {
    return ops.std(this, ...a);
  }
  argmax(...a: Rest<typeof npModule.argmax>) {
    return ops.argmax(this, ...a);
  }
  argmin(...a: Rest<typeof npModule.argmin>) {
    return ops.argmin(this, ...a);
  }
  logsumexp(...a: Rest<typeof npModule.logsumexp>) {
    return ops.logsumexp(this, ...a);
  }
  // NumPy's method forms x.reshape(2, 3) and x.transpose(1, 0) as well as the lists.
  reshape(shape: number[] | number, ...more: number[]) {
    return ops.reshape(this, typeof shape === "number" ? [shape, ...more] : shape);
  }
  transpose(axes?: number[] | number, ...more: number[]) {
    return ops.transpose(this, typeof axes === "number" ? [axes, ...more] : axes);
  }
  get T() {
    return ops.transpose(this);
  }
  expandDims(axis: number | number[]) {
    return ops.expandDims(this, axis);
  }
  squeeze(axis?: number | number[]) {
    return ops.squeeze(this, axis);
  }
  broadcastTo(shape: number[]) {
    return ops.broadcastTo(this, shape);
  }
  flatten() {
    return ops.reshape(this, [-1]);
  }
  astype(dtype: DType) {
    return ops.astype(this, dtype);
  }
  matmul(y: NpArg) {
    return ops.matmul(this, y);
  }
  dot(y: NpArg) {
    return ops.dot(this, y);
  }
  take(...a: Rest<typeof npModule.take>) {
    return ops.take(this, ...a);
  }
  slice(...index: Parameters<typeof npModule.slice>[1]) {
    return ops.slice(this, index);
  }
  softmax(...a: Rest<typeof npModule.softmax>) {
    return ops.softmax(this, ...a);
  }
  logSoftmax(...a: Rest<typeof npModule.logSoftmax>) {
    return ops.logSoftmax(this, ...a);
  }
  sort(...a: Rest<typeof npModule.sort>) {
    return ops.sort(this, ...a);
  }
  argsort(...a: Rest<typeof npModule.argsort>) {
    return ops.argsort(this, ...a);
  }
  cumsum(...a: Rest<typeof npModule.cumsum>) {
    return ops.cumsum(this, ...a);
  }
  cumprod(...a: Rest<typeof npModule.cumprod>) {
    return ops.cumprod(this, ...a);
  }
  any(...a: Rest<typeof npModule.any>) {
    return ops.any(this, ...a);
  }
  all(...a: Rest<typeof npModule.all>) {
    return ops.all(this, ...a);
  }
  ptp(...a: Rest<typeof npModule.ptp>) {
    return ops.ptp(this, ...a);
  }
  diagonal(...a: Rest<typeof npModule.diagonal>) {
    return ops.diagonal(this, ...a);
  }
  clip(...a: Rest<typeof npModule.clip>) {
    return ops.clip(this, ...a);
  }
  round() {
    return ops.round(this);
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

export function concretizationError(t: Tracer, what: string): Error {
  return new Error(
    `Cannot ${what}: the array ${fmtAval(t.aval)} is abstract here (it is being traced by ` +
      `${t.main?.traceType.name ?? "a transformation"}). JS control flow (if/while/?:) cannot depend on traced values; ` +
      `use np.where, lax.cond, lax.scan or lax.forLoop instead, or mark the argument static with jit's staticArgnums.`,
  );
}
