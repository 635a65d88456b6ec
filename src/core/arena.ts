// Copies out of linear memory into views of shared, append-only ArrayBuffers.
//
// The stack copies every TX batch and every received chunk out of the engine's memory, and the
// copies outlive the call (links and readers own them). A fresh ArrayBuffer per copy is what cost the
// most in connection churn (allocation and GC of many small buffers); carving copies out of one
// larger buffer amortises that, as Node's Buffer pool does for sockets. A region is written once,
// when it is handed out, and never reused: the buffer lives as long as any view into it.
// Copies of at least BIG bytes get a buffer of their own, so a small view never pins a large one; it is
// allocated and then filled, not slice()d: V8's slice of a WebAssembly memory's view ran at half the
// speed of new Uint8Array + set for 64-256 KiB copies (Node 20, this project's machines).
const CHUNK = 64 * 1024;
const BIG = 16 * 1024;

export class CopyArena {
  private buf = new Uint8Array(0);
  private used = 0;

  /** A new view holding a copy of `src[from, to)`. */
  copy(src: Uint8Array, from: number, to: number): Uint8Array {
    const n = to - from;
    if (n >= BIG) {
      const own = new Uint8Array(n);
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
