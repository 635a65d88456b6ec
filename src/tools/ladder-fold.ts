// Folding for the ladder, as rows stream in: a long run of data segments and pure ACKs (nothing else
// between) shows its first and last few arrows and one summary line for the middle, with counts per
// direction. Segments a reader looks for in a long run, retransmissions and losses, are kept as arrows
// (with the two arrows before them, which show why) up to a budget per ladder; past it they are
// counted in the summaries. State changes, SYN, FIN and RST always show. Browser-safe.
//
// What is held is a fixed number of arrows (the tail of the run) and one summary's counters, so the
// ladder of a 1 GiB transfer costs what the ladder of 1 MiB does.
import { TcpFlag, type SegmentTrace } from "../core/trace.js";
import type { MatchedRow } from "./ladder-match.js";

/** A row to draw: a matched row, or a summary of arrows folded away. */
export type FoldedRow = MatchedRow | { kind: "fold"; summary: FoldSummary };

/** The arrows a fold line stands for, per sender. */
export interface FoldSummary {
  segments: number;
  /** Time of the first and last folded arrow. */
  from: number;
  to: number;
  bySender: Map<string, SenderCounts>;
}

/** One sender's folded arrows. */
export interface SenderCounts {
  data: number;
  bytes: number;
  acks: number;
  lost: number;
  retransmitted: number;
}

/** Retransmissions and losses kept as arrows in one ladder before they are only counted. */
export const NOTABLE_KEPT = 16;
/** Arrows drawn before a kept one: what it answers (the ACK before a probe, duplicate ACKs before a repair). */
const NOTABLE_CONTEXT = 2;

const isBulk = (s: SegmentTrace) => (s.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) === 0;

/** Folds runs of bulk arrows in the rows it is given; hands the rows to draw to `emit`, in order. */
export class RunFolder {
  readonly #head: number;
  readonly #tail: number;
  readonly #emit: (row: FoldedRow) => void;
  /** Arrows of the current run still shown in full from its start (or after a kept one). */
  #headLeft: number;
  /** The run's last arrows, oldest first: shown after the summary if the run ends here. */
  #ring: MatchedRow[] = [];
  #summary: FoldSummary | undefined;
  #notableLeft = NOTABLE_KEPT;
  /** Whether any retransmission or loss was folded into a summary rather than drawn. */
  notableFolded = false;

  /** Runs longer than `foldAfter` fold (its first half rounded up shows before the summary). */
  constructor(foldAfter: number, emit: (row: FoldedRow) => void) {
    this.#head = Math.ceil(foldAfter / 2);
    this.#tail = Math.floor(foldAfter / 2);
    this.#headLeft = this.#head;
    this.#emit = emit;
  }

  /** Arrows held for the end of the run. */
  get held(): number {
    return this.#ring.length;
  }

  push(row: MatchedRow): void {
    if (row.kind !== "arrow" || !isBulk(row.seg)) {
      this.#endRun();
      this.#emit(row);
      return;
    }
    if (this.#headLeft > 0) {
      this.#headLeft--;
      this.#emit(row);
      return;
    }
    if ((row.lost || row.seg.retransmission) && this.#notableLeft > 0) {
      // Kept: the summary so far, the arrows just before it, then the segment itself.
      this.#notableLeft--;
      while (this.#ring.length > NOTABLE_CONTEXT) this.#fold(this.#ring.shift()!);
      this.#flush();
      this.#emit(row);
      return;
    }
    this.#ring.push(row);
    if (this.#ring.length > this.#tail) this.#fold(this.#ring.shift()!);
  }

  /** Ends the current run (call at the end of the trace). */
  finish(): void {
    this.#endRun();
  }

  #endRun(): void {
    this.#flush();
    this.#headLeft = this.#head;
  }

  #flush(): void {
    if (this.#summary) this.#emit({ kind: "fold", summary: this.#summary });
    this.#summary = undefined;
    for (const r of this.#ring) this.#emit(r);
    this.#ring = [];
  }

  #fold(row: MatchedRow): void {
    if (row.kind !== "arrow") return;
    const s = row.seg;
    const summary = (this.#summary ??= { segments: 0, from: s.time, to: s.time, bySender: new Map() });
    summary.segments++;
    summary.to = s.time;
    let c = summary.bySender.get(s.endpoint);
    if (!c) summary.bySender.set(s.endpoint, (c = { data: 0, bytes: 0, acks: 0, lost: 0, retransmitted: 0 }));
    if (s.length > 0) {
      c.data++;
      c.bytes += s.length;
    } else {
      c.acks++;
    }
    if (row.lost) c.lost++;
    if (s.retransmission) c.retransmitted++;
    if (row.lost || s.retransmission) this.notableFolded = true;
  }
}
