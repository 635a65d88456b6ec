// What a stack does with an exception thrown by a user's handler (onConnect, onData, onClose, a
// listener's onConnection, the trace sink). Browser-safe.

/**
 * The exception is the user's bug: it is rethrown from a microtask of its own, so it surfaces as an
 * uncaught exception exactly as a throwing listener of a node:net socket's EventEmitter does, while the
 * stack goes on with the rest of its work (the other events of the batch, the other connections).
 */
export function reportHandlerError(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
