// The ladder diagram for a terminal: the two endpoints as columns, each segment as an arrow labelled
// with its flags and seq/ack (relative to each side's initial sequence number, and absolute), and each
// side's state written under its column as it changes. Browser-safe: it returns a string.
//
// Arrows are drawn from what the sender recorded ("out"), at the time it was sent; a segment the other
// side never recorded as arriving ("in") is drawn as lost. Runs of data segments and pure ACKs longer
// than `foldAfter` are folded into one summary line, so a 16 MiB transfer stays readable. `win=` is
// the window in bytes, as tshark shows it: the 16-bit field shifted by the sender's window scale (RFC
// 7323 2.2), which applies once both SYNs offered the option and never to a SYN itself.
//
// A trace of several connections (events carrying `local`/`remote`) is drawn by renderLadders as one
// ladder per connection, each with its own initial sequence numbers.
import { flagNames, TcpFlag, type SegmentTrace, type StateTrace, type TraceEvent } from "../core/trace.js";
import { validateArray, validateBoolean, validateInteger, validateObject, validateString } from "../core/validate.js";

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

interface Arrow {
  seg: SegmentTrace;
  lost: boolean;
}

type Row = { kind: "arrow"; arrow: Arrow } | { kind: "state"; ev: StateTrace } | { kind: "fold"; text: string };

const isBulk = (s: SegmentTrace) => (s.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) === 0;
const sameSegment = (a: SegmentTrace, b: SegmentTrace) =>
  a.flags === b.flags && a.seq === b.seq && a.ack === b.ack && a.length === b.length;

function fmtTime(ms: number): string {
  return (ms / 1000).toFixed(3).padStart(8);
}

