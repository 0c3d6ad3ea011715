/**
 * The buffer pool of every backend (CPU typed arrays, WebGPU and CUDA device buffers): freed buffers are kept by byte size, up to
 * a byte limit, and handed out again for allocations of exactly that size; it also counts
 * the live buffers and bytes the backends report (`memoryStats`). The backend owns the
 * device calls: it asks `take` before allocating, counts the buffer with `live`, calls `put` on free (and releases the buffer
 * itself when `put` refuses), and `drain` hands back every pooled buffer for release.
 */
/** A device buffer as the backends hand it out: its pooled size and its owner count (reshapes share their input's buffer). */
export interface OwnedBuffer {
  /** Allocated bytes (the pool's key). */
  bytes: number;
  owners: number;
}

export class BufferPool<B> {
  liveBuffers = 0;
  liveBytes = 0;
  pooledBytes = 0;
  private readonly free = new Map<number, B[]>();

  constructor(readonly limitBytes: number) {}

  /** A pooled buffer of exactly `bytes` (none when `pooled` is false); count it with `live` once in use. */
  take(bytes: number, pooled = true): B | undefined {
    const list = pooled ? this.free.get(bytes) : undefined;
    if (!list || list.length === 0) return undefined;
    this.pooledBytes -= bytes;
    return list.pop();
  }

  /** Counts a buffer of `bytes` (pooled or new) as live. */
  live(bytes: number): void {
    this.liveBuffers++;
    this.liveBytes += bytes;
  }

  /** Counts a live buffer of `bytes` released; keeps it unless `keep` is false or the pool is full (then false: release it). */
  put(bytes: number, buffer: B, keep = true): boolean {
    this.liveBuffers--;
    this.liveBytes -= bytes;
    if (!keep || this.pooledBytes + bytes > this.limitBytes) return false;
    const list = this.free.get(bytes) ?? [];
    list.push(buffer);
    this.free.set(bytes, list);
    this.pooledBytes += bytes;
    return true;
  }

  /** Every pooled buffer, removed from the pool (for the backend to release). */
  drain(): B[] {
    const all = [...this.free.values()].flat();
    this.free.clear();
    this.pooledBytes = 0;
    return all;
  }

  stats(): { liveBuffers: number; liveBytes: number; pooledBytes: number } {
    return { liveBuffers: this.liveBuffers, liveBytes: this.liveBytes, pooledBytes: this.pooledBytes };
  }
}
