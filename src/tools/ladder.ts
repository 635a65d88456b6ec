// The ladder diagram for a terminal: the two endpoints as columns, each segment as an arrow labelled
// with its flags and seq/ack (relative to each side's initial sequence number, and absolute), and each
// side's state written under its column as it changes. Browser-safe: it returns a string.
//
// Arrows are drawn from what the sender recorded ("out"), at the time it was sent; a segment the other
// side never recorded as arriving ("in") is drawn as lost (ladder-match.ts). Runs of data segments and
// pure ACKs longer than `foldAfter` are folded into summary lines, retransmissions and losses kept
// (ladder-fold.ts), so a 1 GiB transfer stays readable. `win=` is the window in bytes, as tshark
// shows it: the 16-bit field shifted by the sender's window scale (RFC 7323 2.2), which applies once
// both SYNs offered the option and never to a SYN itself.
//
// LadderStream takes the trace one event at a time, as a stack's trace sink hands it over, and keeps
// only what folding leaves to draw: its work per event and what it holds do not grow with the trace.
// renderLadder sorts a recorded trace by time and streams it through one.
//
// A trace of several connections (events carrying `local`/`remote`) is drawn by renderLadders (and
// LaddersStream) as one ladder per connection, each with its own initial sequence numbers.
import { flagNames, TcpFlag, type SegmentTrace, type StateTrace, type TraceEvent } from "../core/trace.js";
import { validateArray, validateBoolean, validateInteger, validateObject, validateString } from "../core/validate.js";
import { ArrivalMatcher } from "./ladder-match.js";
import { NOTABLE_KEPT, RunFolder, type FoldedRow, type FoldSummary } from "./ladder-fold.js";

/** Options of renderLadder: which endpoints are drawn where, and how wide. */
export interface LadderOptions {
  /** The endpoint drawn on the left (its "out" segments point right). */
  left: string;
  /** The endpoint drawn on the right. */
  right: string;
  /** Column titles, e.g. "client 10.0.0.1:49152"; default the endpoint names. */
  leftTitle?: string;
  /** Title of the right column; default the endpoint name. */
  rightTitle?: string;
  /** Width of the arrow between the two columns, in characters (default 64). */
  width?: number;
  /** Fold a run of more than this many data/ACK segments into a summary line (default 8). */
  foldAfter?: number;
  /** Show absolute sequence numbers beside the relative ones (default true). */
  absolute?: boolean;
  /**
   * The terminal's width: every line fits in it (the arrow width follows, `width` is then ignored;
   * long labels and summaries wrap). Default: no limit, the arrow is `width` wide.
   */
  columns?: number;
  /** Append a legend that explains the notation this ladder uses (default false). */
  legend?: boolean;
}

/** Where the state names start under the right column: room for the longest one, "SYN-RECEIVED". */
const STATE_ROOM = 12;
/** The time column: "  12.345 ". */
const TIME_COL = 9;

function fmtTime(ms: number): string {
  return (ms / 1000).toFixed(3).padStart(8);
}

