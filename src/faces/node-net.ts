// The Node face (tcpwasm/node): node:net's own shape bound to a stack (STYLE.md rule 9).
//
//   import { bindNet } from "tcpwasm/node";
//   const net = bindNet(stack);                       // { createServer, connect, createConnection, Socket, Server }
//   net.createServer((socket) => socket.pipe(socket)).listen(7, () => ...);
//   const socket = net.connect({ host: "10.0.0.2", port: 7 }, () => socket.end("hi"));
//   http.request({ createConnection: () => net.connect({ host, port }), ... });   // Node's http, unmodified
//
// A Socket is a real stream.Duplex with net.Socket's events ('connect', 'ready', 'data', 'end',
// 'close'(hadError), 'error', 'timeout', 'drain') and members. What differs from node:net, because a
// stack has no resolver and no file descriptors: `host` must be an IP address, and ref()/unref() only
// govern the socket's own idle timer (the stack's timer and links keep a process alive, or not).
//
// Backpressure both ways:
// - Writing: `_write` calls back only once every byte is in the engine's send ring; a full ring waits
//   for the connection's writable callback. So write() returns false and 'drain' comes exactly as
//   with a kernel socket whose buffer is full.
// - Reading: when push() returns false the connection is paused (ws lib/stream.js style): unread data
//   stays in the receive ring and the window advertised to the peer shrinks; `_read` resumes it.
//
// Closing follows net.Socket: end() sends FIN after the queued data (half-close); with allowHalfOpen
// false (the default) the peer's FIN ends our side too; once both sides are done the socket is
// destroyed and its handle released, the engine finishing the protocol itself (LAST-ACK, TIME-WAIT),
// as a kernel does after close(2). destroy() releases at once (FIN, or RST if received data is left
// unread); resetAndDestroy() sends RST. Closing the stack destroys its sockets without an 'error'.
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";
import { constants as osConstants } from "node:os";
import { isIP } from "node:net";
import { TcpwasmError, type ErrorCode } from "../core/errors.js";
import type { ConnectionStatus } from "../core/status.js";
import { Stack, type StackConnection, type StackListener } from "../tcp/stack.js";
import { PendingWrite } from "../tcp/pending-write.js";
import {
  argumentError, invalidType, invalidValue, optionsObject, received, validateFunction, validateInteger, validateNumber,
} from "../core/validate.js";

type Family = "IPv4" | "IPv6";

/** A TcpwasmError shaped like Node's system errors: `code`, `errno`, `syscall`, and the peer when known. */
export class NetError extends TcpwasmError {
  readonly errno: number | undefined;
  readonly syscall: string;
  readonly address: string | undefined;
  readonly port: number | undefined;
  constructor(code: ErrorCode, syscall: string, address?: string, port?: number, detail?: string) {
    super(code, detail ?? syscall);
    const n = (osConstants.errno as Record<string, number>)[code];
    this.errno = n === undefined ? undefined : -n;
    this.syscall = syscall;
    this.address = address;
    this.port = port;
    // Node's wording ("connect ECONNREFUSED 10.0.0.2:80"), so logs read the same as with node:net.
    const where = address === undefined ? "" : port === undefined ? ` ${address}` : ` ${address}:${port}`;
    this.message = `${syscall} ${code}${detail ? `: ${detail}` : ""}${where}`;
  }
}

/** The Node-shaped error for a stack error (a TcpwasmError) met during `syscall`. */
function toNetError(error: unknown, syscall: string, address?: string, port?: number): Error {
  if (error instanceof NetError) return error;
  if (error instanceof TcpwasmError) return new NetError(error.code, syscall, address, port);
  return error instanceof Error ? error : new Error(String(error));
}

function familyOf(address: string): Family {
  return address.includes(":") ? "IPv6" : "IPv4";
}

