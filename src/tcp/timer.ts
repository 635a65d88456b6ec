// A stack's one timer, armed at the engine's next deadline (push in, poll out, one deadline). A timer
// that fires late, early or several times is harmless: the stack runs whatever is due at its `now()`.
// Browser-safe.

/** Timer functions the stack uses; inject them to test throttled or bunched timers. */
export interface StackTimers {
  /** Calls `fn` after `ms` milliseconds; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer setTimeout returned. */
  clearTimeout(handle: unknown): void;
}

/** @internal */
export const GLOBAL_TIMERS: StackTimers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** @internal */
export class DeadlineTimer {
  readonly #fns: StackTimers;
  readonly #now: () => number;
  readonly #fire: () => void;
  #timer: unknown = undefined;
  #timerAt = Infinity;
  /** The armed timer is a Node timer, unref'd. */
  #unrefd = false;

  /** `fire` runs when the timer fires (stale firings included: they only cost one pump). */
  constructor(
    fns: StackTimers,
    now: () => number,
    fire: () => void,
  ) {
    this.#fns = fns;
    this.#now = now;
    this.#fire = fire;
  }

  /** Arms the timer at `deadline` (ms on the stack's clock; Infinity: none). */
  arm(deadline: number): void {
    // A timer already armed no later than the deadline stays: firing early costs one pump, which
    // re-arms it, while clearing and setting a timer on every pump cost more than that in churn. With
    // no deadline left a Node timer is kept too (unref'd, it fires once for nothing); any other
    // timer is cleared.
    if (deadline === this.#timerAt || (deadline > this.#timerAt && deadline !== Infinity)) return;
    if (deadline === Infinity && this.#unrefd) return;
    if (this.#timer !== undefined) this.#fns.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = deadline;
    this.#unrefd = false;
    if (deadline === Infinity) return;
    // At least 1 ms: a deadline the engine reports as already due after timers(now) must not spin.
    const delay = Math.max(1, Math.ceil(deadline - this.#now()));
    const handle: { id: unknown } = { id: undefined };
    handle.id = this.#timer = this.#fns.setTimeout(() => this.#onTimer(handle), delay);
    // Protocol timers never keep a Node process alive (TIME-WAIT, retransmission, keepalive): what
    // does is an open connection or listener (lifetime.ts), as with node:net.
    const timer = handle.id as { unref?: () => void } | undefined;
    if (typeof timer?.unref === "function") {
      timer.unref();
      this.#unrefd = true;
    }
  }

  /** Stops the timer for good. */
  clear(): void {
    if (this.#timer !== undefined) this.#fns.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onTimer(handle: { id: unknown }): void {
    // A stale timer (cleared too late, or a throttled one firing in a bunch) only costs one pump.
    if (handle.id === this.#timer) {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#unrefd = false;
    }
    this.#fire();
  }
}
