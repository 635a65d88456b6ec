// A stack's listener: the passive open of one port (RFC 9293 3.10.1, LISTEN) on one or all of the
// stack's addresses; each connection that completes the handshake goes to its onConnection.
// Browser-safe.
import type { StackConnection } from "./connection.js";

/** A listening port of a stack (RFC 9293 LISTEN), from Stack.openListener; close() stops it. */
export class StackListener {
  readonly #forget: (ids: number[]) => void;
  readonly #ids: number[];
  readonly #onConnection: (conn: StackConnection) => void;
  /** True once close() was called. */
  closed = false;

  /** @internal Use Stack.openListener; `forget` releases the engine's listener ids. */
  constructor(
    forget: (ids: number[]) => void,
    ids: number[],
    /** The port listened on. */
    readonly port: number,
    onConnection: (conn: StackConnection) => void,
  ) {
    this.#forget = forget;
    this.#ids = ids;
    this.#onConnection = onConnection;
  }

  /** @internal */
  accept(conn: StackConnection): void {
    this.#onConnection(conn);
  }

  /** Stops listening; connections already accepted are unaffected. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#forget(this.#ids);
  }
}
