// A stack's connection: the user side of one engine connection (RFC 9293 3.10 user calls), with
// the handlers the stack calls from its pump (src/tcp/stack.ts). Browser-safe.
//
// Connection contract:
// - `write(bytes)` copies as much as fits into the send ring and returns the count taken; when it
//   returns less than `bytes.length`, `onWritable` follows once there is room. Throws TcpwasmError
//   (EPIPE after end(), ENOTCONN/ECONNRESET... after close).
// - Reading: data is delivered to `onData` only while the connection is not paused and has an onData
//   handler. Unread data stays in the receive ring, so the window advertised to the peer shrinks: a
//   paused reader is real backpressure. `onEnd` comes after the last byte was delivered.
// - `end()` sends FIN after queued data (half-close: reading goes on). `abort()` sends RST.
// - `onClose(error?)` is the last callback, once both directions are finished (TIME-WAIT or CLOSED:
//   like a kernel socket, TIME-WAIT is the engine's business, not the user's) or the connection failed
//   (error: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...), or after abort() (no error). The engine handle
//   is released then.
// - `release()` gives the handle back at once with no further callbacks: the engine finishes the
//   connection by itself (FIN, or RST if received data is left unread).
import type { Engine } from "../core/engine.js";
import { TcpwasmError } from "../core/errors.js";
import { validateConnectionOptions, type ConnectionOptions } from "../core/settings.js";
import type { ConnectionEndpoints, ConnectionStatus } from "../core/status.js";
import type { TcpState } from "../core/trace.js";
import { toBytes, validateBoolean, validateNumber, validateObject } from "../core/validate.js";

/** @internal What a connection needs from its stack (src/tcp/stack.ts implements it). */
export interface ConnectionHost {
  readonly engine: Engine;
  readonly isClosed: boolean;
  /** The time for an engine call (Stack.engineNow). */
  engineNow(): number;
  /** A user call left output in the engine. */
  wantOutput(): void;
  /** The connection has something to deliver. */
  wantRead(conn: StackConnection): void;
  /** Nothing to deliver until the next readable, peerFin, closed or resume(). */
  readIdle(conn: StackConnection): void;
  /** The connection is done for the user. */
  forget(conn: StackConnection): void;
  /** The connection keeps a Node process alive, or no longer does (lifetime.ts). */
  hold(conn: StackConnection, holds: boolean): void;
  /** A close is about to be reported: what the engine has queued (a final ACK) leaves first. */
  flushBeforeClose(): void;
}

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * One connection of a stack, seen from the user side (RFC 9293 3.10 user calls): write, end, abort,
 * pause and resume, with handlers for data, end, writability and close. Made by Stack.openConnection
 * or handed to an openListener callback; the faces wrap it in their sockets.
 */
export class StackConnection {
  readonly #stack: ConnectionHost;
  readonly #endpoints: ConnectionEndpoints;
  /** The RFC 9293 state, as of the last event. */
  state: TcpState = "CLOSED";
  /** Set when the connection failed (reset, timeout, local error). */
  error: TcpwasmError | undefined;
  /** @internal The peer's FIN arrived (delivered as onEnd once the data before it was read). */
  peerFinished = false;
  /** Bytes delivered to onData so far. */
  bytesRead = 0;
  /** Bytes write() has taken so far. */
  bytesWritten = 0;

  /** Called once the handshake completes (ESTABLISHED) on an active open. */
  onConnect: (() => void) | undefined;
  /** Called once the peer's FIN arrived and every byte before it was delivered (half-close: writing goes on). */
  onEnd: (() => void) | undefined;
  /** Called when the send buffer has room again after a write() that took less than it was given. */
  onWritable: (() => void) | undefined;
  /** The last callback, once both directions are over; `error` says why if the connection failed. */
  onClose: ((error: TcpwasmError | undefined) => void) | undefined;
  /**
   * Called instead of onData while set: data is readable and the handler takes it itself with
   * readInto() (a reader that brings its own memory, so no copy is made for it). It is called again
   * while it takes bytes and the connection is not paused; a handler that leaves data in the ring
   * pauses, and resume() asks again.
   */
  onReadable: (() => void) | undefined;

  #dataHandler: ((chunk: Uint8Array) => void) | undefined;
  #paused = false;
  #endDelivered = false;
  #done = false;
  #finished = false;
  #ended = false;
  #refed = true;

  /** @internal */
  constructor(
    stack: ConnectionHost,
    /** The engine's id of this connection (with a generation: a stale id is refused with EBADF). */
    readonly id: number,
    endpoints: ConnectionEndpoints,
  ) {
    this.#stack = stack;
    this.#endpoints = endpoints;
  }

  /** Our address on this connection. */
  get localAddress(): string {
    return this.#endpoints.localAddress;
  }

