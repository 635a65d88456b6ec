// Buffers of the wire helpers' linear memory lent to callers (Wire.buffer): bytes written there are
// read by the WebAssembly code where they lie, with no copy. This file owns the rules that keep such
// views honest: which views are live, which were taken before memory grew, which were given back.
//
// Linear memory grows only inside lend() here (the wire helpers' core runs no engine, and its
// scratch region is taken before any view), so every retired ArrayBuffer is seen and remembered, and
// a view of one is recognised however it reaches a helper. Browser-safe.
import { TcpwasmError } from "./errors.js";
import { outOfRange } from "./validate.js";

/** One block the core lent: [ptr, end) in linear memory. */
interface Lent {
  readonly ptr: number;
  readonly end: number;
  live: boolean;
}

/** The core's exports that lend blocks (assembly/lent.ts). */
export interface LentExports {
  memory: WebAssembly.Memory;
  lentAlloc(len: number): number;
  lentFree(ptr: number): void;
}

/** The largest single buffer lent: large enough for any packet batch, far below wasm32's 4 GiB. */
export const MAX_LENT_BYTES = 268_435_456; // 2^28, a literal: no top-level computation in a module the root entry reaches

/** @internal Lent buffers of one wire core, and the current view of its memory. */
export class WireMemory {
  /** A byte view of the whole memory, current: re-made after every growth (only lend grows it). */
  view: Uint8Array;
  // Buffers memory had before it grew: their views are detached (length 0) and must not pass as empty bytes.
  readonly #retired = new WeakSet<ArrayBuffer>();
  // The views lend and renew returned, for free and renew (a detached view no longer knows its offset).
  readonly #owned = new WeakMap<Uint8Array, Lent>();
  readonly #live = new Map<number, Lent>();
  // The block the last address check hit: most callers reuse one buffer.
  #last: Lent | undefined;

  constructor(private readonly core: LentExports) {
    this.view = new Uint8Array(core.memory.buffer);
  }

  /** A zero-filled view of `length` bytes of linear memory, live until free; growth detaches older views. */
  lend(length: number): Uint8Array {
    const ptr = this.core.lentAlloc(length);
    if (ptr === 0) outOfRange("length", "small enough for the core's linear memory to grow to", length);
    const buffer = this.core.memory.buffer;
    if (buffer !== this.view.buffer) {
      this.#retired.add(this.view.buffer as ArrayBuffer);
      this.view = new Uint8Array(buffer);
    }
    const lent: Lent = { ptr, end: ptr + length, live: true };
    this.#live.set(ptr, lent);
    return this.#viewOf(lent);
  }

  /** A fresh view of the same block as `view` (one lend or renew returned), after memory grew. */
  renew(view: Uint8Array): Uint8Array {
    return this.#viewOf(this.#lentOf(view, "renew"));
  }

  /** Gives the block of `view` (one lend or renew returned) back to the core. */
  free(view: Uint8Array): void {
    const lent = this.#lentOf(view, "free");
    lent.live = false;
    this.#live.delete(lent.ptr);
    if (this.#last === lent) this.#last = undefined;
    this.core.lentFree(lent.ptr);
  }

  /**
   * The address of `bytes`, a view of this memory (`bytes.buffer === view.buffer`), after checking
   * that it lies inside one live lent block.
   */
  addressOf(bytes: Uint8Array): number {
    const at = bytes.byteOffset;
    const end = at + bytes.length;
    const last = this.#last;
    if (last !== undefined && at >= last.ptr && end <= last.end) return at;
    for (const lent of this.#live.values()) {
      if (at >= lent.ptr && end <= lent.end) {
        this.#last = lent;
        return at;
      }
    }
    throw new TcpwasmError("ERR_WIRE_BUFFER_FREED", "these bytes lie in wire memory no live wire.buffer() covers (given back with wire.free())");
  }

  /** Throws when `bytes` (of length 0, as a detached view is) is a view of memory before it grew. */
  checkNotDetached(bytes: Uint8Array): void {
    if (this.#retired.has(bytes.buffer as ArrayBuffer)) {
      throw new TcpwasmError("ERR_WIRE_BUFFER_DETACHED", "this view of a wire buffer was taken before linear memory grew; get a current one with wire.renew(view)");
    }
  }

  #viewOf(lent: Lent): Uint8Array {
    const view = this.view.subarray(lent.ptr, lent.end);
    this.#owned.set(view, lent);
    return view;
  }

  #lentOf(view: Uint8Array, call: string): Lent {
    const lent = view instanceof Uint8Array ? this.#owned.get(view) : undefined;
    if (lent === undefined) {
      throw new TcpwasmError("ERR_WIRE_FOREIGN_BUFFER", `wire.${call}() takes a view that wire.buffer() or wire.renew() of this Wire returned`);
    }
    if (!lent.live) throw new TcpwasmError("ERR_WIRE_BUFFER_FREED", `wire.${call}(): this wire buffer was already given back with wire.free()`);
    return lent;
  }
}
