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
  /** The armed timer was unref'd: no deadline is left, it fires once for nothing. */
  #timerUnrefd = false;

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
    // re-arms it, while clearing and setting a timer on every pump cost more than that in churn.
    // With no deadline left an idle stack must not keep a Node process alive: a Node timer is
    // unref'd and kept (ref'd again if a deadline comes back before it fires, as in connection
    // churn), any other timer is cleared.
    const timer = this.#timer as { ref?: () => void; unref?: () => void } | undefined;
    if (deadline === this.#timerAt || (deadline > this.#timerAt && deadline !== Infinity)) {
      if (this.#timerUnrefd) {
        this.#timerUnrefd = false;
        timer!.ref!();
      }
      return;
    }
    if (deadline === Infinity && typeof timer?.unref === "function" && typeof timer.ref === "function") {
      if (!this.#timerUnrefd) {
        this.#timerUnrefd = true;
        timer.unref();
      }
      return;
    }
    this.#timerUnrefd = false;
    if (this.#timer !== undefined) this.#fns.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = deadline;
    if (deadline === Infinity) return;
    // At least 1 ms: a deadline the engine reports as already due after timers(now) must not spin.
    const delay = Math.max(1, Math.ceil(deadline - this.#now()));
    const handle: { id: unknown } = { id: undefined };
    handle.id = this.#timer = this.#fns.setTimeout(() => this.#onTimer(handle), delay);
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
      this.#timerUnrefd = false;
    }
    this.#fire();
  }
}
