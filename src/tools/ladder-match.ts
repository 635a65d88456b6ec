// Arrival matching for the ladder, as the trace streams in: each segment one side sent ("out") is
// paired with the other side's record of accepting it ("in"); a segment never accepted is drawn as
// lost. Browser-safe.
//
// Events arrive in time order and rows leave in the same order, but an arrow can only leave once its
// fate is known, so rows wait behind the oldest undecided one. A segment is decided when its arrival
// is seen, or lost once LATE_ARRIVALS later segments of the same sender arrived before it (a link
// reordering deeper than that reads as loss), or at finish(). A receiver that has recorded no arrival
// at all while LATE_ARRIVALS segments were sent to it traces none (a trace of one side only): its
// peer's segments are then drawn as delivered. So the work per event and the rows held do not grow
// with the length of the trace (HELD_AT_MOST caps a sender whose receiver stopped tracing).
import type { SegmentTrace, StateTrace, TraceEvent } from "../core/trace.js";

/** Later arrivals from the same sender after which a segment still not seen counts as lost. */
export const LATE_ARRIVALS = 128;
/** Undecided segments held per sender before the oldest is decided as lost (no arrival came at all). */
export const HELD_AT_MOST = 65_536;

/** A row of the ladder whose fate is known: a state change, or an arrow that arrived or was lost. */
export type MatchedRow = { kind: "state"; ev: StateTrace } | { kind: "arrow"; seg: SegmentTrace; lost: boolean };

interface PendingArrow {
  row: MatchedRow & { kind: "arrow" };
  decided: boolean;
  /** Later segments of the same sender seen arriving while this one was not. */
  overtaken: number;
  /** Sent again (a retransmission of the same segment followed while this one was undecided). */
  resent: boolean;
}

/** One sender's undecided segments, oldest first, from `head`. */
class SenderQueue {
  items: PendingArrow[] = [];
  head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  /** Marks the undecided copies of `seg`: it was sent again (rare, so a scan is fine). */
  markResent(seg: SegmentTrace): void {
    for (let i = this.head; i < this.items.length; i++) if (sameSegment(this.items[i]!.row.seg, seg)) this.items[i]!.resent = true;
  }
  /** Drops the decided prefix once it is most of the array. */
  compact(): void {
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

type QueuedRow = { row: MatchedRow; decided: boolean };

// Identity on the wire as a trace records it; a retransmission is the same segment again.
const sameSegment = (a: SegmentTrace, b: SegmentTrace) =>
  a.flags === b.flags && a.seq === b.seq && a.ack === b.ack && a.length === b.length;

/** Pairs "out" and "in" records of two endpoints; hands each row, decided, to `emit` in trace order. */
export class ArrivalMatcher {
  readonly #left: string;
  readonly #right: string;
  readonly #emit: (row: MatchedRow) => void;
  /** Rows in trace order, from the oldest undecided one (or empty). */
  #queue: QueuedRow[] = [];
  #queueHead = 0;
  /** Per sender: its undecided segments, oldest first. */
  readonly #undecided = new Map<string, SenderQueue>();
  /** Receivers that recorded at least one arrival. */
  readonly #tracesArrivals = new Set<string>();

  constructor(left: string, right: string, emit: (row: MatchedRow) => void) {
    this.#left = left;
    this.#right = right;
    this.#emit = emit;
    this.#undecided.set(left, new SenderQueue());
    this.#undecided.set(right, new SenderQueue());
  }

  /** Rows held, waiting for an older arrow's fate (each undecided segment is one of them). */
  get held(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Takes the next event, in time order; events of other endpoints are ignored. */
  push(e: TraceEvent): void {
    if (e.endpoint !== this.#left && e.endpoint !== this.#right) return;
    if (e.kind === "state") {
      this.#queue.push({ row: { kind: "state", ev: e }, decided: true });
    } else if (e.direction === "out") {
      const pending: PendingArrow = { row: { kind: "arrow", seg: e, lost: false }, decided: false, overtaken: 0, resent: false };
      this.#queue.push(pending);
      const list = this.#undecided.get(e.endpoint)!;
      if (e.retransmission) list.markResent(e);
      list.items.push(pending);
      const tracing = this.#tracesArrivals.has(this.#peerOf(e.endpoint));
      if (list.length > (tracing ? HELD_AT_MOST : LATE_ARRIVALS)) {
        this.#decide(list.items[list.head++]!, tracing);
        list.compact();
      }
    } else {
      this.#tracesArrivals.add(e.endpoint);
      this.#arrived(this.#undecided.get(this.#peerOf(e.endpoint))!, e);
    }
    this.#release();
  }

  /** Decides every segment still undecided (lost, if its receiver traces arrivals) and releases all rows. */
  finish(): void {
    for (const [sender, list] of this.#undecided) {
      const lost = this.#tracesArrivals.has(this.#peerOf(sender));
      for (let i = list.head; i < list.items.length; i++) this.#decide(list.items[i]!, lost);
      list.items = [];
      list.head = 0;
    }
    this.#release();
  }

  #peerOf(endpoint: string): string {
    return endpoint === this.#left ? this.#right : this.#left;
  }

  /**
   * An arrival takes the oldest identical undecided segment not sent again since (a copy sent again was
   * most likely lost: that is why it was sent again), else the oldest identical one; the ones it
   * overtook age towards lost. In order delivery matches the oldest, so the scan is as long as the
   * undecided losses before it.
   */
  #arrived(list: SenderQueue, seg: SegmentTrace): void {
    const items = list.items;
    let at = -1;
    for (let i = list.head; i < items.length; i++) {
      if (!sameSegment(items[i]!.row.seg, seg)) continue;
      if (at < 0) at = i;
      if (!items[i]!.resent) {
        at = i;
        break;
      }
    }
    if (at < 0) return;
    this.#decide(items[at]!, false);
    if (at === list.head) {
      list.head++;
    } else {
      items.splice(at, 1);
      // Age the overtaken ones; the oldest come first, so the lost ones leave from the front.
      for (let i = list.head; i < at; i++) items[i]!.overtaken++;
      while (list.head < items.length && items[list.head]!.overtaken >= LATE_ARRIVALS) this.#decide(items[list.head++]!, true);
    }
    list.compact();
  }

  #decide(p: PendingArrow, lost: boolean): void {
    p.decided = true;
    p.row.lost = lost;
  }

  #release(): void {
    const q = this.#queue;
    while (this.#queueHead < q.length && q[this.#queueHead]!.decided) {
      const r = q[this.#queueHead++]!;
      this.#emit(r.row);
    }
    // Drop the released prefix once it is most of the array, so the array stays as long as what is held.
    if (this.#queueHead > 64 && this.#queueHead * 2 > q.length) {
      this.#queue = q.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }
}
