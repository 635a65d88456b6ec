// The Node face's Socket: a stream.Duplex over a stack's connection with net.Socket's events and
// members (the face's contract is at the top of src/faces/node-net.ts).
import { Duplex } from "node:stream";
import { isIP } from "node:net";
import { TcpwasmError } from "../core/errors.js";
import type { ConnectionStatus } from "../core/status.js";
import type { Stack, StackConnection } from "../tcp/stack.js";
import { PendingWrite } from "../tcp/pending-write.js";
import { dial, type Dial } from "../tcp/dial.js";
import { aborted, validateSignal, watchConnect, type ConnectWatch } from "../tcp/connect-watch.js";
import { resolveHost } from "../services/resolve-host.js";
import { argumentError, optionsObject, validateFunction, validateInteger, validateNumber } from "../core/validate.js";
import { LookupError, NetError, toLookupError, toNetError } from "./node-errors.js";
import {
  familyNumber, familyOf, normalizeConnectArgs, validateConnectOptions, validateStack, validateTimeout,
  type Family, type IpcConnectOptions, type KeepAliveOptions, type LookupAddress, type LookupFunction, type OnReadOptions, type SocketConnectOptions, type SocketConstructorOptions,
} from "./node-args.js";

const RESOLVED = /* @__PURE__ */ Promise.resolve();

/**
 * The largest chunk a read pushes, as net.Socket's 64 KiB reads. Each chunk is memory of its own
 * (Buffer.allocUnsafe: not zero-filled, since it is written at once; a small one is a slice of Node's
 * shared pool, never handed out twice), so the reader may keep it. That memory is what the face costs
 * most: V8 frees a dropped chunk only at a collection, which external memory triggers about every
 * 64 MiB, so each chunk is written into memory long out of cache, sometimes freshly faulted in.
 * Reading into one reused buffer instead (not allowed: it would rewrite chunks a reader kept) took
 * 0.66x the CPU time of these chunks (paired runs of 32 MiB over the memory link, median of 29).
 * Every allowed layout measured did no better, since they all write the same bytes into fresh memory:
 * 64 KiB views cut from 256 KiB slabs 1.0x, from 1 MiB slabs more page faults and more time (glibc
 * maps each slab afresh), exactly 128 KiB worse (glibc's mmap threshold), zero-filled new Uint8Array
 * 1.09x. Whatever is readable up to 256 KiB gave 0.83-0.99x in three sets of runs, within this
 * machine's noise (most reads are one 64 KiB segment anyway), and is not worth chunks larger than
 * net.Socket's.
 * A reader that keeps nothing can say so with `onread` (no chunk at all).
 */
const READ_CHUNK = 64 * 1024;

/**
 * 'close' once the 'error' that destroy(error) emits on the next tick has been seen and every promise
 * continuation after it has run: a tick (behind the error's), then a microtask (behind the
 * continuations that 'error' or 'end' released), then a tick (behind the whole microtask queue). So
 * code that awaits 'error' or 'end' can still attach a 'close' listener, as with node:net, whose
 * 'close' comes from the handle's close callback later in the same event-loop turn; a setImmediate
 * would cost a whole loop turn (an epoll_wait) per socket.
 */
function emitCloseLater(socket: Socket, hadError: boolean): void {
  process.nextTick(() => RESOLVED.then(() => process.nextTick(() => socket.emit("close", hadError))));
}

/**
 * The stack's resolver (StackOptions.dns) as a dns.lookup-shaped function: what a Socket looks a name
 * up with when connect() is given no `lookup`.
 */
function stackLookup(stack: Stack): LookupFunction {
  return (hostname, options, callback) => {
    resolveHost(stack, hostname, familyNumber(options.family)).then(
      (addresses) => callback(null, addresses.map((address) => ({ address, family: isIP(address) }))),
      (error: unknown) => callback(toLookupError(error, hostname), []),
    );
  };
}

/**
 * A stack error met connecting, in node:net's shape ("connect ECONNREFUSED 10.0.0.2:80"); one that
 * openConnection threw (`atOpen`) keeps the stack's reason (which local address is not ours, which
 * destination no link routes).
 */