function fmtBytes(n: number): string {
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

/**
 * Renders the ladder. `events` may interleave both endpoints in any order; they are sorted by time.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad events or options.
 */
export function renderLadder(events: readonly TraceEvent[], options: LadderOptions): string {
  validateArray(events, "events", validateObject);
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
  const { left, right } = options;
  const columns = options.columns ?? Infinity;
  const width = options.columns !== undefined ? options.columns - TIME_COL - STATE_ROOM : (options.width ?? 64);
  const foldAfter = options.foldAfter ?? 8;
  const absolute = options.absolute ?? true;
  const sorted = events
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.endpoint === left || e.endpoint === right)
    .sort((a, b) => a.e.time - b.e.time || a.i - b.i)
    .map(({ e }) => e);

  // Initial sequence numbers: the seq of each side's first SYN, else of its first segment.
  const isn = new Map<string, number>();
  for (const e of sorted) {
    if (e.kind !== "segment" || e.direction !== "out") continue;
    if (e.flags & TcpFlag.SYN) isn.set(e.endpoint, e.seq);
  }
  for (const e of sorted) {
    if (e.kind === "segment" && e.direction === "out" && !isn.has(e.endpoint)) isn.set(e.endpoint, e.seq);
  }
  const peerOf = (ep: string) => (ep === left ? right : left);
  const rel = (n: number, base: number | undefined) => (base === undefined ? n : (n - base) >>> 0);

  // Window scale shifts (RFC 7323 2.2): each side's offer counts once both SYNs carried the option.
  const offered = new Map<string, number>();
  for (const e of sorted) {
    if (e.kind === "segment" && e.direction === "out" && e.flags & TcpFlag.SYN && !offered.has(e.endpoint)) {
      offered.set(e.endpoint, e.options?.wscale ?? -1);
    }
  }
  const scaled = (offered.get(left) ?? -1) >= 0 && (offered.get(right) ?? -1) >= 0;
  const shiftOf = (ep: string) => (scaled ? Math.min(offered.get(ep)!, 14) : 0);

  // Arrival matching: each "in" consumes the first unmatched identical "out" of the other side.
  const pendingIn = new Map<string, SegmentTrace[]>();
  for (const e of sorted) {
    if (e.kind === "segment" && e.direction === "in") {
      const list = pendingIn.get(e.endpoint) ?? [];
      list.push(e);
      pendingIn.set(e.endpoint, list);
    }
  }
  const anyIn = (ep: string) => (pendingIn.get(ep)?.length ?? 0) > 0;
  const hasInTraces = { [left]: anyIn(left), [right]: anyIn(right) };

  const rows: Row[] = [];
  for (const e of sorted) {
    if (e.kind === "state") {
      rows.push({ kind: "state", ev: e });
      continue;
    }
    if (e.direction !== "out") continue;
    const receiver = peerOf(e.endpoint);
    let lost = false;
    if (hasInTraces[receiver]) {
      const list = pendingIn.get(receiver) ?? [];
      const at = list.findIndex((r) => sameSegment(r, e));
      if (at >= 0) list.splice(at, 1);
      else lost = true;
    }
    rows.push({ kind: "arrow", arrow: { seg: e, lost } });
  }

  // Fold long runs of bulk arrows (data and pure ACKs, either direction, nothing else between).
  const folded: Row[] = [];
  for (let i = 0; i < rows.length; ) {
    const r = rows[i];
    if (r.kind !== "arrow" || !isBulk(r.arrow.seg)) {
      folded.push(r);
      i++;
      continue;
    }
    let j = i;
    while (j < rows.length) {
      const x = rows[j];
      if (x.kind !== "arrow" || !isBulk(x.arrow.seg)) break;
      j++;
    }
    const run = rows.slice(i, j) as { kind: "arrow"; arrow: Arrow }[];
    if (run.length <= foldAfter) {
      folded.push(...run);
    } else {
      const head = Math.ceil(foldAfter / 2);
      const tail = Math.floor(foldAfter / 2);
      folded.push(...run.slice(0, head));
      const middle = run.slice(head, run.length - tail);
      const summary = (from: string) => {
        const segs = middle.filter((m) => m.arrow.seg.endpoint === from).map((m) => m.arrow.seg);
        const data = segs.filter((s) => s.length > 0);
        const bytes = data.reduce((n, s) => n + s.length, 0);
        const lost = middle.filter((m) => m.arrow.seg.endpoint === from && m.arrow.lost).length;
        const acks = segs.length - data.length;
        const bits: string[] = [];
        if (data.length) bits.push(`${data.length} data segments (${fmtBytes(bytes)})`);
        if (acks) bits.push(`${acks} ACKs`);
        if (lost) bits.push(`${lost} lost`);
        return bits.length ? `${from} -> ${peerOf(from)}: ${bits.join(", ")}` : "";
      };
      const t0 = middle[0].arrow.seg.time;
      const t1 = middle[middle.length - 1].arrow.seg.time;
      const parts = [summary(left), summary(right)].filter(Boolean).join("; ");
      folded.push({ kind: "fold", text: `... ${middle.length} segments folded, ${fmtTime(t0).trim()}-${fmtTime(t1).trim()} s: ${parts} ...` });
      folded.push(...run.slice(run.length - tail));
    }
    i = j;
  }

  // Columns: the time, then the left endpoint's bar, the arrow, the right endpoint's bar. State names
  // are written starting under their endpoint's bar.
  const leftCol = TIME_COL;
  const rightCol = leftCol + width;
  const lines: string[] = [];
  const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
  // Text that may be longer than the terminal: wrapped at spaces, continuation lines indented.
  const wrapped = (indent: number, text: string) => {
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
  };
  const fitTitle = (t: string, room: number) => (t.length <= room ? t : t.slice(0, Math.max(room - 1, 1)) + "~");
  const leftTitle = fitTitle(options.leftTitle ?? left, width - 2);
  const rightTitle = fitTitle(options.rightTitle ?? right, Math.min(columns - leftCol - leftTitle.length - 2, 4096));
  // A right title longer than the state column ends where the state names may end.
  const rightAt = Math.max(rightCol - Math.max(rightTitle.length - STATE_ROOM, 0), leftCol + leftTitle.length + 2);
  lines.push(pad(" ".repeat(leftCol) + leftTitle, rightAt) + rightTitle);
  lines.push(pad(" ".repeat(leftCol) + "-".repeat(Math.min(leftTitle.length, width)), rightAt) + "-".repeat(rightTitle.length));

  // The label's parts: the flags and numbers, then the absolute numbers (dropped below the arrow first
  // when the arrow is short).
  const labelFor = (s: SegmentTrace): { main: string; abs: string } => {
    const mine = isn.get(s.endpoint);
    const theirs = isn.get(peerOf(s.endpoint));
    let text = `${flagNames(s.flags)} seq=${rel(s.seq, mine)}`;
    if (s.flags & TcpFlag.ACK) text += ` ack=${rel(s.ack, theirs)}`;
    if (s.length) text += ` len=${s.length}`;
    // A SYN's window is never scaled (RFC 7323 2.2).
    text += ` win=${s.flags & TcpFlag.SYN ? s.window : s.window * 2 ** shiftOf(s.endpoint)}`;
    if (s.retransmission === "probe") text = `TLP ${text}`;
    else if (s.retransmission === "repair") text = `RTX ${text}`;
    let abs = "";
    if (absolute && s.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) {
      abs = `[${s.seq >>> 0}${s.flags & TcpFlag.ACK ? `/${s.ack >>> 0}` : ""}]`;
    }
    return { main: text, abs };
  };

  for (const r of folded) {
    if (r.kind === "state") {
      const col = r.ev.endpoint === left ? leftCol : rightCol;
      lines.push(pad(fmtTime(r.ev.time), col) + r.ev.to);
    } else if (r.kind === "fold") {
      wrapped(leftCol, r.text);
    } else {
      const s = r.arrow.seg;
      const { main, abs } = labelFor(s);
      const header = abs ? `${main} ${abs}` : main;
      const options = fmtOptions(s.options).trim();
      const body = width - 1; // between the two bars, arrow head included
      const toRight = s.endpoint === left;
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
      if (above) wrapped(leftCol + 2, above);
      if (onArrow) {
        const text = ` ${onArrow} `;
        const dashes = body - 1 - text.length;
        const before = Math.floor(dashes / 2);
        shaft = "-".repeat(before) + text + "-".repeat(dashes - before);
      } else {
        shaft = "-".repeat(body - 1);
      }
      let arrow = toRight ? shaft + ">" : "<" + shaft;
      if (r.arrow.lost) {
        arrow = toRight ? arrow.slice(0, -4) + " x  " : "  x " + arrow.slice(4);
      }
      lines.push(pad(fmtTime(s.time), leftCol) + "|" + arrow + "|");
      if (below) {
        if (below.length <= body) lines.push(" ".repeat(leftCol + 1) + (toRight ? below : below.padStart(body)));
        else wrapped(leftCol + 1, below);
      }
    }
  }
  if (options.legend) {
    const used = {
      absolute: absolute && sorted.some((e) => e.kind === "segment" && e.direction === "out" && e.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)),
      scaled,
      lost: rows.some((r) => r.kind === "arrow" && r.arrow.lost),
      repair: sorted.some((e) => e.kind === "segment" && e.retransmission === "repair"),
      probe: sorted.some((e) => e.kind === "segment" && e.retransmission === "probe"),
      folded: folded.some((r) => r.kind === "fold"),
      options: sorted.some((e) => e.kind === "segment" && e.options && Object.keys(e.options).length > 0),
    };
    lines.push("");
    for (const [key, text] of legendEntries(used, { [left]: shiftOf(left), [right]: shiftOf(right) })) {
      const head = `  ${key.padEnd(11)} `;
      const before = lines.length;
      wrapped(head.length, text);
      lines[before] = head + lines[before]!.slice(head.length);
    }
  }
  return lines.join("\n") + "\n";
}

