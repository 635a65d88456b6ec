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
    this.errno = n === undefined ? EAI_ERRNO[code] : -n;
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

/**
 * libuv's numbers for getaddrinfo's failures (UV_EAI_NONAME, UV_EAI_AGAIN), which Node's dns errors
 * carry as `errno`; they are in no errno table.
 */
const EAI_ERRNO: Partial<Record<ErrorCode, number>> = { ENOTFOUND: -3008, EAI_AGAIN: -3001 };

/** A name that did not resolve, in the shape of Node's dns errors: code, errno, syscall "getaddrinfo", hostname. */
export class LookupError extends NetError {
  /** The name looked up. */
  readonly hostname: string;
  /** The message reads as Node's: "getaddrinfo ENOTFOUND example.test". */
  constructor(code: "ENOTFOUND" | "EAI_AGAIN", hostname: string) {
    super(code, "getaddrinfo");
    this.hostname = hostname;
    this.message = `getaddrinfo ${code} ${hostname}`;
  }
}

/** @internal The Node-shaped error for a failed resolution (a ResolveError keeps its code; anything else passes as it is). */
export function toLookupError(error: unknown, hostname: string): Error {
  if (error instanceof LookupError) return error;
  if (error instanceof TcpwasmError && (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN")) return new LookupError(error.code, hostname);
  return error instanceof Error ? error : new Error(String(error));
}

/** @internal A listen() host that is no IP address: the listener's address must be one of the stack's own. */
export function notFound(host: string): LookupError {
  return new LookupError("ENOTFOUND", host);
}