function connectError(error: unknown, address: string | undefined, port: number, atOpen: boolean): Error {
  return atOpen && error instanceof TcpwasmError && !(error instanceof NetError)
    ? new NetError(error.code, "connect", address, port, error.message.slice(error.code.length + 2))
    : toNetError(error, "connect", address, port);
}

/** @internal The server's bookkeeping, run when a socket it accepted is destroyed (before its 'close', as node:net). */
export const destroyHooks = new WeakMap<Socket, () => void>();

/**
 * node:net's Socket on a tcpwasm stack: a stream.Duplex with net.Socket's events, half-close,
 * timeouts and options. Made by connect() / createConnection(), `new Socket()` (bindNet), or a Server.
 */
export class Socket extends Duplex {
  /** True from connect() until 'connect' (or failure). */
  connecting = false;
  readonly #stack: Stack;
  #conn: StackConnection | undefined;
  /** The attempts at a name's addresses, while they go on (#lookupAndDial). */
  #dialling: Dial | undefined;
  /** _read was called before there was a connection to resume. */
  #readWanted = false;
  /** The address and port connect() was given (what remoteAddress shows once connected, on failure too). */
  #dialled: { address: string; port: number } | undefined;
  /** The connection's endpoints, kept after it is released; their text is formatted on first read. */
  #ends: StackConnection | undefined;
  #noDelay: boolean | undefined;
  /** setKeepAlive's values (0: the engine's default). */
  #keepAlive: { enable: boolean; initialDelay: number; interval: number; count: number } | undefined;
  /** setTypeOfService's byte (undefined: never set; the engine sends 0). */
  #tos: number | undefined;
  /** "address:port" of each connection attempt, in order (net.Socket.autoSelectFamilyAttemptedAddresses). */
  readonly #attempted: string[] = [];
  #reset = false;
  #bytesRead = 0;
  #bytesTaken = 0;
  /** The write waiting for room in the send ring; its `taken` bytes are still counted in writableLength. */
  readonly #writes = new PendingWrite(
    (n) => {
      this.#bytesTaken += n;
      if (this.#timeoutMs > 0) this.#active();
    },
    (error) => toNetError(error, "write"),
  );
  #timeoutMs = 0;
  /** The connect timeout (options.connectTimeout) while connecting. */
  #connectWatch: ConnectWatch | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastActive = 0;
  #refed = true;
  /** node:net's `onread`: reads go into the caller's memory instead of the stream. */
  readonly #onread: OnReadOptions | undefined;

  /**
   * An unconnected socket on `stack` (call connect()); bindNet's `Socket` binds the stack.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE for a bad stack or options.
   */
  constructor(stack: Stack, options?: SocketConstructorOptions) {
    validateStack(stack);
    options = optionsObject(options, "options");
    super({
      allowHalfOpen: Boolean(options.allowHalfOpen),
      // 'close' is emitted by _destroy with net.Socket's hadError argument.
      emitClose: false,
      autoDestroy: true,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
    });
    this.#stack = stack;
    // As node:net, an `onread` of any other shape is ignored.
    const onread = options.onread as Partial<OnReadOptions> | null | undefined;
    if (typeof onread === "object" && onread !== null && (onread.buffer instanceof Uint8Array || typeof onread.buffer === "function") && typeof onread.callback === "function") {
      this.#onread = { buffer: onread.buffer, callback: onread.callback };
    }
    if (options.signal !== undefined) this.#watchSignal(options.signal);
    // Typed by src/faces/node-server.ts, which sets it on the sockets a Server accepts.
    this.server = null;
  }

