// A stack's listener: the passive open of one port (RFC 9293 3.10.1, LISTEN) on one or all of the
// stack's addresses; each connection that completes the handshake goes to its onConnection.
// Browser-safe.
import type { StackConnection } from "./connection.js";

/** A listening port of a stack (RFC 9293 LISTEN), from Stack.openListener; close() stops it. */
export class StackListener {
  readonly #forget: (ids: number[]) => void;
  readonly #ids: number[];
  readonly #onConnection: (conn: StackConnection) => void;
  readonly #hold: (holder: object, holds: boolean) => void;
  #refed = true;
  /** True once close() was called. */
  closed = false;

  /** @internal Use Stack.openListener; `forget` releases the engine's listener ids. */
  constructor(
    forget: (ids: number[]) => void,
    ids: number[],
    /** The port listened on. */
    readonly port: number,
    onConnection: (conn: StackConnection) => void,
    hold: (holder: object, holds: boolean) => void,
  ) {
    this.#forget = forget;
    this.#ids = ids;
    this.#onConnection = onConnection;
    this.#hold = hold;
    hold(this, true);
  }

  /** In Node, an open listener keeps the process alive, as a net.Server does (the default). */
  ref(): void {
    this.#refed = true;
    if (!this.closed) this.#hold(this, true);
  }

  /** In Node, lets the process exit while this listener is open (net.Server.unref). */
  unref(): void {
    this.#refed = false;
    this.#hold(this, false);
  }

  /** Whether the open listener keeps a Node process alive (see ref). */
  get refed(): boolean {
    return this.#refed;
  }

  /** @internal */
  accept(conn: StackConnection): void {
    this.#onConnection(conn);
  }

  /** Stops listening; connections already accepted are unaffected. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#hold(this, false);
    this.#forget(this.#ids);
  }
}
