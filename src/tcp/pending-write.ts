// A write the send ring could not take whole, shared by both faces: the rest waits for the
// connection's onWritable, and the write completes once its last byte is in the ring (so a writer
// that waits for its writes waits for the peer's ACKs, as with a kernel socket's full buffer).
// Browser-safe.
import type { StackConnection } from "./connection.js";

export class PendingWrite {
  private readonly chunks: Uint8Array[] = [];
  private done: ((error?: unknown) => void) | undefined;
  /** Bytes of the current write the send ring already took. */
  taken = 0;

  /**
   * `onTaken` hears of every byte count the ring takes; `mapError` turns an error a write throws
   * while waiting (flush) into the one `done` gets.
   */
  constructor(
    private readonly onTaken?: (n: number) => void,
    private readonly mapError?: (error: unknown) => unknown,
  ) {}

  /** A write is waiting for room. */
  get waiting(): boolean {
    return this.done !== undefined;
  }

  /** Adds a chunk to the current write. */
  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }

  /**
   * Writes the current write's chunks into the send ring: true when all are in (the write is over),
   * false when the ring is full (then wait()). Throws what the connection's write throws, the write dropped.
   */
  run(conn: StackConnection): boolean {
    const chunks = this.chunks;
    while (chunks.length > 0) {
      const chunk = chunks[0]!;
      let n: number;
      try {
        n = conn.write(chunk);
      } catch (error) {
        this.discard();
        throw error;
      }
      if (n > 0) {
        this.taken += n;
        this.onTaken?.(n);
      }
      if (n < chunk.length) {
        chunks[0] = chunk.subarray(n);
        return false;
      }
      chunks.shift();
    }
    this.taken = 0;
    return true;
  }

  /** After run() returned false: `done` is called once the rest is in, or with the error that ended the write. */
  wait(done: (error?: unknown) => void): void {
    this.done = done;
  }

  /** The connection's onWritable: writes more of a waiting write. */
  flush(conn: StackConnection): void {
    const done = this.done;
    if (!done) return;
    let over: boolean;
    try {
      over = this.run(conn);
    } catch (error) {
      done(this.mapError ? this.mapError(error) : error);
      return;
    }
    if (over) {
      this.done = undefined;
      done();
    }
  }

  /** Ends a waiting write with `error` (the connection is gone). */
  fail(error: unknown): void {
    const done = this.done;
    this.discard();
    done?.(error);
  }

  /** Drops the current write without completing it. */
  discard(): void {
    this.done = undefined;
    this.chunks.length = 0;
    this.taken = 0;
  }
}