export interface SocketConstructorOptions {
  /** Keep the writable side open after the peer's FIN (node:net's allowHalfOpen). Default false. */
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

export interface SocketConnectOptions extends SocketConstructorOptions {
  port: number;
  /** An IPv4 or IPv6 address: a stack has no resolver. Default "127.0.0.1" is meaningless here, so required. */
  host: string;
  localAddress?: string;
  localPort?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Idle timeout in ms, as socket.setTimeout(). */
  timeout?: number;
  /** Send and receive ring sizes, bytes (the engine's defaults otherwise). */
  sendBufferSize?: number;
  receiveBufferSize?: number;
}

type ConnectArgs = [options: SocketConnectOptions, listener?: () => void] | [port: number, host: string, listener?: () => void];

function normalizeConnectArgs(args: unknown[]): { options: SocketConnectOptions; listener: (() => void) | undefined } {
  const last = args[args.length - 1];
  const listener = typeof last === "function" ? (last as () => void) : undefined;
  if (typeof args[0] === "object" && args[0] !== null) return { options: args[0] as SocketConnectOptions, listener };
  if (args[0] === undefined || typeof args[0] === "function") {
    throw argumentError("ERR_MISSING_ARGS", 'The "options" or "port" argument must be specified');
  }
  return { options: { port: args[0] as number, host: args[1] as string }, listener };
}

/** node:net's port check (ERR_SOCKET_BAD_PORT), but 0 is no destination or bind port here unless `allowZero`. */
function validateNetPort(value: unknown, name: string, allowZero: boolean): number {
  const min = allowZero ? 0 : 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > 65535) {
    throw argumentError("ERR_SOCKET_BAD_PORT", `${name} should be >= ${min} and <= 65535. Received ${received(value)}`);
  }
  return value;
}

/** node:net's idle timeout check (socket.setTimeout's `msecs`). */
function validateTimeout(value: unknown, name: string): number {
  validateNumber(value, name, 0);
  return value;
}

/** A name that is no IP address: the error node:net gives for a host its resolver cannot find (a stack has none). */
function notFound(host: string, syscall: string): NetError {
  return new NetError("ENOTFOUND", syscall, host, undefined, "a stack has no resolver: host must be an IPv4 or IPv6 address");
}

/** The checks node:net makes synchronously on connect's options (the rest fail as 'error' events). */
function validateConnectOptions(options: SocketConnectOptions): void {
  if (options.port === undefined) throw argumentError("ERR_MISSING_ARGS", 'The "options.port" argument must be specified');
  validateNetPort(options.port, "options.port", false);
  if (typeof options.host !== "string") invalidType("options.host", "of type string (an IPv4 or IPv6 address)", options.host);
  if (options.localAddress !== undefined && (typeof options.localAddress !== "string" || isIP(options.localAddress) === 0)) {
    throw argumentError("ERR_INVALID_IP_ADDRESS", `The "options.localAddress" property must be an IP address. Received ${received(options.localAddress)}`);
  }
  if (options.localPort !== undefined) {
    if (typeof options.localPort !== "number") invalidType("options.localPort", "of type number", options.localPort);
    validateNetPort(options.localPort, "options.localPort", true);
  }
  if (options.timeout !== undefined) validateTimeout(options.timeout, "options.timeout");
  if (options.keepAliveInitialDelay !== undefined && typeof options.keepAliveInitialDelay !== "number") {
    invalidType("options.keepAliveInitialDelay", "of type number", options.keepAliveInitialDelay);
  }
  if (options.sendBufferSize !== undefined) validateInteger(options.sendBufferSize, "options.sendBufferSize", 1024, 1 << 30);
  if (options.receiveBufferSize !== undefined) validateInteger(options.receiveBufferSize, "options.receiveBufferSize", 1024, 1 << 30);
}

function validateStack(stack: unknown): asserts stack is Stack {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
}

const RESOLVED = Promise.resolve();

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

/** The server's bookkeeping, run when a socket it accepted is destroyed (before its 'close', as node:net). */
const destroyHooks = new WeakMap<Socket, () => void>();

