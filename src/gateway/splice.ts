// Splicing a stack's connection to another byte stream, both ways: the far side is a Node-style duplex
// (a net.Socket, anything with write/end/destroy/pause/resume and the 'data', 'end', 'drain', 'error',
// 'close' events) or a pair of Web Streams ({ readable, writable }: a WebSocket stream dialer, a
// TransformStream, a Direct Sockets TCPSocket's opened info). Browser-safe: no Node built-in is
// imported; a duplex is taken by its shape.
//
// What crosses, each way:
// - Data, with backpressure and no unbounded buffer: the guest's bytes are written to the far side
//   until it says stop (write() false, or the writer's desiredSize at 0), then the connection is
//   paused: unread data stays in its receive ring and the window it advertises closes (RFC 9293
//   3.8.6); the far side's bytes are written to the connection until its send ring is full, then the
//   far side is paused (a net.Socket stops reading, so its kernel window closes too) and one chunk at
//   most waits for onWritable.
// - Half-close: the guest's FIN ends the far side's writing (socket.end(), writer.close()); the far
//   side's end ends the connection's writing (a FIN after the data before it). A net.Socket must be
//   made with allowHalfOpen: true for the far side's end to leave the other direction open.
// - Resets: a far side that fails or is destroyed before its end resets the guest (RST, abort());
//   a guest's RST destroys the far side (resetAndDestroy() where a socket has it: a RST again).
import type { StackConnection } from "../tcp/connection.js";

/** The Node-stream shape a splice drives (net.Socket, tls.TLSSocket, a Duplex). */
export interface DuplexLike {
  /** Writes a chunk; false once its buffer is past its high-water mark ('drain' follows). */
  write(chunk: Uint8Array): boolean;
  /** Ends the writing side (a FIN on a socket). */
  end(): unknown;
  /** Closes both sides at once. */
  destroy(error?: Error): unknown;
  /** Stops 'data' events (a socket stops reading, its receive window closes). */
  pause(): unknown;
  /** Starts 'data' events again. */
  resume(): unknown;
  // The listener's arguments differ per event, as in Node's own EventEmitter typing.
  /** 'data', 'end', 'drain', 'error', 'close' (and 'connect' for a connecting socket). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** node:net (16.17+): destroys the socket with a RST. */
  resetAndDestroy?(): unknown;
  /** True once destroyed. */
  readonly destroyed?: boolean;
  /** Bytes written and not yet handed to the far side (a Writable's buffer). */
  readonly writableLength?: number;
}

/**
 * Bytes a duplex's write buffer may hold before the connection is paused. A Writable's own
 * highWaterMark (16 KiB for a net.Socket) would pause the guest at nearly every segment batch and
 * leave its window closing and reopening; 1 MiB keeps the guest streaming at a bounded cost.
 */
export const SPLICE_HIGH_WATER = 1 << 20;

/** A byte stream as a pair of Web Streams. */
export interface StreamPair {
  /** The far side's bytes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the far side; close() is the FIN. */
  readonly writable: WritableStream<Uint8Array>;
}

/** Whether `far` has the shape of a Node-style duplex. */
export function isDuplexLike(far: unknown): far is DuplexLike {
  const d = far as Partial<DuplexLike> | null;
  return typeof d === "object" && d !== null && typeof d.write === "function" && typeof d.on === "function" &&
    typeof d.pause === "function" && typeof d.end === "function";
}

/** Whether `far` is a pair of Web Streams. */
export function isStreamPair(far: unknown): far is StreamPair {
  const s = far as Partial<StreamPair> | null;
  return typeof s === "object" && s !== null && typeof s.readable?.getReader === "function" && typeof s.writable?.getWriter === "function";
}

/** What a splice reports when it is over: bytes each way, and whether either side was reset. */
export interface SpliceResult {
  /** Bytes from the connection's peer to the far side. */
  up: number;
  /** Bytes from the far side to the connection's peer. */
  down: number;
  /** The error either side ended with, if any. */
  error?: Error;
}

/**
 * Splices `conn` to `far` (a Node-style duplex or a Web Streams pair) both ways; takes over conn's
 * handlers (onData, onEnd, onWritable, onClose). `onDone` is called once, when both are finished.
 */
export function splice(conn: StackConnection, far: DuplexLike | StreamPair, onDone?: (result: SpliceResult) => void): void {
  if (isDuplexLike(far)) spliceDuplex(conn, far, onDone);
  else spliceStreams(conn, far, onDone);
}

/** Writes as much of `chunk` as the connection takes now; -1 when it is closed. */
function writeSome(conn: StackConnection, chunk: Uint8Array): number {
  try {
    return conn.write(chunk);
  } catch {
    return -1;
  }
}

