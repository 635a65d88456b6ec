// Port forwarding into a stack's network: a connection that arrived elsewhere (a net.Socket a host-side
// server accepted, a WebSocket stream a relay handed over) is joined to a new connection from the
// stack to a guest's address and port (splice.ts). Browser-safe; the Node listener around it is
// node-gateway.ts forwardPort.
import { TcpwasmError } from "../core/errors.js";
import type { Stack } from "../tcp/stack.js";
import { isDuplexLike, splice, type DuplexLike, type SpliceResult, type StreamPair } from "./splice.js";

/** Where forwarded connections go: a guest's address and port. */
export interface ForwardTarget {
  /** The guest's address (it must be routed by one of the stack's links). */
  address: string;
  /** The guest's port. */
  port: number;
}

/**
 * Opens a connection from `stack` to `to` and splices `far` to it once it is established; a guest that
 * refuses or cannot be reached gets `far` destroyed (a net.Socket is reset). `onDone` is called once
 * with the splice's result, or with the connect error.
 * @throws TcpwasmError from Stack.openConnection (EHOSTUNREACH when no link routes `to.address`, argument errors); `far` is destroyed first.
 */
export function forwardConnection(stack: Stack, far: DuplexLike | StreamPair, to: ForwardTarget, onDone?: (result: SpliceResult) => void): void {
  // Nothing is read from the far side before the guest answered.
  if (isDuplexLike(far)) far.pause();
  let conn;
  try {
    conn = stack.openConnection({ remote: to.address, remotePort: to.port });
  } catch (error) {
    destroy(far, error as TcpwasmError);
    throw error;
  }
  conn.onConnect = () => {
    splice(conn, far, onDone);
    if (isDuplexLike(far)) far.resume();
  };
  conn.onClose = (error) => {
    // Closed before it connected: refused, unreachable or timed out.
    const e = error ?? new TcpwasmError("ECONNRESET", `${conn.describe()}: closed before it connected`);
    destroy(far, e);
    onDone?.({ up: 0, down: 0, error: e });
  };
}

function destroy(far: DuplexLike | StreamPair, error: Error): void {
  if (isDuplexLike(far)) {
    if (far.resetAndDestroy) far.resetAndDestroy();
    else far.destroy(error);
    return;
  }
  far.readable.cancel(error).catch(() => {});
  far.writable.abort(error).catch(() => {});
}