function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 1 : 0)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(n % (1 << 10) ? 1 : 0)} KiB`;
  return `${n} B`;
}

function fmtOptions(o: SegmentTrace["options"]): string {
  if (!o) return "";
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`mss ${o.mss}`);
  if (o.wscale !== undefined) parts.push(`ws ${o.wscale}`);
  if (o.sackPermitted) parts.push("sackOK");
  if (o.timestamps) parts.push(`ts ${o.timestamps.value}/${o.timestamps.echo}`);
  if (o.sack?.length) parts.push(`sack ${o.sack.map(([l, r]) => `${l}-${r}`).join(",")}`);
  return parts.length ? ` <${parts.join(", ")}>` : "";
}

function validateLadderOptions(options: LadderOptions): void {
  validateObject(options, "options");
  validateString(options.left, "options.left");
  validateString(options.right, "options.right");
  if (options.leftTitle !== undefined) validateString(options.leftTitle, "options.leftTitle");
  if (options.rightTitle !== undefined) validateString(options.rightTitle, "options.rightTitle");
  if (options.width !== undefined) validateInteger(options.width, "options.width", 24, 4096);
  if (options.foldAfter !== undefined) validateInteger(options.foldAfter, "options.foldAfter", 1);
  if (options.absolute !== undefined) validateBoolean(options.absolute, "options.absolute");
  if (options.columns !== undefined) validateInteger(options.columns, "options.columns", TIME_COL + 24 + STATE_ROOM, 4096);
  if (options.legend !== undefined) validateBoolean(options.legend, "options.legend");
}

/**
 * A ladder drawn as the trace streams in: push() each event in time order, finish() for the text.
 * Only the lines left after folding are kept, and a bounded number of rows waiting for an arrow's
 * fate or for the end of a run (`retained` counts both).
 */
export class LadderStream {
  readonly #left: string;
  readonly #right: string;
  readonly #options: LadderOptions;
  readonly #columns: number;
  readonly #width: number;
  readonly #absolute: boolean;
  readonly #matcher: ArrivalMatcher;
  readonly #folder: RunFolder;
  /** The drawn lines after the two title lines, which finish() writes when the titles are known. */
  #lines: string[] = [];
  /** Each side's initial sequence number: its first SYN's seq, or its first segment's until a SYN comes (a trace begun mid-connection has none). */
  readonly #isn = new Map<string, number>();
  readonly #synSeen = new Set<string>();
  /** Each side's window scale offer in its first SYN (-1: none), RFC 7323 2.2. */
  readonly #offered = new Map<string, number>();
  /** Each side's own address, from the first event that names it. */
  readonly #local = new Map<string, string>();
  readonly #used: LegendUse = { absolute: false, scaled: false, lost: false, repair: false, probe: false, folded: false, notableFolded: false, options: false };
  #finished: string | undefined;

  /** @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options. */
  constructor(options: LadderOptions) {
    validateLadderOptions(options);
    this.#options = options;
    this.#left = options.left;
    this.#right = options.right;
    this.#columns = options.columns ?? Infinity;
    this.#width = options.columns !== undefined ? options.columns - TIME_COL - STATE_ROOM : (options.width ?? 64);
    this.#absolute = options.absolute ?? true;
    this.#folder = new RunFolder(options.foldAfter ?? 8, (row) => this.#draw(row));
    this.#matcher = new ArrivalMatcher(this.#left, this.#right, (row) => {
      if (row.kind === "arrow" && row.lost) this.#used.lost = true;
      this.#folder.push(row);
    });
  }

  /** Rows and lines held: does not grow with the number of segments, only with what is drawn. */
  get retained(): number {
    return this.#matcher.held + this.#folder.held + this.#lines.length;
  }

  /** Takes the next event (events must come in time order; other endpoints' are ignored). */
  push(e: TraceEvent): void {
    if (this.#finished !== undefined) return;
    const ep = e.endpoint;
    if (ep !== this.#left && ep !== this.#right) return;
    if (e.local !== undefined && !this.#local.has(ep)) this.#local.set(ep, e.local);
    if (e.kind === "segment") {
      if (e.direction === "out") {
        if (e.flags & TcpFlag.SYN && !this.#synSeen.has(ep)) {
          this.#synSeen.add(ep);
          this.#isn.set(ep, e.seq);
          this.#offered.set(ep, e.options?.wscale ?? -1);
        } else if (!this.#isn.has(ep)) {
          this.#isn.set(ep, e.seq);
        }
        if (this.#absolute && e.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) this.#used.absolute = true;
      }
      if (e.retransmission === "repair") this.#used.repair = true;
      if (e.retransmission === "probe") this.#used.probe = true;
      if (!this.#used.options && e.options && Object.keys(e.options).length > 0) this.#used.options = true;
    }
    this.#matcher.push(e);
  }

  /** The ladder's text: decides what is still undecided, ends the last run, adds the legend if asked. */
  finish(): string {
    return this.finishTitled(this.#options.leftTitle ?? this.#left, this.#options.rightTitle ?? this.#right, this.#options.legend ?? false);
  }

  /** The address the first event of `endpoint` named as its own, if any (for titles). */
  localOf(endpoint: string): string | undefined {
    return this.#local.get(endpoint);
  }

  /** finish() with these column titles and legend choice (renderLadders' titles name the addresses). */
  finishTitled(leftTitleGiven: string, rightTitleGiven: string, legend: boolean): string {
    if (this.#finished !== undefined) return this.#finished;
    this.#matcher.finish();
    this.#folder.finish();
    const columns = this.#columns;
    const width = this.#width;
    const leftCol = TIME_COL;
    const rightCol = leftCol + width;
    const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
    const fitTitle = (t: string, room: number) => (t.length <= room ? t : t.slice(0, Math.max(room - 1, 1)) + "~");
    const leftTitle = fitTitle(leftTitleGiven, width - 2);
    const rightTitle = fitTitle(rightTitleGiven, Math.min(columns - leftCol - leftTitle.length - 2, 4096));
    // A right title longer than the state column ends where the state names may end.
    const rightAt = Math.max(rightCol - Math.max(rightTitle.length - STATE_ROOM, 0), leftCol + leftTitle.length + 2);
    const lines = [
      pad(" ".repeat(leftCol) + leftTitle, rightAt) + rightTitle,
      pad(" ".repeat(leftCol) + "-".repeat(Math.min(leftTitle.length, width)), rightAt) + "-".repeat(rightTitle.length),
      ...this.#lines,
    ];
    this.#lines = [];
    if (legend) {
      lines.push("");
      this.#used.scaled = this.#scaled();
      this.#used.notableFolded = this.#folder.notableFolded;
      const shifts = { [this.#left]: this.#shiftOf(this.#left), [this.#right]: this.#shiftOf(this.#right) };
      for (const [key, text] of legendEntries(this.#used, shifts)) {
        const head = `  ${key.padEnd(11)} `;
        const before = lines.length;
        wrapText(lines, columns, head.length, text);
        lines[before] = head + lines[before]!.slice(head.length);
      }
    }
    return (this.#finished = lines.join("\n") + "\n");
  }

  #peerOf(ep: string): string {
    return ep === this.#left ? this.#right : this.#left;
  }

  /** Window scaling is in use once both SYNs offered it (RFC 7323 2.2). */
  #scaled(): boolean {
    return (this.#offered.get(this.#left) ?? -1) >= 0 && (this.#offered.get(this.#right) ?? -1) >= 0;
  }

  #shiftOf(ep: string): number {
    return this.#scaled() ? Math.min(this.#offered.get(ep)!, 14) : 0;
  }

  /** The label's parts: the flags and numbers, then the absolute numbers (dropped below the arrow first when the arrow is short). */
  #labelFor(s: SegmentTrace): { main: string; abs: string } {
    const rel = (n: number, base: number | undefined) => (base === undefined ? n : (n - base) >>> 0);
    const mine = this.#isn.get(s.endpoint);
    const theirs = this.#isn.get(this.#peerOf(s.endpoint));
    let text = `${flagNames(s.flags)} seq=${rel(s.seq, mine)}`;
    if (s.flags & TcpFlag.ACK) text += ` ack=${rel(s.ack, theirs)}`;
    if (s.length) text += ` len=${s.length}`;
    // A SYN's window is never scaled (RFC 7323 2.2).
    text += ` win=${s.flags & TcpFlag.SYN ? s.window : s.window * 2 ** this.#shiftOf(s.endpoint)}`;
    if (s.retransmission === "probe") text = `TLP ${text}`;
    else if (s.retransmission === "repair") text = `RTX ${text}`;
    let abs = "";
    if (this.#absolute && s.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) {
      abs = `[${s.seq >>> 0}${s.flags & TcpFlag.ACK ? `/${s.ack >>> 0}` : ""}]`;
    }
    return { main: text, abs };
  }

  #foldText(f: FoldSummary): string {
    const side = (from: string) => {
      const c = f.bySender.get(from);
      if (!c) return "";
      const bits: string[] = [];
      if (c.data) bits.push(`${c.data} data segments (${fmtBytes(c.bytes)})`);
      if (c.acks) bits.push(`${c.acks} ACKs`);
      if (c.lost) bits.push(`${c.lost} lost`);
      if (c.retransmitted) bits.push(`${c.retransmitted} sent again`);
      return bits.length ? `${from} -> ${this.#peerOf(from)}: ${bits.join(", ")}` : "";
    };
    const parts = [side(this.#left), side(this.#right)].filter(Boolean).join("; ");
    return `... ${f.segments} segments folded, ${fmtTime(f.from).trim()}-${fmtTime(f.to).trim()} s: ${parts} ...`;
  }

  // Columns: the time, then the left endpoint's bar, the arrow, the right endpoint's bar. State names
  // are written starting under their endpoint's bar.
  #draw(r: FoldedRow): void {
    const lines = this.#lines;
    const columns = this.#columns;
    const width = this.#width;
    const leftCol = TIME_COL;
    const rightCol = leftCol + width;
    const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
    if (r.kind === "state") {
      const col = r.ev.endpoint === this.#left ? leftCol : rightCol;
      lines.push(pad(fmtTime(r.ev.time), col) + r.ev.to);
      return;
    }
    if (r.kind === "fold") {
      this.#used.folded = true;
      wrapText(lines, columns, leftCol, this.#foldText(r.summary));
      return;
    }
    const s = r.seg;
    const { main, abs } = this.#labelFor(s);
    const header = abs ? `${main} ${abs}` : main;
    const options = fmtOptions(s.options).trim();
    const body = width - 1; // between the two bars, arrow head included
    const toRight = s.endpoint === this.#left;
    const fits = (t: string) => t.length + 2 + 4 <= body;
    const join = (...parts: string[]) => parts.filter(Boolean).join(" ");
    // The arrow carries as much of the label as fits: everything, else the header with the options
    // on a line below, else the flags and numbers with the absolute numbers and options below, else
    // a bare arrow with the label above it.
    let onArrow = "";
    let above = "";
    let below = "";
    if (fits(join(header, options))) onArrow = join(header, options);
    else if (fits(header)) {
      onArrow = header;
      below = options;
    } else if (fits(main)) {
      onArrow = main;
      below = join(abs, options);
    } else above = join(header, options);
    let shaft: string;
    if (above) wrapText(lines, columns, leftCol + 2, above);
    if (onArrow) {
      const text = ` ${onArrow} `;
      const dashes = body - 1 - text.length;
      const before = Math.floor(dashes / 2);
      shaft = "-".repeat(before) + text + "-".repeat(dashes - before);
    } else {
      shaft = "-".repeat(body - 1);
    }
    let arrow = toRight ? shaft + ">" : "<" + shaft;
    if (r.lost) {
      arrow = toRight ? arrow.slice(0, -4) + " x  " : "  x " + arrow.slice(4);
    }
    lines.push(pad(fmtTime(s.time), leftCol) + "|" + arrow + "|");
    if (below) {
      if (below.length <= body) lines.push(" ".repeat(leftCol + 1) + (toRight ? below : below.padStart(body)));
      else wrapText(lines, columns, leftCol + 1, below);
    }
  }
}

