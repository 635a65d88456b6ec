// The Node face's errors: a stack's TcpwasmError in node:net's shape (errno, syscall, address,
// port), keeping its code; the codes themselves are mapped once, in src/core/errors.ts.
import { constants as osConstants } from "node:os";
import { TcpwasmError, type ErrorCode } from "../core/errors.js";

/** A TcpwasmError shaped like Node's system errors: `code`, `errno`, `syscall`, and the peer when known. */
export class NetError extends TcpwasmError {
  /** The negative errno of `code` on this platform (os.constants.errno), as Node's system errors carry it. */
  readonly errno: number | undefined;
  /** The call that failed: "connect", "listen", "write" or "shutdown". */
  readonly syscall: string;
  /** The address involved, when known. */
  readonly address: string | undefined;
  /** The port involved, when known. */
  readonly port: number | undefined;
  /** The message reads as Node's: "connect ECONNREFUSED 10.0.0.2:80". */
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

/** @internal The Node-shaped error for a stack error (a TcpwasmError) met during `syscall`. */
export function toNetError(error: unknown, syscall: string, address?: string, port?: number): Error {
  if (error instanceof NetError) return error;
  if (error instanceof TcpwasmError) return new NetError(error.code, syscall, address, port);
  return error instanceof Error ? error : new Error(String(error));
}

/** @internal A name that is no IP address: the error node:net gives for a host its resolver cannot find (a stack has none). */
export function notFound(host: string, syscall: string): NetError {
  return new NetError("ENOTFOUND", syscall, host, undefined, "a stack has no resolver: host must be an IPv4 or IPv6 address");
}