  /** As node:net's addAbortSignal: an aborted signal destroys the socket (at once if it already has). */
  #watchSignal(signal: AbortSignal): void {
    validateSignal(signal, "options.signal");
    if (signal.aborted) {
      this.destroy(aborted(signal));
      return;
    }
    const onAbort = (): void => {
      this.destroy(aborted(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this.once("close", () => signal.removeEventListener("abort", onAbort));
  }

  /**
   * Active open: `connect(options[, listener])`. What the network refuses arrives as an 'error' event, as in node:net.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE or ERR_SOCKET_BAD_PORT for bad
   * options, ERR_FEATURE_UNAVAILABLE_ON_PLATFORM for node:net's IPC form (`path`), EISCONN when connected already.
   */
  connect(options: SocketConnectOptions | IpcConnectOptions, connectListener?: () => void): this;
  /** Active open to `host` ("localhost" when left out: the stack's loopback addresses, ::1 then 127.0.0.1). */
  connect(port: number, host?: string, connectListener?: () => void): this;
  /** Active open to "localhost" (the stack's loopback addresses, ::1 then 127.0.0.1), as node:net's `connect(port)`. */
  connect(port: number, connectListener?: () => void): this;
  /**
   * node:net's IPC form: a stack carries TCP/IP only, so it throws (a string of digits is a port, as in node:net).
   * @throws TcpwasmError ERR_FEATURE_UNAVAILABLE_ON_PLATFORM.
   */
  connect(path: string, connectListener?: () => void): this;
  connect(...args: unknown[]): this {
    const normalized = normalizeConnectArgs(args);
    const { options, port, host } = validateConnectOptions(normalized.options);
    const listener = normalized.listener;
    if (this.#conn || this.connecting) throw new TcpwasmError("EISCONN", "the socket is already connected");
    // Destroyed already (an aborted signal): nothing is opened, the 'error' and 'close' are on their way.
    if (this.destroyed) return this;
    if (listener) this.once("connect", listener);
    if (options.connectTimeout !== undefined) {
      this.#connectWatch = watchConnect(this.#stack.timers, undefined, options.connectTimeout, () => {
        if (this.connecting) this.destroy(new NetError("ETIMEDOUT", "connect", host, port));
      });
    }
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (options.noDelay) this.#noDelay = true;
    if (options.keepAlive) this.#keepAlive = { enable: true, initialDelay: options.keepAliveInitialDelay ?? 0, interval: 0, count: 0 };
    this.connecting = true;
    this.#dialled = { address: host, port };
    this.#active();
    const open = (remote: string) => this.#stack.openConnection({
      remote,
      remotePort: port,
      local: options.localAddress,
      localPort: options.localPort,
      ...(options.sendBufferSize !== undefined ? { sendBuffer: options.sendBufferSize } : {}),
      ...(options.receiveBufferSize !== undefined ? { recvBuffer: options.receiveBufferSize } : {}),
      // Set before connect: the SYN already carries it, as IP_TOS set on an unconnected socket.
      ...(this.#tos !== undefined ? { tos: this.#tos } : {}),
    });
    // A name is looked up first; an address never is (as node:net).
    if (isIP(host) === 0) {
      this.#lookupAndDial(options, host, port, (remote) => {
        const conn = open(remote);
        // Each attempt keeps the process alive as the socket would (unref() before connect counts).
        if (!this.#refed) conn.unref();
        return conn;
      });
      return this;
    }
    let conn: StackConnection;
    this.#attempted.push(`${host}:${port}`);
    try {
      conn = open(host);
    } catch (error) {
      // node:net reports connect errors asynchronously, as 'error' then 'close'(true).
      const err = connectError(error, host, port, true);
      process.nextTick(() => this.destroy(err));
      return this;
    }
    this.#attach(conn);
    conn.onConnect = () => this.#onConnected();
    return this;
  }

  /**
   * node:net's connect to a name: `lookup(host, { family, hints, all: true }, callback)`, a 'lookup'
   * event per address, then each address in turn ('connectionAttempt', 'connectionAttemptFailed')
   * until one connects (src/tcp/dial.ts: in the lookup's order, no Happy Eyeballs racing); the error
   * is the last attempt's.
   */
  #lookupAndDial(options: SocketConnectOptions, host: string, port: number, open: (remote: string) => StackConnection): void {
    const local = options.localAddress === undefined ? 0 : isIP(options.localAddress);
    const family = familyNumber(options.family) || (local as 0 | 4 | 6);
    const lookup = options.lookup ?? stackLookup(this.#stack);
    let answered = false;
    const onLookup = (error: Error | null, found?: string | LookupAddress[]): void => {
      // A lookup that calls back twice, or after the socket was destroyed, is not heard.
      if (answered) return;
      answered = true;
      if (!this.connecting || this.destroyed) return;
      if (error) {
        this.emit("lookup", error, undefined, undefined, host);
        this.destroy(error);
        return;
      }
      // dns.lookup's two answers: one address (and its family), or with `all` a list of them.
      const list: LookupAddress[] = typeof found === "string" ? [{ address: found, family: isIP(found) }] : Array.isArray(found) ? found : [];
      for (const a of list) {
        if (typeof a?.address !== "string" || isIP(a.address) === 0) {
          this.destroy(argumentError("ERR_INVALID_IP_ADDRESS", `Invalid IP address: ${a?.address}`));
          return;
        }
      }
      if (list.length === 0) {
        const err = new LookupError("ENOTFOUND", host);
        this.emit("lookup", err, undefined, undefined, host);
        this.destroy(err);
        return;
      }
      for (const a of list) {
        this.emit("lookup", null, a.address, isIP(a.address), host);
        if (!this.connecting || this.destroyed) return;
      }
      this.#dialling = dial(list.map((a) => a.address), open, {
        attempt: (address) => {
          this.#attempted.push(`${address}:${port}`);
          this.emit("connectionAttempt", address, port, isIP(address));
        },
        attemptFailed: (address, err, atOpen) => this.emit("connectionAttemptFailed", address, port, isIP(address), connectError(err, address, port, atOpen)),
        connected: (conn) => {
          this.#dialling = undefined;
          this.#attach(conn);
          if (this.#readWanted) conn.resume();
          this.#onConnected();
        },
        failed: (err, address, atOpen) => {
          this.#dialling = undefined;
          this.destroy(connectError(err, address, port, atOpen));
        },
      });
    };
    try {
      lookup(host, { family, hints: options.hints ?? 0, all: true }, onLookup);
    } catch (error) {
      process.nextTick(() => this.destroy(error as Error));
    }
  }

  /** @internal Adopts a connection a listener accepted. */
  accept(conn: StackConnection, pauseOnConnect: boolean): void {
    this.#attach(conn);
    this.#applyOptions();
    // Start reading after the 'connection' listeners ran and their own next ticks ('resume'), as
    // node:net, whose first read comes from a later turn of the event loop.
    if (!pauseOnConnect) process.nextTick(() => this.read(0));
  }

  #attach(conn: StackConnection): void {
    this.#conn = conn;
    if (!this.#refed) conn.unref();
    this.#ends = conn;
    // Nothing is read until the stream asks (_read), as net.Socket reads only when it may push.
    conn.pause();
    const onread = this.#onread;
    conn.onReadable = onread ? () => this.#readInto(conn, onread) : () => {
      // Straight from the receive ring into a Buffer of the chunk's own, which the reader may keep.
      const chunk = Buffer.allocUnsafe(Math.min(conn.readableBytes(), READ_CHUNK));
      const n = conn.readInto(chunk);
      if (n === 0) return;
      this.#bytesRead += n;
      if (this.#timeoutMs > 0) this.#active();
      if (!this.push(chunk)) conn.pause();
    };
    conn.onEnd = () => {
      // As net.Socket at EOF: read(0) lets 'end' come even when nobody consumes the stream.
      this.push(null);
      this.read(0);
    };
    conn.onWritable = () => this.#writes.flush(conn);
    conn.onClose = (error) => this.#onConnectionClosed(error);
  }

  /** One read for `onread`: straight from the receive ring into the caller's memory, no chunk at all. */
  #readInto(conn: StackConnection, onread: OnReadOptions): void {
    const buffer = typeof onread.buffer === "function" ? onread.buffer() : onread.buffer;
    if (!(buffer instanceof Uint8Array)) {
      // API misuse, met inside the stack's pump: the socket ends with the error instead of a throw there.
      this.destroy(new TcpwasmError("ERR_INVALID_RETURN_VALUE", `onread.buffer() must return a Uint8Array; got ${buffer === null ? "null" : typeof buffer}`));
      return;
    }
    const n = conn.readInto(buffer);
    if (n === 0) return;
    this.#bytesRead += n;
    if (this.#timeoutMs > 0) this.#active();
    if (onread.callback.call(undefined, n, buffer) === false) this.pause();
  }

  /** Stops reading (stream.Readable.pause); with `onread` the connection stops too, as node:net stops its handle. */
  override pause(): this {
    if (this.#onread) this.#conn?.pause();
    return super.pause();
  }

  /** Reads again after pause() (stream.Readable.resume). */
  override resume(): this {
    if (this.#onread) this.#conn?.resume();
    return super.resume();
  }

  #onConnected(): void {
    const conn = this.#conn!;
    this.connecting = false;
    this.#connectWatch?.connected();
    this.#applyOptions();
    this.#active();
    this.emit("connect");
    this.emit("ready");
    if (!this.isPaused()) this.read(0);
  }

  #applyOptions(): void {
    const conn = this.#conn!;
    if (this.#noDelay !== undefined) conn.setNoDelay(this.#noDelay);
    if (this.#keepAlive) this.#applyKeepAlive(conn);
    if (this.#tos !== undefined) conn.setOptions({ tos: this.#tos });
  }

  #onConnectionClosed(error: TcpwasmError | undefined): void {
    // The stack released the handle: nothing more to release in _destroy.
    const wasConnecting = this.connecting;
    this.#conn = undefined;
    this.connecting = false;
    if (error?.code === "ERR_SOCKET_CLOSED") {
      // The stack itself was closed: a teardown, like destroy(), not a network failure.
      this.destroy();
      return;
    }
    if (error) {
      const remote = this.#dialled;
      const err = wasConnecting
        ? toNetError(error, "connect", remote?.address, remote?.port)
        : toNetError(error, error.code === "EPIPE" ? "write" : "read");
      this.destroy(err);
      return;
    }
    // Both FINs went through: the stream has its end and its finish, and destroys itself. A write
    // still waiting for room can never complete.
    if (this.#writes.waiting) this.#writes.fail(new NetError("EPIPE", "write"));
  }

  /** @internal stream.Duplex's read hook. */
  _read(): void {
    if (this.#conn) this.#conn.resume();
    // Still looking a name up: the stream waits for a push, so the connection must start reading once there.
    else this.#readWanted = true;
  }

  /** @internal stream.Duplex's write hook. */
  _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      // As net.Socket: writes made while connecting go out once connected.
      this.once("connect", () => this._write(chunk, encoding, callback));
      return;
    }
    // The stream calls _write again only after `callback`, so no other write is pending here.
    this.#writes.push(chunk);
    this.#startWrite(callback);
  }

  /** @internal stream.Duplex's batched write hook. */
  _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.once("connect", () => this._writev(chunks, callback));
      return;
    }
    for (const c of chunks) this.#writes.push(c.chunk);
    this.#startWrite(callback);
  }

  #startWrite(callback: (error?: Error | null) => void): void {
    const conn = this.#conn;
    if (!conn) {
      this.#writes.discard();
      callback(new NetError("EPIPE", "write"));
      return;
    }
    let over: boolean;
    try {
      over = this.#writes.run(conn);
    } catch (error) {
      callback(toNetError(error, "write"));
      return;
    }
    if (over) callback();
    else this.#writes.wait(callback as (error?: unknown) => void); // onWritable resumes
  }

  /** @internal stream.Duplex's end hook: sends FIN. */
  _final(callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.once("connect", () => this._final(callback));
      return;
    }
    const conn = this.#conn;
    if (!conn) {
      callback(new NetError("ENOTCONN", "shutdown"));
      return;
    }
    conn.end();
    callback();
  }

  /** @internal stream.Duplex's destroy hook. */
  _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer();
    this.#connectWatch?.dispose();
    this.#connectWatch = undefined;
    this.connecting = false;
    this.#dialling?.cancel();
    this.#dialling = undefined;
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn && !conn.isClosed) {
      if (this.#reset) conn.abort();
      // Like close(2): the engine finishes on its own (FIN, or RST when received data is unread).
      conn.release();
    }
    if (this.#writes.waiting) this.#writes.fail(error ?? new NetError("ECONNRESET", "write"));
    destroyHooks.get(this)?.();
    destroyHooks.delete(this);
    callback(error);
    emitCloseLater(this, error != null);
  }

  /** Sends RST instead of FIN, then destroys the socket. */
  resetAndDestroy(): this {
    this.#reset = true;
    return this.destroy();
  }

  /** end(), then destroy once everything was written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  // ---- options ----

  /** Nagle's algorithm off (true, the default) or on, as net.Socket.setNoDelay. */
  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    if (this.#conn && !this.connecting) this.#conn.setNoDelay(noDelay);
    return this;
  }

  /**
   * Keepalive (RFC 1122 4.2.3.6) from an options object, as net.Socket.setKeepAlive({ enable, initialDelay, interval, count }).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE for a delay, interval or count that is not a number >= 0.
   */
  setKeepAlive(options: KeepAliveOptions): this;
  /**
   * Keepalive on or off, first probe after `initialDelay` ms idle, then one every `interval` ms, failing
   * after `count` unanswered (each 0 or left out: the engine's default), as net.Socket.setKeepAlive.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE for a delay, interval or count that is not a number >= 0.
   */
  setKeepAlive(enable?: boolean, initialDelay?: number, interval?: number, count?: number): this;
  setKeepAlive(enable: boolean | KeepAliveOptions = false, initialDelay = 0, interval = 0, count = 0): this {
    const o: KeepAliveOptions = typeof enable === "object" && enable !== null ? enable : { enable, initialDelay, interval, count };
    const at = (value: number | undefined, name: string): number => {
      if (value === undefined) return 0;
      validateNumber(value, name, 0, 0xffffffff);
      return Math.floor(value);
    };
    this.#keepAlive = {
      enable: Boolean(o.enable),
      initialDelay: at(o.initialDelay, "initialDelay"),
      interval: at(o.interval, "interval"),
      count: at(o.count, "count"),
    };
    if (this.#conn && !this.connecting) this.#applyKeepAlive(this.#conn);
    return this;
  }

  #applyKeepAlive(conn: StackConnection): void {
    const k = this.#keepAlive!;
    conn.setKeepAlive(k.enable, k.initialDelay);
    if (k.interval >= 1 || k.count >= 1) {
      conn.setOptions({ ...(k.interval >= 1 ? { keepaliveIntervalMs: k.interval } : {}), ...(k.count >= 1 ? { keepaliveCount: k.count } : {}) });
    }
  }

  /**
   * The IPv4 TOS byte or IPv6 Traffic Class of the packets this socket sends (RFC 791 3.1, RFC 8200 7),
   * as net.Socket.setTypeOfService: before connecting the value is kept and the SYN carries it.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE for a non-number, ERR_OUT_OF_RANGE outside 0..255 or not an integer.
   */
  setTypeOfService(tos: number): this {
    validateInteger(tos, "tos", 0, 255);
    this.#tos = tos;
    if (this.#conn) this.#conn.setOptions({ tos });
    return this;
  }

  /** The value setTypeOfService set (0 when none), connected or not (net.Socket.getTypeOfService). */
  getTypeOfService(): number {
    return this.#tos ?? 0;
  }

  /** 'timeout' after `ms` without reading or writing (0 disables); the socket stays open. */
  setTimeout(ms: number, callback?: () => void): this {
    validateTimeout(ms, "msecs");
    if (callback !== undefined) validateFunction(callback, "callback");
    this.#timeoutMs = ms;
    if (callback) {
      if (this.#timeoutMs === 0) this.off("timeout", callback);
      else this.once("timeout", callback);
    }
    this.#clearTimer();
    if (this.#timeoutMs > 0) {
      this.#lastActive = performance.now();
      this.#armTimer(this.#timeoutMs);
    }
    return this;
  }

  /** The idle timeout set by setTimeout(), ms (undefined when none). */
  get timeout(): number | undefined {
    return this.#timeoutMs > 0 ? this.#timeoutMs : undefined;
  }

  /** Lets the open socket keep the process alive again (net.Socket.ref; the default). */
  ref(): this {
    this.#refed = true;
    this.#conn?.ref();
    this.#dialling?.current?.ref();
    this.#timer?.ref();
    return this;
  }

  /** Lets the process exit while only this socket is open (net.Socket.unref). */
  unref(): this {
    this.#refed = false;
    this.#conn?.unref();
    this.#dialling?.current?.unref();
    this.#timer?.unref();
    return this;
  }

  #active(): void {
    if (this.#timeoutMs === 0) return;
    this.#lastActive = performance.now();
    if (this.#timer === undefined && !this.destroyed) this.#armTimer(this.#timeoutMs);
  }

  #armTimer(ms: number): void {
    this.#timer = setTimeout(() => this.#onTimer(), ms);
    if (!this.#refed) this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.destroyed || this.#timeoutMs === 0) return;
    // Activity only records a time; the timer checks it when it fires, so a busy socket costs nothing.
    const idle = performance.now() - this.#lastActive;
    if (idle + 1 < this.#timeoutMs) {
      this.#armTimer(this.#timeoutMs - idle);
      return;
    }
    this.emit("timeout"); // re-armed by the next activity, as net.Socket's refreshed timer
  }

  // ---- members ----

  /** Bytes received so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes handed to write(), including those still queued in the stream (as net.Socket counts). */
  get bytesWritten(): number {
    return this.#bytesTaken + this.writableLength - this.#writes.taken;
  }

  /** @deprecated As net.Socket.bufferSize: use writableLength. */
  get bufferSize(): number {
    return this.writableLength;
  }

  /**
   * The "address:port" of every connection attempt so far, in order (a name's addresses are tried one
   * after another, src/tcp/dial.ts; an address connects in one attempt), as net.Socket's.
   */
  get autoSelectFamilyAttemptedAddresses(): string[] {
    return [...this.#attempted];
  }

  /** True until connected (net.Socket.pending). */
  get pending(): boolean {
    return this.#conn === undefined || this.connecting;
  }

  /** net.Socket's readyState: which directions are open. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable && !this.writable) return "readOnly";
    if (!this.readable && this.writable) return "writeOnly";
    return "closed";
  }

  /** The peer's address, once connected. */
  get remoteAddress(): string | undefined {
    if (this.connecting) return undefined;
    return this.#ends?.remoteAddress ?? this.#dialled?.address;
  }

  /** The peer's port, once connected. */
  get remotePort(): number | undefined {
    if (this.connecting) return undefined;
    return this.#ends?.remotePort ?? this.#dialled?.port;
  }

  /** "IPv4" or "IPv6", once connected. */
  get remoteFamily(): Family | undefined {
    const a = this.remoteAddress;
    return a === undefined ? undefined : familyOf(a);
  }

  /** Our address, once connected. */
  get localAddress(): string | undefined {
    return this.#ends?.localAddress;
  }

  /** Our port, once connected. */
  get localPort(): number | undefined {
    return this.#ends?.localPort;
  }

  /** "IPv4" or "IPv6" of our address, once connected. */
  get localFamily(): Family | undefined {
    const a = this.#ends?.localAddress;
    return a === undefined ? undefined : familyOf(a);
  }

  /** Our address, family and port (net.Socket.address); {} before connecting. */
  address(): { address: string; family: Family; port: number } | Record<string, never> {
    const l = this.#ends;
    return l ? { address: l.localAddress, family: familyOf(l.localAddress), port: l.localPort } : {};
  }

  /** The engine's STATUS record (RFC 9293 3.10.6) of this connection, like Linux's TCP_INFO; undefined once closed. */
  tcpStatus(): ConnectionStatus | undefined {
    const conn = this.#conn;
    return conn && !conn.isClosed ? conn.status() : undefined;
  }
}
