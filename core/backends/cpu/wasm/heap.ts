/**
 * The CPU backend's heap for large buffers: one shared `WebAssembly.Memory`, so the
 * generated kernels (render-wasm.ts) read and write arrays in place, on any thread.
 * Blocks are 64-byte aligned; free blocks are kept sorted by address and merged with
 * their neighbours, and a free block at the top lowers the top. The memory itself only
 * grows (WebAssembly cannot shrink it): its size is the high-water mark of live blocks.
 *
 * Views stay valid across growth: growing a shared memory keeps the old bytes in place
 * and only hands out a longer `buffer`.
 */
import { webAssembly, type WasmMemory } from "./webassembly.ts";

const PAGE = 65536;
const ALIGN = 64;
/** The heap stops growing here (of wasm32's 4 GiB); allocations beyond return null and callers use ordinary buffers. */
const MAX_BYTES = 2 ** 31;

export class Heap {
  readonly memory: WasmMemory;
  /** Free blocks, sorted by offset, never adjacent (adjacent ones merge). */
  private free: { at: number; bytes: number }[] = [];
  private top = ALIGN;
  private live = 0;
  /** Every buffer object views were made on: a shared memory's `buffer` getter may return a new object each time. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private current: ArrayBufferLike;

  constructor() {
    this.memory = new webAssembly.Memory({ initial: 1, maximum: MAX_BYTES / PAGE, shared: true });
    this.current = this.memory.buffer;
    this.buffers.add(this.current);
  }

  /** A block of at least `bytes`, or null when the heap would pass its limit. */
  alloc(bytes: number): number | null {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    // First fit: sizes in a training loop repeat, so exact fits are common.
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.bytes < size) continue;
      const at = b.at;
      if (b.bytes === size) this.free.splice(i, 1);
      else {
        b.at += size;
        b.bytes -= size;
      }
      this.live += size;
      return at;
    }
    if (this.top + size > MAX_BYTES) return null;
    const at = this.top;
    this.top += size;
    const have = this.current.byteLength;
    if (this.top > have) {
      this.memory.grow(Math.ceil((this.top - have) / PAGE));
      this.current = this.memory.buffer;
      this.buffers.add(this.current);
    }
    this.live += size;
    return at;
  }

  release(at: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.live -= size;
    // Insert sorted, then merge with the neighbours.
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.free[mid].at < at) lo = mid + 1;
      else hi = mid;
    }
    this.free.splice(lo, 0, { at, bytes: size });
    const next = this.free[lo + 1];
    if (next && at + size === next.at) {
      this.free[lo].bytes += next.bytes;
      this.free.splice(lo + 1, 1);
    }
    const prev = this.free[lo - 1];
    if (prev && prev.at + prev.bytes === at) {
      prev.bytes += this.free[lo].bytes;
      this.free.splice(lo, 1);
    }
    const last = this.free[this.free.length - 1];
    if (last && last.at + last.bytes === this.top) {
      this.top = last.at;
      this.free.pop();
    }
  }

  /** Whether a typed array is a view into this heap. */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** The buffer to make views on (longer after growth; earlier views stay valid). */
  get buffer(): ArrayBufferLike {
    return this.current;
  }

  stats(): { liveBytes: number; topBytes: number; memoryBytes: number; freeBlocks: number } {
    return { liveBytes: this.live, topBytes: this.top, memoryBytes: this.current.byteLength, freeBlocks: this.free.length };
  }
}
