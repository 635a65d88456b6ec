// What keeps a Node process alive, as node:net decides it: an open listener or an open connection
// does (until unref()), protocol timers never do. The stack's deadline timer is unref'd (timer.ts):
// a TIME-WAIT, a retransmission or a keepalive alone lets the process exit; while anything a user
// holds is open, one ref'd handle keeps the event loop running. Outside Node there is no process to
// keep alive and this does nothing. Browser-safe: setInterval is looked up, not imported.

/** A handle of Node's timers: ref'd by default, unref() lets the process exit. */
interface NodeHandle {
  unref(): void;
}

/** The longest delay a timer takes (2^31 - 1 ms): the handle only has to exist, never to fire. */
const FOREVER_MS = 0x7fffffff;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p?.versions?.node === "string";
}

function noop(): void {}

/** @internal The open things of one stack that keep the process alive, and the handle that does it. */
export class Lifetime {
  readonly #holders = new Set<object>();
  readonly #node = isNode();
  #refed = true;
  #handle: NodeHandle | undefined;

  /** `holder` (a connection or a listener) keeps the process alive, or no longer does. */
  hold(holder: object, holds: boolean): void {
    if (holds) this.#holders.add(holder);
    else this.#holders.delete(holder);
    this.#update();
  }

  /** Whether the stack as a whole may keep the process alive (Stack.ref / Stack.unref). */
  setRef(refed: boolean): void {
    this.#refed = refed;
    this.#update();
  }

  get refed(): boolean {
    return this.#refed;
  }

  /** Whether the process is being kept alive now. */
  get holding(): boolean {
    return this.#handle !== undefined;
  }

  /** Nothing is held any more (the stack closed). */
  clear(): void {
    this.#holders.clear();
    this.#update();
  }

  #update(): void {
    const want = this.#node && this.#refed && this.#holders.size > 0;
    if (want && this.#handle === undefined) {
      this.#handle = globalThis.setInterval(noop, FOREVER_MS) as unknown as NodeHandle;
    } else if (!want && this.#handle !== undefined) {
      globalThis.clearInterval(this.#handle as unknown as ReturnType<typeof setInterval>);
      this.#handle = undefined;
    }
  }
}
