// What may end a connect before the peer answers, shared by both faces: the caller's AbortSignal
// (at any time, as node:net's `signal` option) and a connect timeout (until the handshake completes).
// The engine would give a SYN up only after its retries (2 minutes by default): a caller that wants
// less says so here. The timer runs on the stack's timer functions (StackOptions.timers), so it
// follows an injected clock. Browser-safe.
import { AbortError, TcpwasmError } from "../core/errors.js";
import { invalidType, validateInteger } from "../core/validate.js";
import type { StackTimers } from "./timer.js";

/** The longest connect timeout, ms: what one setTimeout can wait (2^31 - 1). */
export const MAX_CONNECT_TIMEOUT_MS = 0x7fffffff;

/** @internal An armed watch over one connect. */
export interface ConnectWatch {
  /** The handshake completed: the timeout no longer applies (the signal still does). */
  connected(): void;
  /** The socket is over: drop the timer and the signal's listener. */
  dispose(): void;
}

/** @internal Throws ERR_INVALID_ARG_TYPE unless `value` is an AbortSignal (any object with its shape). */
export function validateSignal(value: unknown, name: string): asserts value is AbortSignal {
  const s = value as AbortSignal | null;
  if (typeof s !== "object" || s === null || typeof s.aborted !== "boolean" || typeof s.addEventListener !== "function") {
    invalidType(name, "an instance of AbortSignal", value);
  }
}

/** @internal Throws unless `value` is a connect timeout in ms: an integer 1..2^31-1. */
export function validateConnectTimeout(value: unknown, name: string): asserts value is number {
  validateInteger(value, name, 1, MAX_CONNECT_TIMEOUT_MS);
}

/** @internal The error a connect timeout ends a connect with. */
export function connectTimedOut(ms: number): TcpwasmError {
  return new TcpwasmError("ETIMEDOUT", `no connection within ${ms} ms (connect timeout)`);
}

/** @internal The error an aborted signal ends a socket with. */
export function aborted(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}

/**
 * @internal Calls `end` once, with an AbortError when `signal` aborts (at once, from a microtask, if
 * it already has) or with ETIMEDOUT when `timeoutMs` pass before connected(). Neither is armed when
 * undefined.
 */
export function watchConnect(
  timers: StackTimers,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  end: (error: TcpwasmError) => void,
): ConnectWatch {
  let timer: unknown;
  let done = false;
  const dispose = (): void => {
    done = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    signal?.removeEventListener("abort", onAbort);
  };
  const finish = (error: TcpwasmError): void => {
    if (done) return;
    dispose();
    end(error);
  };
  const onAbort = (): void => finish(aborted(signal!));
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener("abort", onAbort, { once: true });
  if (timeoutMs !== undefined) {
    timer = timers.setTimeout(() => finish(connectTimedOut(timeoutMs)), timeoutMs);
    // The connection itself keeps a Node process alive while it is open (lifetime.ts); its timer need not.
    const t = timer as { unref?: () => void } | undefined;
    if (typeof t?.unref === "function") t.unref();
  }
  return {
    connected() {
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
    },
    dispose,
  };
}
