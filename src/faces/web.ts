// The Web face: sockets shaped like the WICG Direct Sockets `TCPSocket` and Cloudflare's `connect()`
// over a stack's connections (src/tcp/stack.ts). Web-platform APIs only: Web Streams
// and promises, so it runs the same in browsers, workers and Node. It sits on the stack as the Node
// face does (bindWeb(stack), like bindNet(stack)), and registers stack.connect and stack.listen on
// the Stack class when loaded (every entry of the package loads it), so the stack never imports it.
//
//   const socket = stack.connect({ hostname: "10.0.0.2", port: 80 });   // or a name (StackOptions.dns)
//   const { readable, writable } = await socket.opened;
//   const writer = writable.getWriter();
//   await writer.write(bytes);        // resolves once the bytes are in the send ring
//   await writer.close();             // half-close: FIN; the readable side keeps going
//   for await (const chunk of readable) ...   // (or readable.getReader())
//   await socket.closed;              // rejects with a TcpwasmError (ECONNRESET, ...) on failure
//
//   const listener = stack.listen({ port: 80 });
//   for await (const socket of listener) { ... }  // listener.close() ends the loop
//
// Reading. The readable side is a readable byte stream (type "bytes") whose buffer is the engine's
// receive ring: a read is served from the ring when it is made, so a BYOB reader
// (getReader({ mode: "byob" })) gets the bytes copied once, straight into its own view, and a default
// reader gets a new Uint8Array of what is readable in one piece, up to 256 KiB. Either way what a
// read returns is the caller's: ring memory is never handed out. (Where a runtime has no byte
// streams, a default stream is served the same way, without BYOB reads.)
//
// Backpressure. Data nobody has asked for stays in the receive ring (the connection is paused), so
// the window advertised to the peer shrinks to zero while nobody reads; reading again reopens it.
// readableHighWaterMark (default 0) lets the stream take that many bytes out of the ring ahead of
// the reads. The writable side's write() resolves only when every byte is in the send ring, so a
// writer that awaits its writes waits for the peer to acknowledge data.
import { TcpwasmError, isArgumentError } from "../core/errors.js";
import { freshBytes } from "../core/arena.js";
import { Stack, type StackConnection, type StackListener } from "../tcp/stack.js";
import { PendingWrite } from "../tcp/pending-write.js";
import { validateAddress } from "../core/address.js";
import { dial, type Dial } from "../tcp/dial.js";
import { aborted, validateConnectTimeout, validateSignal, watchConnect, type ConnectWatch } from "../tcp/connect-watch.js";
import type { StackTimers } from "../tcp/timer.js";
import { addressLiteral, resolveHost, type AddressFamily } from "../services/resolve-host.js";
import { invalidType, invalidValue, toBytes, validateKnownKeys, validateBoolean, validateInteger, validateNumber, validateObject, validatePort, validateString } from "../core/validate.js";

/** Options of stack.connect() (BoundWeb.connect), after Direct Sockets' TCPSocketOptions. */
export interface SocketOptions {
  /**
   * The peer: an IPv4 or IPv6 address, or a name the stack's resolver turns into addresses
   * (StackOptions.dns), tried in order until one connects (`opened` rejects with ENOTFOUND or
   * EAI_AGAIN when the name does not resolve).
   */
  hostname: string;
  /** The peer's port, 1..65535. */
  port: number;
  /** Local address; default the stack's address facing `hostname`. */
  localAddress?: string;
  /** Local port; default a random ephemeral port (RFC 6056). */
  localPort?: number;
  /** Disable Nagle's algorithm (Direct Sockets' noDelay). Default false. */
  noDelay?: boolean;
  /** Keepalive probes after this many ms idle (Direct Sockets' keepAliveDelay). Default off. */
  keepAliveDelay?: number;
  /** Send buffer, bytes, kept at this size (auto-sizing off, as SO_SNDBUF). Default: auto-sized from the engine's `sendBuffer` (256 KiB) up to `sendBufferMax`. */
  sendBufferSize?: number;
  /** Receive buffer, bytes, kept at this size (auto-sizing off, as SO_RCVBUF); it bounds the window offered to the peer. Default: auto-sized from the engine's `recvBuffer` (256 KiB) up to `recvBufferMax`. */
  receiveBufferSize?: number;
  /**
   * Bytes the readable stream takes out of the receive ring ahead of reads. Default 0: data waits
   * in the receive ring (sized by receiveBufferSize) until it is read.
   */
  readableHighWaterMark?: number;
  /**
   * Ends the socket when it aborts: before `opened` resolves, the connect is dropped (nothing more is
   * sent) and `opened` and `closed` reject with an AbortError (code ABORT_ERR, `cause` the signal's
   * reason); later, the connection is reset (RST) and `closed` rejects with it.
   */
  signal?: AbortSignal;
  /**
   * Connect timeout, ms (1..2^31-1): if `opened` has not resolved by then (resolving a name and every
   * address tried included), the connect is dropped and `opened` rejects with ETIMEDOUT. Default none:
   * the engine gives an unanswered SYN up after `synRetries` retransmissions (about 2 minutes).
   */
  timeout?: number;
}