  /** Our port on this connection. */
  get localPort(): number {
    return this.#endpoints.localPort;
  }

  /** The peer's address. */
  get remoteAddress(): string {
    return this.#endpoints.remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number {
    return this.#endpoints.remotePort;
  }

  /** Receives each chunk of data (a copy, yours to keep; it may share its ArrayBuffer with others). Without a handler the connection reads nothing, as if paused. */
  get onData(): ((chunk: Uint8Array) => void) | undefined {
    return this.#dataHandler;
  }

  set onData(handler: ((chunk: Uint8Array) => void) | undefined) {
    this.#dataHandler = handler;
    if (handler && this.#hasDelivery()) this.#stack.wantRead(this);
  }

  /** True once onClose ran (or release() was called). */
  get isClosed(): boolean {
    return this.#finished;
  }

  /** True between pause() and resume(): no data is delivered and the receive window closes as the buffer fills. */
  get isPaused(): boolean {
    return this.#paused;
  }

  /**
   * Copies as much of `bytes` into the send ring as fits; returns the count taken (0: wait for onWritable).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE (not bytes), EPIPE (after end()), or once closed the
   * connection's error or ERR_SOCKET_CLOSED.
   */
  write(bytes: Uint8Array | ArrayBuffer | ArrayBufferView): number {
    const data = toBytes(bytes, "bytes");
    this.#checkUsable();
    if (this.#ended) throw new TcpwasmError("EPIPE", `${this.describe()}: write after end`);
    const n = this.#stack.engine.send(this.id, data, this.#stack.engineNow());
    this.bytesWritten += n;
    if (n > 0) this.#stack.wantOutput();
    return n;
  }

  /** Bytes readInto() takes in one piece now (0: nothing readable yet). */
  readableBytes(): number {
    if (this.#finished || this.error) return 0;
    return this.#stack.engine.readable(this.id);
  }

  /**
   * Copies up to `view.length` received bytes straight from the receive ring into `view` and
   * consumes them (the window reopens); returns the count, 0 when nothing is readable. Bytes are
   * read this way or through onData, never both at once.
   */
  readInto(view: Uint8Array): number {
    if (this.#finished || this.error) return 0;
    const n = this.#stack.engine.recvInto(this.id, this.#stack.engineNow(), view);
    if (n > 0) {
      this.bytesRead += n;
      // The consumed bytes may reopen the window: a window update leaves with the next drain.
      this.#stack.wantOutput();
    }
    return n;
  }

  /** Bytes the send ring takes now without blocking. */
  writableSpace(): number {
    if (this.#finished || this.#ended) return 0;
    const s = this.#stack.engine.status(this.id);
    return Math.max(0, s.sendBuffer - s.sendQueued);
  }

  /** Half-close: FIN after the queued data; reading goes on. Idempotent. */
  end(): void {
    if (this.#finished || this.#ended) return;
    this.#ended = true;
    this.#stack.engine.close(this.id, this.#stack.engineNow());
    this.#stack.wantOutput();
  }

  /** Resets the connection (RST); onClose follows with no error. */
  abort(): void {
    if (this.#finished) return;
    try {
      this.#stack.engine.abort(this.id, this.#stack.engineNow());
    } catch {
      // The engine already ended it; the pending CLOSED event finishes the connection.
    }
    this.#stack.wantOutput();
  }

  /** Stops delivering data: unread bytes stay in the receive ring and the advertised window shrinks. */
  pause(): void {
    this.#paused = true;
  }

  /** Delivers data to onData again after pause(). */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#hasDelivery()) this.#stack.wantRead(this);
  }

  /**
   * Whether a pump would deliver something now: data in the ring, the peer's FIN or the end of the
   * connection. Otherwise the engine's next readable, peerFin or closed event asks for one, so
   * resuming a reader with nothing waiting (every socket does at connect) costs no pump.
   */
  #hasDelivery(): boolean {
    if (this.#finished) return false;
    if (this.#done || (this.peerFinished && !this.#endDelivered)) return true;
    return this.#stack.engine.readable(this.id) > 0;
  }

  /**
   * Nagle's algorithm off (true, the default) or on (RFC 9293 3.7.4).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE for a non-boolean.
   */
  setNoDelay(noDelay = true): void {
    validateBoolean(noDelay, "noDelay");
    this.setOptions({ noDelay });
  }

  /**
   * Keepalive on or off; `idleMs` (> 0) the idle time before the first probe, else the engine's default.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE.
   */
  setKeepAlive(enable: boolean, idleMs?: number): void {
    validateBoolean(enable, "enable");
    if (idleMs !== undefined) validateNumber(idleMs, "idleMs", 0, 0xffffffff);
    this.setOptions(idleMs && idleMs >= 1 ? { keepalive: enable, keepaliveIdleMs: idleMs } : { keepalive: enable });
  }

  /**
   * RFC 5482 user timeout, ms (0: none): unacknowledged data older than this ends the connection (ETIMEDOUT).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE.
   */
  setUserTimeout(ms: number): void {
    validateNumber(ms, "ms", 0, 0xffffffff);
    this.setOptions({ userTimeoutMs: ms });
  }

  /**
   * Sets per-connection options (see ConnectionOptions); ignored once the connection is closed.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for an unknown key or a value out of its range.
   */
  setOptions(options: ConnectionOptions): void {
    validateObject(options, "options");
    validateConnectionOptions(options as Record<string, unknown>, "options", NO_KEYS);
    if (this.#finished) return;
    this.#stack.engine.setOptions(this.id, options);
    this.#stack.wantOutput();
  }

  /**
   * In Node, an open connection keeps the process alive until its close callback, as a net.Socket
   * does (the default); TIME-WAIT and other protocol timers never do.
   */
  ref(): void {
    this.#refed = true;
    if (!this.#finished) this.#stack.hold(this, true);
  }

  /** In Node, lets the process exit while this connection is open (net.Socket.unref). */
  unref(): void {
    this.#refed = false;
    this.#stack.hold(this, false);
  }

  /** Whether the open connection keeps a Node process alive (see ref). */
  get refed(): boolean {
    return this.#refed;
  }

  /** The engine's STATUS record (RFC 9293 3.10.6): sequence variables, windows, RTT, queues. */
  status(): ConnectionStatus {
    this.#checkUsable();
    return this.#stack.engine.status(this.id);
  }

  /** Gives the handle back now, with no further callbacks; the engine ends the connection itself. */
  release(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stack.forget(this);
    if (!this.#stack.isClosed) this.#stack.engine.release(this.id, this.#stack.engineNow());
    this.#stack.wantOutput();
  }

  /** "local -> remote" with addresses and ports, for messages and logs. */
  describe(): string {
    const fmt = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
    return `${fmt(this.localAddress, this.localPort)} -> ${fmt(this.remoteAddress, this.remotePort)}`;
  }

  // ---- internal, driven by the stack ----

  /** @internal Can deliver data, an end or a close right now. */
  canDeliver(): boolean {
    return !this.#finished && (this.#done || (!this.#paused && (this.onData !== undefined || this.onReadable !== undefined)));
  }

  /** @internal The protocol is over (TIME-WAIT or CLOSED), with `error` if it failed. */
  markDone(error: TcpwasmError | undefined): void {
    if (this.#finished) return;
    this.#done = true;
    if (error) this.error = error;
    this.#stack.wantRead(this);
  }

  /**
   * @internal Delivers readable data (while not paused), then the end, then the close. Returns true if
   * anything was delivered.
   */
  deliver(): boolean {
    if (this.#finished) {
      this.#stack.forget(this);
      return false;
    }
    let moved = false;
    if (!this.error) {
      const engine = this.#stack.engine;
      while (!this.#paused && !this.#finished) {
        const avail = engine.readable(this.id);
        if (avail <= 0) break;
        if (this.onReadable) {
          const before = this.bytesRead;
          this.onReadable();
          if (this.bytesRead === before) break;
          moved = true;
          continue;
        }
        if (!this.onData) break;
        const chunk = engine.recv(this.id, this.#stack.engineNow(), avail);
        this.bytesRead += avail;
        moved = true;
        this.onData(chunk);
      }
      if (this.#finished) return moved;
      const drained = this.error !== undefined || engine.readable(this.id) <= 0;
      if (!drained) {
        // Paused (or no reader yet): keep the data in the ring; resume() asks again.
        this.#stack.readIdle(this);
        return moved;
      }
      if (this.peerFinished && !this.#endDelivered) {
        this.#endDelivered = true;
        moved = true;
        this.onEnd?.();
        if (this.#finished) return moved;
      }
    }
    if (this.#done) {
      this.finish(this.error);
      return true;
    }
    this.#stack.readIdle(this);
    return moved;
  }

  /** @internal Final callback; releases the engine handle. */
  finish(error: TcpwasmError | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stack.forget(this);
    if (!this.#stack.isClosed) {
      try {
        this.#stack.engine.release(this.id, this.#stack.engineNow());
      } catch {
        // Already freed by the engine.
      }
      // A capture or a ladder taken when the close is reported holds the connection's last segment.
      this.#stack.flushBeforeClose();
    }
    this.onClose?.(error);
  }

  #checkUsable(): void {
    if (this.#finished) throw this.error ?? new TcpwasmError("ERR_SOCKET_CLOSED", `${this.describe()}: the connection is closed`);
  }
}
