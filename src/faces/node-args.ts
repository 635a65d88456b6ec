// The Node face's arguments: node:net's option shapes and the checks node:net makes on them
// synchronously (the rest fail as 'error' events).
import { isIP } from "node:net";
import { Stack } from "../tcp/stack.js";
import { validateConnectTimeout, validateSignal } from "../tcp/connect-watch.js";
import { TcpwasmError } from "../core/errors.js";
import { argumentError, invalidType, received, validateFunction, validateInteger, validateNumber } from "../core/validate.js";

export type Family = "IPv4" | "IPv6";

/** @internal */
export function familyOf(address: string): Family {
  return address.includes(":") ? "IPv6" : "IPv4";
}

/** Options of `new Socket()`, as net.Socket takes them. */
export interface SocketConstructorOptions {
  /** Keep the writable side open after the peer's FIN (node:net's allowHalfOpen). Default false. */
  allowHalfOpen?: boolean;
  /** Bytes the readable side buffers before the connection stops reading (stream.Duplex). */
  readableHighWaterMark?: number;
  /** Bytes the writable side buffers before write() returns false (stream.Duplex). */
  writableHighWaterMark?: number;
  /**
   * Destroys the socket when it aborts, as node:net's `signal` option: with an AbortError (code
   * ABORT_ERR, `cause` the signal's reason); a connect under way is dropped, nothing more is sent.
   */
  signal?: AbortSignal;
  /**
   * node:net's `onread`: received bytes go into memory the caller provides, not into 'data' chunks.
   * `callback(bytesWritten, buffer)` runs for each piece read into `buffer` (one Uint8Array used for
   * every read, or a function giving the one to read into next) and may return false to pause() the
   * socket; 'end', 'error' and 'close' come as usual, pause() and resume() stop and start reading.
   * Ignored unless it has that shape, as in node:net.
   */
  onread?: OnReadOptions;
}

/** node:net's `onread` option (SocketConstructorOptions.onread). */
export interface OnReadOptions {
  /** The memory each read fills: one Uint8Array for every read, or a function returning the next one. */
  buffer: Uint8Array | (() => Uint8Array);
  /** Called with the bytes read into `buffer` (from its start) and `buffer`; false pauses the socket. */
  callback: (bytesWritten: number, buffer: Uint8Array) => boolean | void;
}

/** Options of connect() and socket.connect(), as net.connect takes them. */
export interface SocketConnectOptions extends SocketConstructorOptions {
  /** The peer's port, 1..65535 (as node:net, a string of digits too). */
  port: number | string;
  /**
   * An IPv4 or IPv6 address, or a name: looked up with `lookup` (default: the stack's resolver,
   * StackOptions.dns) and its addresses tried in order. Default "localhost", as node:net: a name like
   * any other, which the stack's resolver answers itself with the loopback addresses of the families
   * the stack has (::1 first, then 127.0.0.1; RFC 6761 6.3), so the connection stays inside the stack.
   */
  host?: string;
  /** The address family to look a name up in: 4, 6 (or "IPv4", "IPv6"), 0 for both. Default 0, or the family of `localAddress`. */
  family?: number | "IPv4" | "IPv6";
  /** getaddrinfo hints passed on to `lookup` (dns.lookup's `hints`). Default 0. */
  hints?: number;
  /**
   * A function with dns.lookup's signature, called as `lookup(host, { family, hints, all: true }, callback)`
   * (a callback with one address and its family is taken too). Default: the stack's resolver. A stack's
   * network is not the host's, so dns.lookup itself is rarely what you want here.
   */
  lookup?: LookupFunction;
  /** Our address; default the stack's address facing `host`. */
  localAddress?: string;
  /** Our port; default a random ephemeral port (RFC 6056). */
  localPort?: number;
  /** Disable Nagle's algorithm (socket.setNoDelay). Default false. */
  noDelay?: boolean;
  /** Keepalive probes (socket.setKeepAlive, RFC 1122 4.2.3.6). Default false. */
  keepAlive?: boolean;
  /** Idle time before the first keepalive probe, ms. Default: the engine's `keepaliveIdleMs`. */
  keepAliveInitialDelay?: number;
  /** Idle timeout in ms, as socket.setTimeout(): an event only, it ends nothing. */
  timeout?: number;
  /**
   * tcpwasm's own, node:net has none: connect timeout in ms (1..2^31-1). If 'connect' has not come by
   * then (the lookup and every address tried included), the socket is destroyed with ETIMEDOUT
   * ("connect ETIMEDOUT 10.0.0.2:80"). Default none: the engine gives an unanswered SYN up after
   * `synRetries` retransmissions (about 2 minutes).
   */
  connectTimeout?: number;
  /** Send ring size, bytes, kept at this size (auto-sizing off, as SO_SNDBUF). Default: auto-sized from the engine's `sendBuffer` up to `sendBufferMax`. */
  sendBufferSize?: number;
  /** Receive ring size, bytes, kept at this size (auto-sizing off, as SO_RCVBUF); it bounds the window offered to the peer. Default: auto-sized from the engine's `recvBuffer` up to `recvBufferMax`. */
  receiveBufferSize?: number;
}