/** What TcpSocket.opened resolves to: the streams and both ends' addresses. */
export interface SocketOpenInfo {
  /** The bytes the peer sent; ends at the peer's FIN. */
  readable: ReadableStream<Uint8Array>;
  /** The bytes to send; closing it sends FIN after them (half-close). */
  writable: WritableStream<Uint8Array>;
  /** The peer's address. */
  remoteAddress: string;
  /** The peer's port. */
  remotePort: number;
  /** Our address on this connection. */
  localAddress: string;
  /** Our port on this connection. */
  localPort: number;
}

/** Options of stack.listen() (BoundWeb.listen). */
export interface ListenOptions {
  /** The port to listen on, 1..65535. */
  port: number;
  /** One of the stack's addresses; default all of them. */
  hostname?: string;
  /** Cap on half-open connections. */
  backlog?: number;
  /** Disable Nagle's algorithm on every accepted socket. Default false. */
  noDelay?: boolean;
  /** Keepalive probes after this many ms idle, on every accepted socket. Default off. */
  keepAliveDelay?: number;
  /** Send buffer of every accepted socket, bytes, kept at this size (auto-sizing off). Default: auto-sized, as SocketOptions.sendBufferSize. */
  sendBufferSize?: number;
  /** Receive buffer of every accepted socket, bytes, kept at this size (auto-sizing off). Default: auto-sized, as SocketOptions.receiveBufferSize. */
  receiveBufferSize?: number;
  /** Bytes each accepted socket's readable stream takes out of the receive ring ahead of reads. Default 0. */
  readableHighWaterMark?: number;
}

/** What TcpListener.opened resolves to. */
export interface ListenerOpenInfo {
  /** The accepted sockets, in order. */
  readable: ReadableStream<TcpSocket>;
  /** The address listened on ("0.0.0.0" or "::" style wildcard for all). */
  localAddress: string;
  /** The port listened on. */
  localPort: number;
}

/** Unread data waits in the receive ring, not in the stream: the ring is the socket's buffer. */
const DEFAULT_HIGH_WATER_MARK = 0;

/**
 * The most a default read hands out in one chunk. Each chunk is memory of its own (a byte stream
 * transfers its buffer to the reader), allocated per read and freed by some later GC. Receive rings
 * grow to several MiB under auto-sizing, and a chunk that large is a mapping of its own from the C
 * allocator, fresh pages faulted in on every read: copies out of linear memory into new 1 MiB chunks
 * ran at 17-20 Gbit per CPU-second, into 64-256 KiB ones at 40-55 (Node 20, this project's machine).
 * 256 KiB is the size a ring starts at, so a ring that never grew is still drained in one read.
 */
const DEFAULT_READ_CHUNK = 256 * 1024;

function ignore(): void {}

/** The default stream's queuing strategy counts bytes (where there are no byte streams). */
function byteLength(chunk: Uint8Array): number {
  return chunk.byteLength;
}