interface LegendUse {
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
  if (used.folded) out.push(["...", "a run of data segments and ACKs folded into one summary line"]);
  return out;
}

/**
 * One ladder per connection: events are grouped by their `local`/`remote` endpoints (the stack sets
 * them), so each connection gets its own initial sequence numbers. An event outside any connection
 * (a RST answering a SYN to a closed port) joins the connection traced just before it. With one
 * connection this is renderLadder with titles naming the endpoints' addresses.
 */
export function renderLadders(events: readonly TraceEvent[], options: LadderOptions): string {
  validateArray(events, "events", validateObject);
  validateObject(options, "options");
  const sorted = events.map((e, i) => ({ e, i })).sort((a, b) => a.e.time - b.e.time || a.i - b.i).map(({ e }) => e);
  const groups = new Map<string, TraceEvent[]>();
  const untaggedFirst: TraceEvent[] = [];
  let last: TraceEvent[] | undefined;
  for (const e of sorted) {
    if (e.local === undefined || e.remote === undefined) {
      (last ?? untaggedFirst).push(e);
      continue;
    }
    const key = [e.local, e.remote].sort().join(" ");
    let g = groups.get(key);
    if (!g) {
      g = [...untaggedFirst.splice(0)];
      groups.set(key, g);
    }
    g.push(e);
    last = g;
  }
  if (groups.size === 0) return renderLadder(untaggedFirst, options);
  const parts: string[] = [];
  let n = 0;
  for (const [key, g] of groups) {
    n++;
    const at = (ep: string) => g.find((e) => e.endpoint === ep && e.local !== undefined)?.local;
    const title = (ep: string, given: string | undefined) => given ?? (at(ep) ? `${ep} ${at(ep)}` : ep);
    const head = groups.size > 1 ? `connection ${n} of ${groups.size}: ${key.replace(" ", " <-> ")}\n\n` : "";
    parts.push(head + renderLadder(g, { ...options, leftTitle: title(options.left, options.leftTitle), rightTitle: title(options.right, options.rightTitle), legend: options.legend && n === groups.size }));
  }
  return parts.join("\n");
}
