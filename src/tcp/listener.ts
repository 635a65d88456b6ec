// A stack's listener: the passive open of one port (RFC 9293 3.10.1, LISTEN) on one or all of the
// stack's addresses; each connection that completes the handshake goes to its onConnection.
// Browser-safe.
import type { StackConnection } from "./connection.js";

export class StackListener {
  closed = false;

  /** @internal Use Stack.openListener; `forget` releases the engine's listener ids. */
  constructor(
    private readonly forget: (ids: number[]) => void,
    private readonly ids: number[],
    readonly port: number,
    private readonly onConnection: (conn: StackConnection) => void,
  ) {}

  /** @internal */
  accept(conn: StackConnection): void {
    this.onConnection(conn);
  }

  /** Stops listening; connections already accepted are unaffected. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget(this.ids);
  }
}