let byteStreams: boolean | undefined;

/**
 * Whether this runtime has readable byte streams (ReadableStream type "bytes": Chrome 89, Firefox
 * 102, Safari only from 26.4). Without them the readable side is a default stream served the same
 * way, from the ring, minus BYOB reads. Asked once, at the first socket, not as the module loads.
 */
function hasByteStreams(): boolean {
  if (byteStreams === undefined) {
    try {
      new ReadableStream({ type: "bytes" });
      byteStreams = true;
    } catch {
      byteStreams = false;
    }
  }
  return byteStreams;
}

function quietly<T>(p: Promise<T>): Promise<T> {
  // The promise still rejects for whoever awaits it; an unobserved rejection is not an error here.
  p.catch(ignore);
  return p;
}

const SOCKET_OPTIONS: ReadonlySet<string> = new Set([
  "hostname", "port", "localAddress", "localPort", "noDelay", "keepAliveDelay", "sendBufferSize", "receiveBufferSize",
  "readableHighWaterMark", "signal", "timeout",
]);
const LISTEN_OPTIONS: ReadonlySet<string> = new Set([
  "port", "hostname", "backlog", "noDelay", "keepAliveDelay", "sendBufferSize", "receiveBufferSize", "readableHighWaterMark",
]);

/** The options both faces share: types and ranges (the stack checks addresses and ports again). */
function validateSocketOptions(options: unknown, known: ReadonlySet<string>): asserts options is Record<string, unknown> {
  validateObject(options, "options");
  validateKnownKeys(options, "options", known);
  const o = options as unknown as SocketOptions & ListenOptions;
  if (o.noDelay !== undefined) validateBoolean(o.noDelay, "options.noDelay");
  if (o.keepAliveDelay !== undefined) validateNumber(o.keepAliveDelay, "options.keepAliveDelay", 0, 0xffffffff);
  if (o.sendBufferSize !== undefined) validateInteger(o.sendBufferSize, "options.sendBufferSize", 1024, 1 << 30);
  if (o.receiveBufferSize !== undefined) validateInteger(o.receiveBufferSize, "options.receiveBufferSize", 1024, 1 << 30);
  if (o.readableHighWaterMark !== undefined) validateNumber(o.readableHighWaterMark, "options.readableHighWaterMark", 0);
}

function connectionOptions(o: { noDelay?: boolean; keepAliveDelay?: number; sendBufferSize?: number; receiveBufferSize?: number }) {
  const c: Record<string, number | boolean> = {};
  if (o.noDelay) c.noDelay = true;
  if (o.keepAliveDelay !== undefined && o.keepAliveDelay > 0) {
    c.keepalive = true;
    c.keepaliveIdleMs = o.keepAliveDelay;
  }
  if (o.sendBufferSize !== undefined) c.sendBuffer = o.sendBufferSize;
  if (o.receiveBufferSize !== undefined) c.recvBuffer = o.receiveBufferSize;
  return c;
}

/** A TCP connection with Web Streams. Create with `stack.connect()` or take from `stack.listen()`. */
export class TcpSocket {
  /** Undefined while a name is resolved and its addresses tried, and for a connect() refused at once. */
  #conn: StackConnection | undefined;
  /** Stops resolving or dialling a name (set while that is under way). */
  #cancelDial: (() => void) | undefined;
  /** Resolves with the streams and addresses once connected; rejects if connecting fails. */
  readonly opened: Promise<SocketOpenInfo>;
  /** Resolves once the connection is over in both directions; rejects with its error if it failed. */
  readonly closed: Promise<void>;
  /** The same streams as in `opened` (Cloudflare's shape). */
  readonly readable: ReadableStream<Uint8Array>;
  /** The same stream as `opened`'s writable. */
  readonly writable: WritableStream<Uint8Array>;

