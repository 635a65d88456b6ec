// Copies out of linear memory into views of shared, append-only ArrayBuffers.
//
// The stack copies every TX batch and every received chunk out of the engine's memory, and the
// copies outlive the call (links and readers own them). A fresh ArrayBuffer per copy is what cost the
// most in connection churn (allocation and GC of many small buffers); carving copies out of one
// larger buffer amortises that, as Node's Buffer pool does for sockets. A region is written once,
// when it is handed out, and never reused: the buffer lives as long as any view into it.
// Copies of at least BIG bytes get a buffer of their own, so a small view never pins a large one; it is
// allocated and then filled, not slice()d: V8's slice of a WebAssembly memory's view ran at half the
// speed of new Uint8Array + set for 64-256 KiB copies (Node 20, this project's machines). Where the
// runtime can hand out memory that is not zero-filled first (freshBytes), such a buffer is: the copy
// overwrites every byte anyway.
const CHUNK = 64 * 1024;
const BIG = 16 * 1024;

export class CopyArena {
  private buf = new Uint8Array(0);
  private used = 0;

  /** A new view holding a copy of `src[from, to)`. */
  copy(src: Uint8Array, from: number, to: number): Uint8Array {
    const n = to - from;
    if (n >= BIG) {
      const own = freshBytes(n);
      own.set(src.subarray(from, to));
      return own;
    }
    if (this.used + n > this.buf.length) {
      this.buf = new Uint8Array(CHUNK);
      this.used = 0;
    }
    const at = this.used;
    // Keep views 8-byte aligned: DataView and typed-array readers of the copies stay on fast paths.
    this.used = (at + n + 7) & ~7;
    const view = this.buf.subarray(at, at + n);
    view.set(src.subarray(from, to));
    return view;
  }
}

let allocate: ((n: number) => Uint8Array) | undefined;

/**
 * `n` bytes of memory of their own (a plain Uint8Array over an ArrayBuffer of exactly `n` bytes) for
 * the caller to overwrite whole before anyone reads them: not zero-filled where the runtime allows
 * (Node's and Bun's Buffer.allocUnsafeSlow, unpooled), else `new Uint8Array(n)`, which writes each
 * copy twice, zeroes and then data. Without the zeroing, in paired 64 MiB runs (medians of 15-19):
 * the stack API read through onData over the memory link took 0.68-0.91x the CPU time, the Node face
 * over the microtask link (whose TX batches the stack copies out here) 0.83-0.91x, the stack API over
 * the microtask link 1.03-1.07x (no change beyond noise). Chosen at the first call, not as the module
 * loads.
 */
export function freshBytes(n: number): Uint8Array {
  allocate ??= pickAllocator();
  return allocate(n);
}

function pickAllocator(): (n: number) => Uint8Array {
  const B = (globalThis as { Buffer?: { allocUnsafeSlow?: (n: number) => Uint8Array } }).Buffer;
  // Only one that gives each allocation an ArrayBuffer of exactly its size (no pool, no slab), so no
  // byte beyond the copy is reachable through the view's .buffer.
  if (typeof B?.allocUnsafeSlow === "function" && B.allocUnsafeSlow(3).buffer.byteLength === 3) {
    const unsafe = B.allocUnsafeSlow.bind(B);
    return (n) => new Uint8Array(unsafe(n).buffer, 0, n);
  }
  return (n) => new Uint8Array(n);
}