/** socket.setKeepAlive's options object, as net.Socket takes it (each value 0 or left out: the engine's default). */
export interface KeepAliveOptions {
  /** Keepalive on (true) or off. Default false. */
  enable?: boolean;
  /** Idle time before the first probe, ms (the engine's `keepaliveIdleMs`). */
  initialDelay?: number;
  /** Time between unanswered probes, ms (the engine's `keepaliveIntervalMs`). */
  interval?: number;
  /** Unanswered probes before the connection fails with ETIMEDOUT (the engine's `keepaliveCount`). */
  count?: number;
}

/** dns.lookup's shape, as node:net's `lookup` option takes it. */
export type LookupFunction = (
  hostname: string,
  options: { family: number; hints: number; all: true },
  callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** One address a `lookup` function gives (dns.lookup with `all: true`). */
export interface LookupAddress {
  /** The address as text. */
  address: string;
  /** 4 or 6. */
  family: number;
}

/**
 * node:net's IPC form of connect (a Unix domain socket or a Windows named pipe at `path`). A stack
 * carries TCP/IP only, so connect() with it throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM; it is typed
 * so that the Socket is a net.Socket wherever node:net's types are expected.
 */
export interface IpcConnectOptions extends SocketConstructorOptions {
  /** The IPC path node:net would connect to: never reachable here. */
  path: string;
}

export type ConnectArgs =
  | [options: SocketConnectOptions | IpcConnectOptions, listener?: () => void]
  | [port: number | string, host?: string, listener?: () => void]
  | [port: number | string, listener?: () => void];

/**
 * @internal node:net's argument forms: `(options[, listener])`, `(port[, host][, listener])` and
 * `(path[, listener])`, a string that is not a number being a path (node:net's rule), as options.
 */
export function normalizeConnectArgs(args: unknown[]): { options: SocketConnectOptions | IpcConnectOptions; listener: (() => void) | undefined } {
  const last = args[args.length - 1];
  const listener = typeof last === "function" ? (last as () => void) : undefined;
  const first = args[0];
  if (typeof first === "object" && first !== null) return { options: first as SocketConnectOptions | IpcConnectOptions, listener };
  if (first === undefined || typeof first === "function") {
    throw argumentError("ERR_MISSING_ARGS", 'The "options" or "port" argument must be specified');
  }
  if (typeof first === "string" && !(Number(first) >= 0)) return { options: { path: first }, listener };
  return { options: { port: first as number, host: typeof args[1] === "string" ? args[1] : undefined }, listener };
}

/**
 * @internal connect's IPC form. No user-space TCP stack has Unix domain sockets or named pipes; the
 * code is Node's for a feature the platform it runs on lacks (a kernel would say EAFNOSUPPORT, but
 * node:net reports a form it cannot serve synchronously, with an ERR_* code).
 */
export function ipcUnavailable(path: unknown): TcpwasmError {
  return new TcpwasmError("ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", `IPC connections are not available on a tcpwasm stack (TCP/IP only); options.path was ${received(path)}`);
}

/**
 * @internal node:net's port check (ERR_SOCKET_BAD_PORT), but 0 is no destination or bind port here
 * unless `allowZero`. As node:net, a string of decimal digits is a port too ("80"); returns the number.
 */
export function validateNetPort(value: unknown, name: string, allowZero: boolean): number {
  const min = allowZero ? 0 : 1;
  const port = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof port !== "number" || !Number.isInteger(port) || port < min || port > 65535) {
    throw argumentError("ERR_SOCKET_BAD_PORT", `${name} should be >= ${min} and <= 65535. Received ${received(value)}`);
  }
  return port;
}