  #readController!: ReadableByteStreamController | ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #resolveOpened!: (info: SocketOpenInfo) => void;
  #rejectOpened!: (err: unknown) => void;
  #resolveClosed!: () => void;
  #rejectClosed!: (err: unknown) => void;
  #readDone = false;
  #writeDone = false;
  #discarding = false;
  /** The readable stream pulled and has not had its chunk yet. */
  #readWanted = false;
  /** A write waiting for room in the send ring. */
  readonly #writes = new PendingWrite();
  #finalError: TcpwasmError | undefined;
  #isOver = false;
  #wasOpened = false;
  /** The caller's signal and connect timeout (SocketOptions), while they can still end the socket. */
  #watch: ConnectWatch | undefined;

  /**
   * @internal Use stack.connect() or stack.listen(). `conn` is undefined for a connect() the network
   * refused at once (`failure`: ENOBUFS, EHOSTUNREACH, EADDRINUSE, ...: opened and closed reject with
   * it) and for a connect() to a name: `dialer` starts resolving it and trying its addresses, calls
   * `ready` with the connected connection or `fail` with the last error, and returns a cancel function.
   * `limits` are connect()'s signal and timeout, run on the stack's timers.
   */
  constructor(
    conn: StackConnection | undefined,
    connected: boolean,
    highWaterMark: number,
    failure?: TcpwasmError,
    dialer?: (ready: (conn: StackConnection) => void, fail: (error: TcpwasmError) => void) => () => void,
    limits?: { timers: StackTimers; signal?: AbortSignal; timeout?: number },
  ) {
    this.#conn = conn;
    this.opened = quietly(new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    }));
    this.closed = quietly(new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    }));
    const source = {
      start: (controller: ReadableByteStreamController | ReadableStreamDefaultController<Uint8Array>) => {
        this.#readController = controller;
      },
      pull: () => {
        // Before a connection exists the read waits: #adopt serves it once data arrives.
        this.#readWanted = true;
        if (this.#conn) this.#serveRead(this.#conn);
      },
      cancel: () => {
        // TCP cannot stop the peer from sending: keep reading so its window stays open, and drop it.
        this.#readDone = true;
        this.#discard();
      },
    };
    this.readable = hasByteStreams()
      ? new ReadableStream({ type: "bytes", ...source }, { highWaterMark })
      : new ReadableStream<Uint8Array>(source, { highWaterMark, size: byteLength });
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#writeController = controller;
        },
        write: (chunk) => {
          let bytes: Uint8Array;
          try {
            bytes = toBytes(chunk, "chunk");
          } catch (error) {
            // The stream errors (Streams semantics): nothing more can be written, so FIN now.
            this.#writeDone = true;
            if (!this.#isOver) this.#conn?.end();
            throw error;
          }
          return this.#write(bytes);
        },
        close: () => {
          this.#writeDone = true;
          // Still resolving a name: the FIN follows the handshake (#adopt).
          if (!this.#isOver) this.#conn?.end();
        },
        abort: () => {
          this.#writeDone = true;
          if (this.#isOver) return;
          if (this.#conn) this.#conn.abort();
          else this.#stopDialling();
        },
      },
      { highWaterMark: 1 },
    );

    if (failure) {
      this.#over(failure);
      return;
    }
    if (limits && (limits.signal !== undefined || limits.timeout !== undefined)) {
      this.#watch = watchConnect(limits.timers, limits.signal, limits.timeout, (error) => this.#end(error));
    }
    if (conn) {
      this.#adopt(conn);
      if (connected) this.#open();
      else conn.onConnect = () => this.#open();
      return;
    }
    this.#cancelDial = dialer!(
      (c) => {
        this.#cancelDial = undefined;
        this.#conn = c;
        this.#adopt(c);
        // What was written or closed while the name was resolved goes out now, in order.
        this.#writes.flush(c);
        if (this.#writeDone && !this.#isOver) c.end();
        if (!this.#isOver) this.#open();
      },
      (error) => {
        this.#cancelDial = undefined;
        this.#over(error);
      },
    );
  }

  /** Takes `conn`'s handlers. */
  #adopt(conn: StackConnection): void {
    conn.onReadable = () => this.#serveRead(conn);
    conn.onEnd = () => {
      if (this.#readDone) return;
      this.#readDone = true;
      this.#closeReadable();
    };
    conn.onWritable = () => this.#writes.flush(conn);
    conn.onClose = (error) => this.#over(error);
    // Nothing is read until the stream asks (a read, or room below its highWaterMark).
    if (this.#discarding) this.#discard();
    else if (this.#readWanted) conn.resume();
    else conn.pause();
  }

  /** Reads on and drops what arrives (the readable side was cancelled or the socket closed). */
  #discard(): void {
    this.#discarding = true;
    const conn = this.#conn;
    if (!conn) return;
    conn.onReadable = undefined;
    conn.onData = ignore;
    conn.resume();
  }

  /** Ends the readable stream; a BYOB read still waiting gets its empty view back, done. */
  #closeReadable(): void {
    const controller = this.#readController;
    controller.close();
    if ("byobRequest" in controller) controller.byobRequest?.respond(0);
  }

  /**
   * One chunk for the readable stream, which asked for it (pull: a read is waiting, or the queue is
   * under its highWaterMark), from the receive ring: a BYOB read's view filled in place, else a new
   * Uint8Array of the bytes readable in one piece, at most DEFAULT_READ_CHUNK. With nothing readable
   * the connection resumes and its next readable event (or the end, or the close) comes back here;
   * once served it pauses, so data nobody asked for stays in the ring and closes the window.
   */
  #serveRead(conn: StackConnection): void {
    if (!this.#readWanted || this.#readDone) return;
    const controller = this.#readController;
    const request = "byobRequest" in controller ? controller.byobRequest : null;
    let n: number;
    if (request !== null) {
      n = conn.readInto(request.view as Uint8Array);
      if (n > 0) {
        this.#readWanted = false;
        request.respond(n);
      }
    } else {
      n = Math.min(conn.readableBytes(), DEFAULT_READ_CHUNK);
      if (n > 0) {
        // Enqueue hands the chunk's buffer to the reader (a byte stream transfers it): a fresh one each
        // time, not zero-filled first where the runtime allows (freshBytes): nothing runs between
        // readableBytes() and readInto(), so the copy overwrites all n bytes before anyone sees them.
        // (freshBytes' memory is an ArrayBuffer of its own, never a SharedArrayBuffer.)
        const chunk = freshBytes(n) as Uint8Array<ArrayBuffer>;
        conn.readInto(chunk);
        this.#readWanted = false;
        controller.enqueue(chunk);
      }
    }
    // Served: a stream that wants more pulls again (which resets #readWanted) before anyone resumes.
    if (n > 0) {
      if (!this.#readWanted) conn.pause();
    } else conn.resume();
  }

  /**
   * The signal aborted or the connect timed out: a connect under way is dropped without a callback
   * (RFC 9293 3.10.5: an ABORT in SYN-SENT sends nothing), an open connection is reset, and the
   * socket is over with `error`.
   */
  #end(error: TcpwasmError): void {
    if (this.#isOver) return;
    const c = this.#conn;
    if (c) {
      if (!c.isClosed) {
        c.onConnect = undefined;
        c.onClose = undefined;
        c.abort();
        c.release();
      }
    } else {
      this.#cancelDial?.();
      this.#cancelDial = undefined;
    }
    this.#over(error);
  }

  /** Ends a connect() to a name before it has a connection: nothing was sent, so closed resolves. */
  #stopDialling(): void {
    this.#cancelDial?.();
    this.#cancelDial = undefined;
    this.#over(undefined);
  }

  /** The peer's address ("" before a connection exists). */
  get remoteAddress(): string {
    return this.#conn?.remoteAddress ?? "";
  }

  /** The peer's port (0 before a connection exists). */
  get remotePort(): number {
    return this.#conn?.remotePort ?? 0;
  }

  /** Our address ("" before a connection exists). */
  get localAddress(): string {
    return this.#conn?.localAddress ?? "";
  }

  /** Our port (0 before a connection exists). */
  get localPort(): number {
    return this.#conn?.localPort ?? 0;
  }

  /**
   * The stack's connection under this socket (state, status, options); throws the error of a connect()
   * that failed before it had one, or ENOTCONN while a name is still being resolved.
   */
  get connection(): StackConnection {
    if (this.#conn === undefined) throw this.#finalError ?? new TcpwasmError("ENOTCONN", "still resolving the name; await opened");
    return this.#conn;
  }

  /**
   * Closes both directions: FIN after the data already written, no more data delivered (the stream
   * ends). Resolves as `closed` does, once the peer has closed too.
   */
  close(): Promise<void> {
    if (!this.#isOver) {
      if (!this.#readDone) {
        this.#readDone = true;
        this.#closeReadable();
      }
      this.#discard();
      if (!this.#writeDone) {
        this.#writeDone = true;
        this.#writeController.error(new TcpwasmError("ERR_SOCKET_CLOSED", "the socket was closed"));
        this.#conn?.end();
      }
      if (!this.#conn) this.#stopDialling();
    }
    return this.closed;
  }

  #open(): void {
    this.#wasOpened = true;
    this.#watch?.connected();
    const c = this.#conn!;
    this.#resolveOpened({
      readable: this.readable, writable: this.writable, remoteAddress: c.remoteAddress, remotePort: c.remotePort,
      localAddress: c.localAddress, localPort: c.localPort,
    });
  }

  #write(bytes: Uint8Array): Promise<void> | undefined {
    const conn = this.#conn;
    if (conn !== undefined) {
      // The stream hands the sink one write at a time, so none is waiting here: the ring takes what
      // fits now, and a write it takes whole completes without a promise or a queue.
      const n = conn.write(bytes);
      if (n === bytes.length) return undefined;
      this.#writes.push(bytes.subarray(n));
    } else {
      // A name being resolved: the write waits for the connection (the dialer's ready flushes it).
      this.#writes.push(bytes);
    }
    return new Promise((resolve, reject) => {
      this.#writes.wait((error) => (error === undefined ? resolve() : reject(error)));
    });
  }

  #over(error: TcpwasmError | undefined): void {
    this.#isOver = true;
    this.#watch?.dispose();
    this.#watch = undefined;
    this.#finalError = error;
    // Built only when something is still waiting: an Error captures a stack trace, costly per connection.
    let closedError: TcpwasmError | undefined = error;
    const err = () => (closedError ??= new TcpwasmError("ERR_SOCKET_CLOSED", "the connection is closed"));
    if (!this.#readDone) {
      this.#readDone = true;
      if (error) this.#readController.error(error);
      else this.#closeReadable();
    }
    if (this.#writes.waiting) this.#writes.fail(err());
    if (!this.#writeDone) {
      this.#writeDone = true;
      this.#writeController.error(err());
    }
    if (error) {
      this.#rejectOpened(error);
      this.#rejectClosed(error);
    } else {
      if (!this.#wasOpened) this.#rejectOpened(err());
      this.#resolveClosed();
    }
  }

  /** The error the connection ended with, if it failed. */
  get error(): TcpwasmError | undefined {
    return this.#finalError;
  }
}

