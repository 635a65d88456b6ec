// Every error tcpwasm throws or emits: one class with a stable Node-style `code`. The core returns
// integer codes; they are mapped to these once, here. The Node face wraps them in
// node:net's error shape (src/faces/node-net.ts NetError), keeping the code.
import { EventType } from "./boundary.js";

/**
 * The stable code of a TcpwasmError: a POSIX errno name for what the network or the engine refused
 * (as node:net reports it), an `ERR_*` name for API misuse (as Node's own argument checks do).
 */
export type ErrorCode =
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ETIMEDOUT"
  | "EADDRINUSE"
  | "EADDRNOTAVAIL"
  | "ENOBUFS"
  | "ENOTCONN"
  | "EPIPE"
  | "EINVAL"
  | "EBADF"
  | "EISCONN"
  | "EHOSTUNREACH"
  /** A UDP datagram larger than one IP packet on its path can carry (fragments are never sent). */
  | "EMSGSIZE"
  /** The Node dgram face: node:dgram's codes for misuse of a socket's state. */
  | "ERR_SOCKET_DGRAM_NOT_RUNNING"
  | "ERR_SOCKET_DGRAM_IS_CONNECTED"
  | "ERR_SOCKET_DGRAM_NOT_CONNECTED"
  | "ERR_SOCKET_ALREADY_BOUND"
  | "ERR_SOCKET_BAD_TYPE"
  /** The Node dgram face: a datagram to the broadcast address before setBroadcast(true), as Linux's SO_BROADCAST. */
  | "EACCES"
  /** A name no address was found for: the resolver says it does not exist or has none, or the stack has no resolver (StackOptions.dns). Node's code for getaddrinfo's EAI_NONAME. */
  | "ENOTFOUND"
  /** A name that could not be resolved now: no server answered in time, or each failed (SERVFAIL, ...). Node's code for getaddrinfo's EAI_AGAIN. */
  | "EAI_AGAIN"
  /** The Node face: listen() on a server already listening, as node:net. */
  | "ERR_SERVER_ALREADY_LISTEN"
  | "ERR_SOCKET_CLOSED"
  /** A call that the object's state no longer allows (a held connection accepted or refused twice), as Node's. */
  | "ERR_INVALID_STATE"
  /** The caller's AbortSignal ended the operation (an AbortError, as Node's and the DOM's). */
  | "ABORT_ERR"
  // Argument errors (API misuse), Node's codes and meanings (src/core/validate.ts throws them):
  /** An argument or option of the wrong type (a number where a string goes, a missing callback). */
  | "ERR_INVALID_ARG_TYPE"
  /** The right type, an unusable value (not an address, an unknown option, an inverted range). */
  | "ERR_INVALID_ARG_VALUE"
  /** A number outside its range (or not an integer where one is needed). */
  | "ERR_OUT_OF_RANGE"
  /** A required argument left out. */
  | "ERR_MISSING_ARGS"
  /** node:net's code for a bad port in the Node face (connect, listen). */
  | "ERR_SOCKET_BAD_PORT"
  /** node:net's code for a local address that is not an IP address in the Node face; also a resolver function's answer that holds one. */
  | "ERR_INVALID_IP_ADDRESS"
  /** A function of yours (StackOptions.dns.resolve) gave back something other than what it must. */
  | "ERR_INVALID_RETURN_VALUE"
  /** Node's code for a feature the platform lacks: the Node face's connect to an IPC path (a stack carries TCP/IP only). */
  | "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM";

/** Every error tcpwasm throws or reports; `code` is stable, the message is for people. */
export class TcpwasmError extends Error {
  /** What went wrong, as a stable code to branch on. */
  readonly code: ErrorCode;
  /** The message reads "<code>: <message>". */
  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "TcpwasmError";
    this.code = code;
  }
}

/**
 * An operation ended by the caller's AbortSignal, shaped as Node's AbortError: `name` "AbortError",
 * `code` "ABORT_ERR", and the signal's `reason` as `cause`.
 */
export class AbortError extends TcpwasmError {
  /** `cause` is the signal's reason. */
  constructor(message = "The operation was aborted", options?: { cause?: unknown }) {
    super("ABORT_ERR", message);
    this.name = "AbortError";
    if (options && "cause" in options) this.cause = options.cause;
  }
}

/** @internal Throws ERR_INVALID_ARG_VALUE: the caller passed something the API cannot use (src/core/validate.ts has the typed checks). */
export function invalidArg(message: string): never {
  throw new TcpwasmError("ERR_INVALID_ARG_VALUE", message);
}

const ARGUMENT_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "ERR_INVALID_ARG_TYPE", "ERR_INVALID_ARG_VALUE", "ERR_OUT_OF_RANGE", "ERR_MISSING_ARGS", "ERR_SOCKET_BAD_PORT",
  "ERR_INVALID_IP_ADDRESS", "ERR_SOCKET_BAD_TYPE",
]);

/** @internal Whether `error` reports API misuse (thrown at once) rather than something the network or the stack's state did. */
export function isArgumentError(error: unknown): error is TcpwasmError {
  return error instanceof TcpwasmError && ARGUMENT_CODES.has(error.code);
}

/** @internal The core's error numbers (assembly/engine/errors.ts), in order: index = the integer the core returns. */
export const ENGINE_ERROR_CODES: readonly (ErrorCode | null)[] = [
  null,
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EADDRINUSE",
  "EADDRNOTAVAIL",
  "ENOBUFS",
  "ENOTCONN",
  "EPIPE",
  "EINVAL",
  "EBADF",
  "EISCONN",
  "EHOSTUNREACH",
];

/**
 * @internal
 * The error that ends a connection, from the engine's RESET, TIMED_OUT or ERROR event (EventType reset,
 * timedOut, error) and its code; `where` names the connection ("10.0.0.1:5000 -> 10.0.0.2:80").
 */
export function connectionError(eventType: number, code: number, where: string): TcpwasmError {
  const error = engineErrorCode(code);
  const what = error === "ECONNREFUSED" ? "connection refused" : eventType === EventType.reset ? "reset by peer"
    : error === "EHOSTUNREACH" ? "no answer to address resolution from the next hop" : eventType === EventType.timedOut ? "timed out" : "failed";
  return new TcpwasmError(error, `${where}: ${what}`);
}

/** @internal The ErrorCode for a core error number (a negated return value is negated back by the caller). */
export function engineErrorCode(n: number): ErrorCode {
  return ENGINE_ERROR_CODES[n] ?? "EINVAL";
}