export class Socket extends Duplex {
  /** True from connect() until 'connect' (or failure). */
  connecting = false;
  /** The server that accepted this socket, if any. */
  server: Server | undefined;
  readonly #stack: Stack;
  #conn: StackConnection | undefined;
  /** The address and port connect() was given (what remoteAddress shows once connected, on failure too). */
  #dialled: { address: string; port: number } | undefined;
  /** The connection's endpoints, kept after it is released; their text is formatted on first read. */
  #ends: StackConnection | undefined;
  #noDelay: boolean | undefined;
  #keepAlive: { enable: boolean; initialDelay: number } | undefined;
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
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastActive = 0;
  #refed = true;

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
  }

  /** Active open: `connect(options[, listener])` or `connect(port, host[, listener])`. */
  connect(...args: ConnectArgs): this {
    const { options, listener } = normalizeConnectArgs(args);
    validateConnectOptions(options);
    if (this.#conn || this.connecting) throw new TcpwasmError("EISCONN", "the socket is already connected");
    if (listener) this.once("connect", listener);
    const { host, port } = options;
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (options.noDelay) this.#noDelay = true;
    if (options.keepAlive) this.#keepAlive = { enable: true, initialDelay: options.keepAliveInitialDelay ?? 0 };
    this.connecting = true;
    this.#dialled = { address: host, port };
    this.#active();
    let conn: StackConnection;
    try {
      if (isIP(host) === 0) throw notFound(host, "getaddrinfo");
      conn = this.#stack.openConnection({
        remote: host,
        remotePort: port,
        local: options.localAddress,
        localPort: options.localPort,
        ...(options.sendBufferSize !== undefined ? { sendBuffer: options.sendBufferSize } : {}),
        ...(options.receiveBufferSize !== undefined ? { recvBuffer: options.receiveBufferSize } : {}),
      });
    } catch (error) {
      // node:net reports connect errors asynchronously, as 'error' then 'close'(true); the stack's
      // reason (which local address is not ours, which destination no link routes) is kept.
      const err = error instanceof TcpwasmError && !(error instanceof NetError)
        ? new NetError(error.code, "connect", host, port, error.message.slice(error.code.length + 2))
        : toNetError(error, "connect", host, port);
      process.nextTick(() => this.destroy(err));
      return this;
    }
    this.#attach(conn);
    conn.onConnect = () => this.#onConnected();
    return this;
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
    this.#ends = conn;
    // Nothing is read until the stream asks (_read), as net.Socket reads only when it may push.
    conn.pause();
    conn.onData = (chunk) => {
      this.#bytesRead += chunk.length;
      if (this.#timeoutMs > 0) this.#active();
      if (!this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) conn.pause();
    };
    conn.onEnd = () => {
      // As net.Socket at EOF: read(0) lets 'end' come even when nobody consumes the stream.
      this.push(null);
      this.read(0);
    };
    conn.onWritable = () => this.#writes.flush(conn);
    conn.onClose = (error) => this.#onConnectionClosed(error);
  }

  #onConnected(): void {
    const conn = this.#conn!;
    this.connecting = false;
    this.#applyOptions();
    this.#active();
    this.emit("connect");
    this.emit("ready");
    if (!this.isPaused()) this.read(0);
  }

  #applyOptions(): void {
    const conn = this.#conn!;
    if (this.#noDelay !== undefined) conn.setNoDelay(this.#noDelay);
    if (this.#keepAlive) conn.setKeepAlive(this.#keepAlive.enable, this.#keepAlive.initialDelay);
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

  _read(): void {
    this.#conn?.resume();
  }

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

  _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer();
    this.connecting = false;
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

  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    if (this.#conn && !this.connecting) this.#conn.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.#keepAlive = { enable, initialDelay: Math.floor(initialDelay) };
    if (this.#conn && !this.connecting) this.#conn.setKeepAlive(enable, this.#keepAlive.initialDelay);
    return this;
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

  ref(): this {
    this.#refed = true;
    this.#timer?.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
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

  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes handed to write(), including those still queued in the stream (as net.Socket counts). */
  get bytesWritten(): number {
    return this.#bytesTaken + this.writableLength - this.#writes.taken;
  }

  get pending(): boolean {
    return this.#conn === undefined || this.connecting;
  }

  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable && !this.writable) return "readOnly";
    if (!this.readable && this.writable) return "writeOnly";
    return "closed";
  }

  get remoteAddress(): string | undefined {
    if (this.connecting) return undefined;
    return this.#ends?.remoteAddress ?? this.#dialled?.address;
  }

  get remotePort(): number | undefined {
    if (this.connecting) return undefined;
    return this.#ends?.remotePort ?? this.#dialled?.port;
  }

  get remoteFamily(): Family | undefined {
    const a = this.remoteAddress;
    return a === undefined ? undefined : familyOf(a);
  }

  get localAddress(): string | undefined {
    return this.#ends?.localAddress;
  }

  get localPort(): number | undefined {
    return this.#ends?.localPort;
  }

  get localFamily(): Family | undefined {
    const a = this.#ends?.localAddress;
    return a === undefined ? undefined : familyOf(a);
  }

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

export interface ServerOptions {
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (no reading until resume()). */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export interface ListenOptions {
  port?: number;
  /** One of the stack's addresses; default all of them. */
  host?: string;
  backlog?: number;
}

/** The first port tried for listen(0), and the range it draws from (IANA's dynamic ports). */
const DYNAMIC_LOW = 49152;
const DYNAMIC_HIGH = 65535;

export class Server extends EventEmitter {
  maxConnections: number | undefined;
  readonly #stack: Stack;
  readonly #options: ServerOptions;
  #listener: StackListener | undefined;
  #address: { address: string; family: Family; port: number } | undefined;
  #connections = new Set<Socket>();
  #closing = false;

  constructor(stack: Stack, options?: ServerOptions, connectionListener?: (socket: Socket) => void) {
    super();
    validateStack(stack);
    this.#stack = stack;
    this.#options = optionsObject(options, "options");
    // node:net ignores a connection listener that is not a function.
    if (typeof connectionListener === "function") this.on("connection", connectionListener);
  }

  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /** `listen(port[, host][, backlog][, callback])` or `listen({ port, host, backlog }[, callback])`; port 0 picks a free one. */
  listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const callback = typeof last === "function" ? (last as () => void) : undefined;
    if (callback) args.pop();
    let options: ListenOptions;
    if (typeof args[0] === "object" && args[0] !== null) options = args[0] as ListenOptions;
    else {
      options = { port: args[0] === undefined || args[0] === null ? 0 : (args[0] as number) };
      if (typeof args[1] === "string") options.host = args[1];
      const backlog = typeof args[1] === "number" ? args[1] : args[2];
      if (typeof backlog === "number") options.backlog = backlog;
    }
    if (args.length > 0 && typeof args[0] === "object" && args[0] !== null && options.port === undefined) {
      invalidValue("options", options, 'must have the property "port"');
    }
    const requested = options.port === undefined ? 0 : validateNetPort(options.port, "options.port", true);
    if (options.host !== undefined && typeof options.host !== "string") invalidType("options.host", "of type string", options.host);
    // node:net ignores a backlog that is no non-negative integer.
    const backlog = Number.isInteger(options.backlog) && options.backlog! >= 0 ? options.backlog : undefined;
    if (this.#listener) throw argumentError("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.");
    if (callback) this.once("listening", callback);
    const host = options.host === "0.0.0.0" || options.host === "::" ? undefined : options.host;
    if (host !== undefined && isIP(host) === 0) {
      const err = notFound(host, "getaddrinfo");
      process.nextTick(() => this.emit("error", err));
      return this;
    }
    const onConnection = (conn: StackConnection) => this.#accept(conn);
    try {
      if (requested !== 0) {
        this.#listener = this.#stack.openListener({ port: requested, address: host, backlog }, onConnection);
      } else {
        // Dynamic port: start anywhere in the range and take the first free one.
        const span = DYNAMIC_HIGH - DYNAMIC_LOW + 1;
        const start = Math.floor(Math.random() * span);
        for (let i = 0; i < span && !this.#listener; i++) {
          try {
            const port = DYNAMIC_LOW + ((start + i) % span);
            this.#listener = this.#stack.openListener({ port, address: host, backlog }, onConnection);
          } catch (error) {
            if (!(error instanceof TcpwasmError) || error.code !== "EADDRINUSE") throw error;
          }
        }
        if (!this.#listener) throw new TcpwasmError("EADDRINUSE", "no free port");
      }
    } catch (error) {
      const shown = host ?? this.#anyAddress();
      const err = error instanceof TcpwasmError && error.code === "EADDRINUSE"
        ? new NetError("EADDRINUSE", "listen", shown, requested, "address already in use")
        : toNetError(error, "listen", shown, requested);
      process.nextTick(() => this.emit("error", err));
      return this;
    }
    const address = host ?? this.#anyAddress();
    this.#address = { address, family: familyOf(address), port: this.#listener.port };
    this.#closing = false;
    process.nextTick(() => this.emit("listening"));
    return this;
  }

  #anyAddress(): string {
    return this.#stack.wildcardAddress;
  }

  #accept(conn: StackConnection): void {
    if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
      conn.abort();
      return;
    }
    const o = this.#options;
    const socket = new Socket(this.#stack, { allowHalfOpen: o.allowHalfOpen });
    socket.server = this;
    if (o.noDelay) socket.setNoDelay(true);
    if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay ?? 0);
    socket.accept(conn, Boolean(o.pauseOnConnect));
    this.#connections.add(socket);
    destroyHooks.set(socket, () => {
      this.#connections.delete(socket);
      this.#emitCloseIfDrained();
    });
    this.emit("connection", socket);
  }

  /**
   * Stops accepting; 'close' follows once every accepted connection is destroyed. On a server that is
   * not listening the callback gets ERR_SERVER_NOT_RUNNING (at the 'close' this emits, as node:net).
   */
  close(callback?: (error?: Error) => void): this {
    // node:net ignores a callback that is not a function.
    if (typeof callback === "function") {
      if (!this.#listener) {
        const err = Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" });
        this.once("close", () => callback(err));
      } else this.once("close", callback);
    }
    if (this.#listener) {
      this.#listener.close();
      this.#listener = undefined;
    }
    this.#closing = true;
    this.#emitCloseIfDrained();
    return this;
  }

  #emitCloseIfDrained(): void {
    if (!this.#closing || this.#listener || this.#connections.size > 0) return;
    process.nextTick(() => {
      if (this.#listener || this.#connections.size > 0) return;
      this.#closing = false;
      this.emit("close");
    });
  }

  address(): { address: string; family: Family; port: number } | null {
    return this.#listener ? this.#address! : null;
  }

  getConnections(callback: (error: Error | null, count: number) => void): this {
    validateFunction(callback, "callback");
    const n = this.#connections.size;
    process.nextTick(() => callback(null, n));
    return this;
  }

  /** Sockets are kept alive by the stack's timer and links, not by the server: kept for node:net's shape. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

/** node:net's functions and classes bound to one stack: a drop-in `net` for code that takes one. */
export interface BoundNet {
  createServer(connectionListener?: (socket: Socket) => void): Server;
  createServer(options?: ServerOptions, connectionListener?: (socket: Socket) => void): Server;
  connect(options: SocketConnectOptions, connectListener?: () => void): Socket;
  connect(port: number, host: string, connectListener?: () => void): Socket;
  createConnection(options: SocketConnectOptions, connectListener?: () => void): Socket;
  createConnection(port: number, host: string, connectListener?: () => void): Socket;
  Socket: new (options?: SocketConstructorOptions) => Socket;
  Server: new (options?: ServerOptions, connectionListener?: (socket: Socket) => void) => Server;
  isIP: typeof isIP;
}

/** A server on `stack`: `createServer(stack[, options][, connectionListener])`. */
export function createServer(
  stack: Stack,
  options?: ServerOptions | ((socket: Socket) => void),
  connectionListener?: (socket: Socket) => void,
): Server {
  if (typeof options === "function") return new Server(stack, {}, options);
  return new Server(stack, options, connectionListener);
}

/** A client socket on `stack`: `connect(stack, options[, listener])` or `connect(stack, port, host[, listener])`. */
export function connect(stack: Stack, ...args: ConnectArgs): Socket {
  validateStack(stack);
  const { options } = normalizeConnectArgs(args);
  validateConnectOptions(options);
  const socket = new Socket(stack, options);
  return socket.connect(...args);
}

/** node:net's shape bound to `stack`. */
export function bindNet(stack: Stack): BoundNet {
  validateStack(stack);
  return {
    createServer: ((options?: ServerOptions | ((socket: Socket) => void), listener?: (socket: Socket) => void) =>
      createServer(stack, options, listener)) as BoundNet["createServer"],
    connect: ((...args: ConnectArgs) => connect(stack, ...args)) as BoundNet["connect"],
    createConnection: ((...args: ConnectArgs) => connect(stack, ...args)) as BoundNet["createConnection"],
    Socket: class extends Socket {
      constructor(options?: SocketConstructorOptions) {
        super(stack, options);
      }
    },
    Server: class extends Server {
      constructor(options?: ServerOptions, connectionListener?: (socket: Socket) => void) {
        super(stack, options, connectionListener);
      }
    },
    isIP,
  };
}
