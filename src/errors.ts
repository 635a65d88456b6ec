// Every error tcpwasm throws or emits: one class with a stable Node-style `code`. The core returns
// integer codes; they are mapped to these once, here (STYLE.md rule 10).

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
  | "ERR_INVALID_ARG"
  | "ERR_INVALID_ARG_TYPE"
  | "ERR_INVALID_ARG_VALUE"
  | "ERR_OUT_OF_RANGE"
  | "ERR_SOCKET_CLOSED";

export class TcpwasmError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "TcpwasmError";
    this.code = code;
  }
}

/** Throws ERR_INVALID_ARG: the caller passed something the API cannot use. */
export function invalidArg(message: string): never {
  throw new TcpwasmError("ERR_INVALID_ARG", message);
}

/** The core's error numbers (assembly/engine/errors.ts), in order: index = the integer the core returns. */
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
];

/** The ErrorCode for a core error number (a negated return value is negated back by the caller). */
export function engineErrorCode(n: number): ErrorCode {
  return ENGINE_ERROR_CODES[n] ?? "EINVAL";
}
