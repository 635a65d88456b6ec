// When a stack's output drain runs, once queued. Handlers often answer from a deferred callback
// (node:stream's 'end' and 'finish' come on the next tick; Web Streams take promise hops: a writer's
// close() reaches the sink two hops after its write() did, a reader loop sees the end three or four
// hops after it was enqueued); draining after them sends the answer in the segment that acknowledges
// the data, instead of a bare ACK first and the FIN apart from its data. In Node, process.nextTick,
// whose queue runs only once the microtasks are done. Browsers have no hook between the microtasks
// and the next task: there the drain waits DRAIN_HOPS rounds of the microtask queue after the last
// user call (DRAIN_HOPS_MAX in all), which covers those chains and never waits for a task.
// Browser-safe: process is looked up, not imported.

/** A settled promise: a reaction on it is the cheapest microtask (see Stack.kick). */
export const RESOLVED = /* @__PURE__ */ Promise.resolve();

/** Microtask rounds the output drain waits after the last user call where there is no process.nextTick. */
const DRAIN_HOPS = 8;
/** At most this many rounds in all, however many calls keep coming. */
const DRAIN_HOPS_MAX = 64;

/** process.nextTick where the host is Node. */
function nodeNextTick(): ((fn: () => void) => void) | undefined {
  const p = (globalThis as { process?: { nextTick?: (fn: () => void) => void } }).process;
  return typeof p?.nextTick === "function" ? p.nextTick : undefined;
}

/** When a stack's output drain runs, once queued. */
export interface DrainWait {
  queue(fn: () => void): void;
  /** A user call came in while the drain waits. */
  renew(): void;
}

/**
 * Runs the queued callback after `hops` rounds of the microtask queue (a promise reaction that queues
 * itself again); renew() starts the count again, up to `cap` rounds in all. One callback waits at a time.
 */
export class MicrotaskRounds implements DrainWait {
  private left = 0;
  private total = 0;
  private fn: (() => void) | undefined;

  constructor(
    private readonly hops: number,
    private readonly cap: number,
  ) {}

  queue(fn: () => void): void {
    this.fn = fn;
    this.left = this.hops;
    this.total = 0;
    RESOLVED.then(this.step);
  }

  renew(): void {
    if (this.fn) this.left = this.hops;
  }

  private readonly step = (): void => {
    this.total++;
    if (--this.left > 0 && this.total < this.cap) {
      RESOLVED.then(this.step);
      return;
    }
    const fn = this.fn!;
    this.fn = undefined;
    fn();
  };
}

/** The drain's wait for this host: Node's process.nextTick, else rounds of the microtask queue. */
export function drainWait(): DrainWait {
  const nextTick = nodeNextTick();
  if (nextTick) return { queue: nextTick, renew() {} };
  return new MicrotaskRounds(DRAIN_HOPS, DRAIN_HOPS_MAX);
}
