/**
 * A guard against the kernel's limit on memory mappings (Linux's vm.max_map_count).
 *
 * Lavapipe (Mesa's Vulkan on the CPU) backs every descriptor set, so every bind group
 * Dawn makes for a kernel launch, with a mapping of its own. A bind group is released
 * only after its JS wrapper is collected (usually soon, by a young-generation collection;
 * a wrapper that got old waits for a full one, which V8, blind to the native memory
 * behind it, may not run for a long time), and after the event loop turns (Node runs
 * native finalizers from the loop). Near the limit, mmap fails inside the driver and the
 * process dies with SIGSEGV.
 *
 * So the guard watches the count as bind groups are made: when it heads past a quarter of
 * the limit it asks V8 for a full collection (released groups are then reused once the loop
 * turns), and when it would come near the limit itself, which only a loop that never
 * yields reaches, it throws an error that says what to do.
 *
 * On other systems, where /proc cannot be read, and in a browser (whose GPU process is not
 * this one) there is no limit to watch and the guard does nothing.
 */
import { fullCollection, mappingLimit, processMappings } from "#platform/process-memory";

export { processMappings };

/** Bind groups made between two reads of the mapping count; each adds about one mapping on lavapipe. */
export const CHECK_EVERY = 1024;
/** Shares of the limit that the count, grown for two more reads at its last rate, may reach: collect, then refuse. */
const COLLECT_AT = 0.25;
const REFUSE_AT = 0.97;
/** Bind groups made between two collections the guard asks for. */
const COLLECT_EVERY = 8 * CHECK_EVERY;

/** What the guard reads and does; tests replace them. */
export interface MappingHooks {
  /** The kernel's limit; null: nothing to watch. */
  limit: number | null;
  /** The process's mapping count; null where unknown. */
  read: () => number | null;
  /** Asks for a full collection. */
  collect: () => void;
}

export class MappingGuard {
  readonly hooks: MappingHooks;
  /** Bind groups made since the last read of the count. Not tracked one by one: registering a wrapper for finalization keeps it through V8's young-generation collections, which otherwise release most groups soon after use. */
  made = 0;
  private sinceCollect = COLLECT_EVERY;
  /** The count at the last read. */
  private last: number | null;

  constructor(hooks: Partial<MappingHooks> = {}) {
    let collect: (() => void) | null | undefined;
    this.hooks = {
      limit: mappingLimit(),
      read: processMappings,
      // Looked up on first use: most processes never come near the limit.
      collect: () => (collect === undefined ? (collect = fullCollection()) : collect)?.(),
      ...hooks,
    };
    this.last = this.hooks.read();
  }

  /**
   * Before a launch: every CHECK_EVERY bind groups made, reads the count and projects it
   * two reads ahead at its rate per group since the last read. The rate, not the level,
   * decides: once released groups are reused, the count stops growing, though it does not fall.
   */
  check(what: string): void {
    const limit = this.hooks.limit;
    if (this.made < CHECK_EVERY || limit === null) return;
    const used = this.hooks.read();
    if (used === null) return;
    const perGroup = this.last === null ? 1 : Math.max(0, used - this.last) / this.made;
    this.sinceCollect += this.made;
    this.last = used;
    this.made = 0;
    const projected = used + 2 * CHECK_EVERY * perGroup;
    if (projected >= REFUSE_AT * limit) {
      throw new Error(
        `webgpu: ${what}: this process holds ${used} memory mappings, near the system's limit (vm.max_map_count = ${limit}), ` +
          `and gains about ${perGroup.toFixed(2)} per kernel launch. Some drivers (lavapipe) map memory for every launch's bindings, ` +
          "and a loop that never yields to the event loop lets none of them go. In long loops, await now and then " +
          "(for example `await x.data()`, or `await new Promise((r) => setImmediate(r))` every few hundred steps), " +
          "use jit to launch fewer kernels, or raise vm.max_map_count (sysctl).",
      );
    }
    // Only while new groups still take new mappings: once released ones are reused, no need.
    if (projected >= COLLECT_AT * limit && perGroup >= 0.25 && this.sinceCollect >= COLLECT_EVERY) {
      this.sinceCollect = 0;
      this.hooks.collect();
    }
  }
}