/** @internal node:net's idle timeout check (socket.setTimeout's `msecs`). */
export function validateTimeout(value: unknown, name: string): number {
  validateNumber(value, name, 0);
  return value;
}

/**
 * @internal The checks node:net makes synchronously on connect's options (the rest fail as 'error'
 * events). Returns the port as a number and the host ("localhost" when none, as node:net).
 * @throws TcpwasmError ERR_FEATURE_UNAVAILABLE_ON_PLATFORM for the IPC form (`path`).
 */
export function validateConnectOptions(given: SocketConnectOptions | IpcConnectOptions): { options: SocketConnectOptions; port: number; host: string } {
  // node:net takes any truthy `path` as the IPC form, whatever else the options say.
  if ("path" in given && given.path) throw ipcUnavailable(given.path);
  const options = given as SocketConnectOptions;
  if (options.port === undefined) throw argumentError("ERR_MISSING_ARGS", 'The "options.port" argument must be specified');
  const port = validateNetPort(options.port, "options.port", false);
  // As node:net: an empty or missing host is "localhost".
  const host = options.host || "localhost";
  if (typeof host !== "string") invalidType("options.host", "of type string", options.host);
  if (options.lookup !== undefined) validateFunction(options.lookup, "options.lookup");
  if (options.hints !== undefined && typeof options.hints !== "number") invalidType("options.hints", "of type number", options.hints);
  if (options.family !== undefined) familyNumber(options.family);
  if (options.localAddress !== undefined && (typeof options.localAddress !== "string" || isIP(options.localAddress) === 0)) {
    throw argumentError("ERR_INVALID_IP_ADDRESS", `The "options.localAddress" property must be an IP address. Received ${received(options.localAddress)}`);
  }
  if (options.localPort !== undefined) {
    if (typeof options.localPort !== "number") invalidType("options.localPort", "of type number", options.localPort);
    validateNetPort(options.localPort, "options.localPort", true);
  }
  if (options.timeout !== undefined) validateTimeout(options.timeout, "options.timeout");
  if (options.connectTimeout !== undefined) validateConnectTimeout(options.connectTimeout, "options.connectTimeout");
  if (options.signal !== undefined) validateSignal(options.signal, "options.signal");
  if (options.keepAliveInitialDelay !== undefined && typeof options.keepAliveInitialDelay !== "number") {
    invalidType("options.keepAliveInitialDelay", "of type number", options.keepAliveInitialDelay);
  }
  if (options.sendBufferSize !== undefined) validateInteger(options.sendBufferSize, "options.sendBufferSize", 1024, 1 << 30);
  if (options.receiveBufferSize !== undefined) validateInteger(options.receiveBufferSize, "options.receiveBufferSize", 1024, 1 << 30);
  return { options, port, host };
}

/** @internal node:net's `family` option as a number: 0, 4 or 6 ("IPv4" and "IPv6" too). */
export function familyNumber(value: unknown): 0 | 4 | 6 {
  if (value === undefined || value === null) return 0;
  if (value === "IPv4") return 4;
  if (value === "IPv6") return 6;
  if (value !== 0 && value !== 4 && value !== 6) {
    throw argumentError("ERR_INVALID_ARG_VALUE", `The property 'options.family' must be one of: 0, 4, 6. Received ${received(value)}`);
  }
  return value;
}

/** @internal */
export function validateStack(stack: unknown): asserts stack is Stack {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
}
