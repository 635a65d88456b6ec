// Connecting to one of several addresses of a name, one after another: the next address is tried
// only once the attempt before it has failed (refused, unreachable, timed out). No racing of
// attempts (RFC 8305 Happy Eyeballs): the order is the resolver's, and a peer that drops SYNs holds
// the next address back until the engine gives that attempt up. Browser-safe.
import { TcpwasmError } from "../core/errors.js";
import type { StackConnection } from "./connection.js";

/** What a dial reports; every call comes from a stack callback or from dial() itself, never later than cancel(). */
export interface DialHandlers {
  /** An attempt to `address` starts. */
  attempt?(address: string): void;
  /**
   * The attempt to `address` failed with `error` (`atOpen`: openConnection refused it, else the
   * handshake failed); the next address (if any) is tried.
   */
  attemptFailed?(address: string, error: TcpwasmError, atOpen: boolean): void;
  /** The handshake with `conn` completed; the connection is the caller's from here (its handlers are cleared). */
  connected(conn: StackConnection, address: string): void;
  /** Every address failed; `error` is the last attempt's, to `address` (`atOpen` as in attemptFailed). */
  failed(error: TcpwasmError, address: string, atOpen: boolean): void;
}

/** A dial in progress: cancel() drops the attempt under way without a callback. */
export interface Dial {
  /** The connection of the attempt under way, if one is. */
  readonly current: StackConnection | undefined;
  cancel(): void;
}

/**
 * Tries `addresses` in order: `open(address)` starts an attempt; a TcpwasmError it throws (what
 * openConnection throws: EHOSTUNREACH, EADDRINUSE, ...) is that attempt's failure.
 */
export function dial(addresses: readonly string[], open: (address: string) => StackConnection, handlers: DialHandlers): Dial {
  let index = 0;
  let conn: StackConnection | undefined;
  let over = false;
  const fail = (address: string, error: TcpwasmError, atOpen: boolean): void => {
    conn = undefined;
    handlers.attemptFailed?.(address, error, atOpen);
    if (over) return;
    if (index < addresses.length) next();
    else {
      over = true;
      handlers.failed(error, address, atOpen);
    }
  };
  const next = (): void => {
    const address = addresses[index++]!;
    handlers.attempt?.(address);
    if (over) return;
    let c: StackConnection;
    try {
      c = open(address);
    } catch (error) {
      if (!(error instanceof TcpwasmError)) throw error;
      fail(address, error, true);
      return;
    }
    conn = c;
    c.onConnect = () => {
      c.onConnect = undefined;
      c.onClose = undefined;
      conn = undefined;
      over = true;
      handlers.connected(c, address);
    };
    c.onClose = (error) => fail(address, error ?? new TcpwasmError("ECONNRESET", `${c.describe()}: closed before connecting`), false);
  };
  if (addresses.length === 0) throw new TcpwasmError("ERR_INVALID_ARG_VALUE", "dial needs at least one address");
  next();
  return {
    get current() {
      return conn;
    },
    cancel() {
      if (over) return;
      over = true;
      const c = conn;
      conn = undefined;
      if (c && !c.isClosed) {
        c.onConnect = undefined;
        c.onClose = undefined;
        // RFC 9293 3.10.5: an ABORT in SYN-SENT deletes the TCB and sends nothing.
        c.abort();
        c.release();
      }
    },
  };
}
