// The ladder diagram for a terminal: the two endpoints as columns, each segment as an arrow labelled
// with its flags and seq/ack (relative to each side's initial sequence number, and absolute), and each
// side's state written under its column as it changes. Browser-safe: it returns a string.
//
// Arrows are drawn from what the sender recorded ("out"); a segment the other side never recorded as
// arriving ("in") is drawn as lost. Runs of data segments and pure ACKs longer than `foldAfter` are
// folded into one summary line, so a 16 MiB transfer stays readable.
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
}

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
  const { left, right } = options;
  const width = options.width ?? 64;
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
  const leftCol = 9;
  const rightCol = leftCol + width;
  const lines: string[] = [];
  const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
  const leftTitle = options.leftTitle ?? left;
  const rightTitle = options.rightTitle ?? right;
  lines.push(pad(" ".repeat(leftCol) + leftTitle, rightCol) + rightTitle);
  lines.push(pad(" ".repeat(leftCol) + "-".repeat(Math.min(leftTitle.length, width)), rightCol) + "-".repeat(rightTitle.length));

  const headerFor = (s: SegmentTrace): string => {
    const mine = isn.get(s.endpoint);
    const theirs = isn.get(peerOf(s.endpoint));
    let text = `${flagNames(s.flags)} seq=${rel(s.seq, mine)}`;
    if (s.flags & TcpFlag.ACK) text += ` ack=${rel(s.ack, theirs)}`;
    if (s.length) text += ` len=${s.length}`;
    text += ` win=${s.window}`;
    if (absolute && s.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) {
      text += ` [${s.seq >>> 0}${s.flags & TcpFlag.ACK ? `/${s.ack >>> 0}` : ""}]`;
    }
    return text;
  };

  for (const r of folded) {
    if (r.kind === "state") {
      const col = r.ev.endpoint === left ? leftCol : rightCol;
      lines.push(pad(fmtTime(r.ev.time), col) + r.ev.to);
    } else if (r.kind === "fold") {
      lines.push(" ".repeat(leftCol) + r.text);
    } else {
      const s = r.arrow.seg;
      const header = headerFor(s);
      const options = fmtOptions(s.options).trim();
      const body = width - 1; // between the two bars, arrow head included
      const toRight = s.endpoint === left;
      const fits = (t: string) => t.length + 2 + 4 <= body;
      // The arrow carries as much of the label as fits: everything, else the header with the
      // options on a line below, else a bare arrow with the label above it.
      let onArrow = "";
      let above = "";
      let below = "";
      if (fits(options ? `${header} ${options}` : header)) onArrow = options ? `${header} ${options}` : header;
      else if (fits(header)) {
        onArrow = header;
        below = options;
      } else above = options ? `${header} ${options}` : header;
      let shaft: string;
      if (above) lines.push(" ".repeat(leftCol + 2) + above);
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
      if (below) lines.push(" ".repeat(leftCol + 1) + (toRight ? below : below.padStart(body)));
    }
  }
  return lines.join("\n") + "\n";
}