/** Incoming connections on one port: an async iterable of TcpSockets. */
export class TcpListener implements AsyncIterable<TcpSocket> {
  /** Resolves once listening, with the stream of accepted sockets. */
  readonly opened: Promise<ListenerOpenInfo>;
  /** Resolves when the listener is closed. */
  readonly closed: Promise<void>;
  /** The port listened on. */
  readonly localPort: number;
  /** The address listened on. */
  readonly localAddress: string;
  readonly #readable: ReadableStream<TcpSocket>;
  #controller!: ReadableStreamDefaultController<TcpSocket>;
  readonly #stop: () => void;
  #resolveClosed!: () => void;
  #isClosed = false;

  /** @internal Use stack.listen(). */
  constructor(stack: Stack, options: ListenOptions) {
    this.localPort = options.port;
    this.localAddress = options.hostname ?? stack.wildcardAddress;
    this.#readable = new ReadableStream<TcpSocket>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => this.close(),
    });
    const hwm = options.readableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    let listener: StackListener;
    try {
      listener = stack.openListener(
        { port: options.port, address: options.hostname, backlog: options.backlog, ...connectionOptions(options) },
        (conn) => this.#controller.enqueue(new TcpSocket(conn, true, hwm)),
      );
    } catch (error) {
      if (isArgumentError(error) || !(error instanceof TcpwasmError)) throw rename(error);
      // EADDRINUSE, EADDRNOTAVAIL, a closed stack: opened rejects (Direct Sockets' TCPServerSocket), iteration ends.
      this.#stop = () => {};
      this.opened = quietly(Promise.reject(rename(error)));
      this.close();
      return;
    }
    this.#stop = () => listener.close();
    this.opened = Promise.resolve({ readable: this.#readable, localAddress: this.localAddress, localPort: this.localPort });
  }

  /** Stops listening; sockets already accepted stay open. Iteration ends. */
  close(): Promise<void> {
    if (!this.#isClosed) {
      this.#isClosed = true;
      this.#stop();
      try {
        this.#controller.close();
      } catch {
        // The stream was cancelled: already closed.
      }
      this.#resolveClosed();
    }
    return this.closed;
  }

  /** The next accepted socket, or undefined once the listener is closed. */
  async accept(): Promise<TcpSocket | undefined> {
    const reader = this.#readable.getReader();
    try {
      const r = await reader.read();
      return r.done ? undefined : r.value;
    } finally {
      reader.releaseLock();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TcpSocket> {
    const reader = this.#readable.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.releaseLock();
    }
  }
}

/**
 * @internal
 * stack.connect(): a TcpSocket connecting to `options.hostname`:`options.port`. Argument errors throw
 * at once; what the network or the stack refuses (ENOBUFS at the connection limit, EHOSTUNREACH,
 * EADDRINUSE, EADDRNOTAVAIL, a closed stack) rejects `opened` and `closed`, as Direct Sockets does.
 * A name is resolved by the stack's resolver (src/services/resolve-host.ts; ENOTFOUND, EAI_AGAIN
 * reject `opened`) and its addresses tried in turn (src/tcp/dial.ts).
 */
export function connectSocket(stack: Stack, options: SocketOptions): TcpSocket {
  validateSocketOptions(options, SOCKET_OPTIONS);
  validateString(options.hostname, "options.hostname");
  validatePort(options.port, "options.port");
  const hostname = options.hostname.startsWith("[") && options.hostname.endsWith("]") ? options.hostname.slice(1, -1) : options.hostname;
  const hwm = options.readableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (options.signal !== undefined) validateSignal(options.signal, "options.signal");
  if (options.timeout !== undefined) validateConnectTimeout(options.timeout, "options.timeout");
  const limits = { timers: stack.timers, signal: options.signal, timeout: options.timeout };
  // Aborted already: nothing is opened (an AbortSignal checked before the work, as fetch does).
  if (options.signal?.aborted) return new TcpSocket(undefined, false, hwm, aborted(options.signal));
  const open = (remote: string) => stack.openConnection({
    remote, remotePort: options.port, local: options.localAddress, localPort: options.localPort, ...connectionOptions(options),
  });
  if (addressLiteral(hostname) === null) {
    if (hostname === "") invalidValue("options.hostname", hostname, "must be an IP address or a host name");
    // Checked now, as for an address: a wrong argument throws, it does not wait for the resolver.
    const local = options.localAddress === undefined ? undefined : validateAddress(options.localAddress, "options.localAddress");
    if (options.localPort !== undefined) validatePort(options.localPort, "options.localPort", true);
    return new TcpSocket(undefined, false, hwm, undefined, (ready, fail) => dialName(stack, hostname, local?.version ?? 0, open, ready, fail), limits);
  }
  let conn: StackConnection;
  try {
    conn = open(hostname);
  } catch (error) {
    if (isArgumentError(error) || !(error instanceof TcpwasmError)) throw rename(error);
    return new TcpSocket(undefined, false, hwm, rename(error) as TcpwasmError);
  }
  return new TcpSocket(conn, false, hwm, undefined, undefined, limits);
}

/** Resolves `hostname` and tries its addresses in order; returns the cancel function TcpSocket keeps. */
function dialName(
  stack: Stack,
  hostname: string,
  family: AddressFamily,
  open: (remote: string) => StackConnection,
  ready: (conn: StackConnection) => void,
  fail: (error: TcpwasmError) => void,
): () => void {
  let cancelled = false;
  let attempt: Dial | undefined;
  resolveHost(stack, hostname, family).then(
    (addresses) => {
      if (cancelled) return;
      attempt = dial(addresses, open, { connected: (conn) => ready(conn), failed: (error) => fail(rename(error) as TcpwasmError) });
    },
    (error: unknown) => {
      if (!cancelled) fail(error instanceof TcpwasmError ? error : new TcpwasmError("EAI_AGAIN", `${hostname}: ${String(error)}`));
    },
  );
  return () => {
    cancelled = true;
    attempt?.cancel();
  };
}

/** The stack names the Web face's options by its own names: say them as the caller wrote them. */
function rename(error: unknown): unknown {
  if (!(error instanceof TcpwasmError)) return error;
  const names: [RegExp, string][] = [[/options\.remotePort\b/g, "options.port"], [/options\.remote\b/g, "options.hostname"],
    [/options\.local\b/g, "options.localAddress"], [/options\.address\b/g, "options.hostname"]];
  let message = error.message;
  for (const [from, to] of names) message = message.replace(from, to);
  if (message === error.message) return error;
  return new TcpwasmError(error.code, message.slice(error.code.length + 2));
}

/** @internal stack.listen(): a TcpListener on `options.port`. */
export function listenSocket(stack: Stack, options: ListenOptions): TcpListener {
  validateSocketOptions(options, LISTEN_OPTIONS);
  validatePort(options.port, "options.port");
  if (options.hostname !== undefined) validateString(options.hostname, "options.hostname");
  if (options.backlog !== undefined) validateInteger(options.backlog, "options.backlog", 0, 0xffffffff);
  return new TcpListener(stack, options);
}

/** The Web face bound to one stack, as bindNet binds node:net's shape. */
export interface BoundWeb {
  /**
   * A socket shaped like Direct Sockets' TCPSocket (connectSocket).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options; refusals by the network or the stack reject `opened` instead.
   */
  connect(options: SocketOptions): TcpSocket;
  /**
   * An async iterable of incoming TcpSockets (listenSocket).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options.
   */
  listen(options: ListenOptions): TcpListener;
}

/**
 * The Web face on `stack`.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `stack` is a Stack from createStack.
 */
export function bindWeb(stack: Stack): BoundWeb {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
  return {
    connect: (options) => connectSocket(stack, options),
    listen: (options) => listenSocket(stack, options),
  };
}

// stack.connect and stack.listen, as README documents them: the face adds them to the Stack class.
declare module "../tcp/stack.js" {
  interface Stack {
    /** The Web face (src/faces/web.ts): a socket shaped like Direct Sockets' TCPSocket. */
    connect(options: SocketOptions): TcpSocket;
    /** The Web face: an async iterable of incoming TcpSockets. */
    listen(options: ListenOptions): TcpListener;
  }
}

/**
 * @internal The Stack class once stack.connect and stack.listen are on it. Run as this module loads,
 * but marked pure: a bundler keeps it, and the face behind it, only where a kept function names it
 * (the entries' createStack and the gateways, src/faces/stack-methods.ts), so a page that makes no
 * stack (loadWire alone) does not carry the stack, the faces and DNS for a prototype change.
 */
export const StackWithWebFace = /* @__PURE__ */ (() => {
  Object.defineProperties(Stack.prototype, {
    connect: {
      value: function connect(this: Stack, options: SocketOptions): TcpSocket {
        return connectSocket(this, options);
      },
      writable: true,
      configurable: true,
    },
    listen: {
      value: function listen(this: Stack, options: ListenOptions): TcpListener {
        return listenSocket(this, options);
      },
      writable: true,
      configurable: true,
    },
  });
  return Stack;
})();