function spliceDuplex(conn: StackConnection, far: DuplexLike, onDone?: (result: SpliceResult) => void): void {
  const result: SpliceResult = { up: 0, down: 0 };
  /** Far-side bytes the connection's send ring had no room for (the far side is paused meanwhile). */
  let pending: Uint8Array | undefined;
  let farEnded = false;
  let farClosed = false;
  let connClosed = false;
  const done = () => {
    if (connClosed && farClosed) onDone?.(result);
  };
  const endGuest = () => {
    try {
      conn.end();
    } catch {
      // Already closed: nothing to end.
    }
  };
  conn.onData = (chunk) => {
    result.up += chunk.length;
    const below = far.write(chunk);
    // Paused past the high-water mark ('drain' resumes it once the buffer is empty).
    if (far.writableLength === undefined ? !below : far.writableLength > SPLICE_HIGH_WATER) conn.pause();
  };
  conn.onEnd = () => {
    far.end();
  };
  conn.onWritable = () => {
    if (!pending) return;
    const n = writeSome(conn, pending);
    if (n < 0) return;
    result.down += n;
    if (n < pending.length) {
      pending = pending.subarray(n);
      return;
    }
    pending = undefined;
    if (farEnded) endGuest();
    else far.resume();
  };
  conn.onClose = (error) => {
    connClosed = true;
    if (error) {
      // The guest reset (or the connection failed): the far side is reset too.
      result.error ??= error;
      if (far.resetAndDestroy) far.resetAndDestroy();
      else far.destroy(error);
    } else if (!farClosed) {
      far.destroy();
    }
    done();
  };
  far.on("data", (chunk: Uint8Array) => {
    if (connClosed) return;
    if (pending) {
      // A chunk after pause() (a stream may emit what it had): kept with the waiting one.
      const joined = new Uint8Array(pending.length + chunk.length);
      joined.set(pending);
      joined.set(chunk, pending.length);
      pending = joined;
      return;
    }
    const n = writeSome(conn, chunk);
    if (n < 0) return;
    result.down += n;
    if (n < chunk.length) {
      pending = chunk.subarray(n);
      far.pause();
    }
  });
  far.on("drain", () => {
    if (!connClosed) conn.resume();
  });
  far.on("end", () => {
    farEnded = true;
    if (!pending && !connClosed) endGuest();
  });
  far.on("error", (error: Error) => {
    result.error ??= error;
  });
  far.on("close", () => {
    farClosed = true;
    // Closed before its end arrived: destroyed or reset, so the guest is reset.
    if (!farEnded && !connClosed) conn.abort();
    done();
  });
}

function spliceStreams(conn: StackConnection, far: StreamPair, onDone?: (result: SpliceResult) => void): void {
  const result: SpliceResult = { up: 0, down: 0 };
  const writer = far.writable.getWriter();
  const reader = far.readable.getReader();
  let connClosed = false;
  let readerDone = false;
  let wakeWritable: (() => void) | undefined;
  let finished = false;
  const finish = () => {
    if (finished || !connClosed || !readerDone) return;
    finished = true;
    onDone?.(result);
  };
  const failFar = (error: unknown) => {
    result.error ??= error instanceof Error ? error : new Error(String(error));
    if (!connClosed) conn.abort();
  };
  conn.onData = (chunk) => {
    result.up += chunk.length;
    writer.write(chunk).catch(failFar);
    if ((writer.desiredSize ?? 1) <= 0) {
      conn.pause();
      writer.ready.then(() => {
        if (!connClosed) conn.resume();
      }, failFar);
    }
  };
  conn.onEnd = () => {
    writer.close().catch(failFar);
  };
  conn.onWritable = () => {
    const wake = wakeWritable;
    wakeWritable = undefined;
    wake?.();
  };
  conn.onClose = (error) => {
    connClosed = true;
    wakeWritable?.();
    if (error) {
      result.error ??= error;
      writer.abort(error).catch(() => {});
      reader.cancel(error).catch(() => {});
    } else {
      reader.cancel().catch(() => {});
      writer.close().catch(() => {});
    }
    finish();
  };
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let off = 0;
        while (off < value.length && !connClosed) {
          const n = writeSome(conn, off === 0 ? value : value.subarray(off));
          if (n < 0) break;
          off += n;
          result.down += n;
          if (off < value.length) await new Promise<void>((resolve) => (wakeWritable = resolve));
        }
        if (connClosed) break;
      }
      if (!connClosed) conn.end();
    } catch (error) {
      failFar(error);
    } finally {
      readerDone = true;
      finish();
    }
  })();
}