/** Appends `text` to `lines`, wrapped at spaces to `columns`, continuation lines indented by two more. */
function wrapText(lines: string[], columns: number, indent: number, text: string): void {
  const room = columns - indent;
  let rest = text;
  for (let first = true; ; first = false) {
    const lead = " ".repeat(first ? indent : indent + 2);
    const fit = first ? room : room - 2;
    if (rest.length <= fit) {
      lines.push(lead + rest);
      return;
    }
    let cut = rest.lastIndexOf(" ", fit);
    if (cut <= 0) cut = fit;
    lines.push(lead + rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
}

/**
 * Renders the ladder. `events` may interleave both endpoints in any order; they are sorted by time.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad events or options.
 */
export function renderLadder(events: readonly TraceEvent[], options: LadderOptions): string {
  validateArray(events, "events", validateObject);
  const ladder = new LadderStream(options);
  for (const e of byTime(events)) ladder.push(e);
  return ladder.finish();
}

/** The events sorted by time, ties in their given order. */
function byTime(events: readonly TraceEvent[]): TraceEvent[] {
  return events.map((e, i) => ({ e, i })).sort((a, b) => a.e.time - b.e.time || a.i - b.i).map(({ e }) => e);
}

interface LegendUse {
  /** Retransmissions or losses counted in a fold line rather than drawn. */
  notableFolded: boolean;
  absolute: boolean;
  scaled: boolean;
  lost: boolean;
  repair: boolean;
  probe: boolean;
  folded: boolean;
  options: boolean;
}

/** The legend's entries, only for notation the ladder uses. */
function legendEntries(used: LegendUse, shifts: Record<string, number>): [string, string][] {
  const out: [string, string][] = [["legend", "time in seconds on the left; each side's state is written under its column when entered"]];
  out.push(["seq= ack=", "relative sequence numbers: each side counts from its initial sequence number (ISN), so its SYN is seq=0 and its first data byte is seq=1 (RFC 9293 3.4)"]);
  if (used.absolute) out.push(["[s/a]", "the absolute seq (and ack) as on the wire, shown on SYN, FIN and RST segments"]);
  out.push(["len=", "payload bytes"]);
  if (used.scaled) {
    const each = Object.entries(shifts).map(([ep, n]) => `${ep} ${2 ** n}`).join(", ");
    out.push(["win=", `the receive window in bytes: the 16-bit window field times the sender's window scale factor (${each}; RFC 7323 2.2), as tshark shows it; a SYN's window is never scaled`]);
  } else {
    out.push(["win=", "the receive window in bytes (the 16-bit window field; no window scaling on this connection)"]);
  }
  if (used.options) out.push(["<...>", "TCP options: mss (maximum segment size), ws (window scale shift), sackOK (SACK permitted), ts (timestamp value/echo), sack (blocks received)"]);
  if (used.lost) out.push(["x", "sent but lost on the link: the receiver never saw it"]);
  if (used.repair) out.push(["RTX", "data sent again to repair a loss (retransmission timeout or fast retransmit)"]);
  if (used.probe) out.push(["TLP", "a tail-loss probe (RFC 8985 7.3): the last segment sent again when no ACK came for about two round trips, drawn where it was sent (an ACK drawn above it may have been on its way)"]);
  if (used.folded) {
    const counted = used.notableFolded ? `; past the first ${NOTABLE_KEPT}, retransmissions ("sent again") and losses are only counted there` : "";
    out.push(["...", `a run of data segments and ACKs folded into one summary line: its first and last arrows are drawn, the middle counted per direction; retransmissions and losses are drawn with the arrows just before them${counted}`]);
  }
  return out;
}

/**
 * One ladder per connection, as the trace streams in: events are grouped by their `local`/`remote`
 * endpoints (the stack sets them), so each connection gets its own initial sequence numbers. An event
 * outside any connection (a RST answering a SYN to a closed port) joins the connection traced just
 * before it; events before any connection join the first one.
 */
export class LaddersStream {
  readonly #options: LadderOptions;
  readonly #groups = new Map<string, LadderStream>();
  /** Where untagged events go: the connection traced last, or the one still to come. */
  #last: LadderStream;
  #unclaimed: LadderStream | undefined;

  /** @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options. */
  constructor(options: LadderOptions) {
    validateLadderOptions(options);
    this.#options = options;
    this.#unclaimed = this.#last = new LadderStream(options);
  }

  /** What the ladders hold (LadderStream.retained, summed). */
  get retained(): number {
    let n = this.#unclaimed?.retained ?? 0;
    for (const g of this.#groups.values()) n += g.retained;
    return n;
  }

  /** Takes the next event, in time order. */
  push(e: TraceEvent): void {
    if (e.local === undefined || e.remote === undefined) {
      this.#last.push(e);
      return;
    }
    const key = e.local < e.remote ? `${e.local} ${e.remote}` : `${e.remote} ${e.local}`;
    let g = this.#groups.get(key);
    if (!g) {
      g = this.#unclaimed ?? new LadderStream(this.#options);
      this.#unclaimed = undefined;
      this.#groups.set(key, g);
    }
    g.push(e);
    this.#last = g;
  }

  /** The ladders' text, each headed "connection n of N" when there are several. */
  finish(): string {
    const options = this.#options;
    if (this.#groups.size === 0) return this.#last.finish();
    const parts: string[] = [];
    let n = 0;
    for (const [key, g] of this.#groups) {
      n++;
      const title = (ep: string, given: string | undefined) => given ?? (g.localOf(ep) ? `${ep} ${g.localOf(ep)}` : ep);
      const head = this.#groups.size > 1 ? `connection ${n} of ${this.#groups.size}: ${key.replace(" ", " <-> ")}\n\n` : "";
      // The legend once, after the last ladder.
      const legend = (options.legend ?? false) && n === this.#groups.size;
      parts.push(head + g.finishTitled(title(options.left, options.leftTitle), title(options.right, options.rightTitle), legend));
    }
    return parts.join("\n");
  }
}

/**
 * One ladder per connection: events are grouped by their `local`/`remote` endpoints (the stack sets
 * them), so each connection gets its own initial sequence numbers. The events are sorted by time and
 * streamed through a LaddersStream; with one connection this is renderLadder with titles naming the
 * endpoints' addresses.
 */
export function renderLadders(events: readonly TraceEvent[], options: LadderOptions): string {
  validateArray(events, "events", validateObject);
  const ladders = new LaddersStream(options);
  for (const e of byTime(events)) ladders.push(e);
  return ladders.finish();
}

