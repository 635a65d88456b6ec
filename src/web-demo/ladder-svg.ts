// The live ladder diagram in SVG: the client's and the server's time lines, each segment an arrow
// from the row where its sender sent it to the row where the receiver took it in (a slanted arrow,
// the textbook picture), each state written beside its side as it is entered. Rows follow the order
// of events, not a time scale, so a burst of segments in one millisecond stays readable; the time is
// written at the left, and a quiet stretch of 100 ms or more gets a row saying how long it lasted. An arrow still on its way is
// drawn short and dashed; at the end of the run one that never arrived is drawn as lost.
import { flagNames, TcpFlag, type SegmentTrace, type TraceEvent } from "../index.js";

const NS = "http://www.w3.org/2000/svg";
const ROW = 18;
const TOP = 44;
const X_LEFT = 190;
const X_RIGHT = 610;
const WIDTH = 800;
/** A gap between two events at least this long (ms) is shown as a row of its own. */
const QUIET_MS = 100;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

interface InFlight {
  seg: SegmentTrace;
  row: number;
  group: SVGGElement;
}

export class LiveLadder {
  readonly #svg: SVGSVGElement;
  #row = 0;
  readonly #isn = new Map<string, number>();
  #inFlight: InFlight[] = [];
  #lastTimeRow = -10;
  #lastTime = 0;
  #lastLabelTime = -Infinity;

  constructor(svg: SVGSVGElement) {
    this.#svg = svg;
    this.reset();
  }

  reset(): void {
    this.#svg.replaceChildren();
    this.#row = 0;
    this.#isn.clear();
    this.#inFlight = [];
    this.#lastTimeRow = -10;
    this.#lastTime = 0;
    this.#lastLabelTime = -Infinity;
    this.#svg.setAttribute("viewBox", `0 0 ${WIDTH} ${TOP + 40}`);
    this.#svg.setAttribute("width", String(WIDTH));
    this.#svg.setAttribute("height", String(TOP + 40));
    const defs = el("defs", {});
    const marker = el("marker", { id: "head", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
    defs.append(marker);
    this.#svg.append(defs);
    this.#svg.append(el("text", { x: X_LEFT, y: 18, class: "title", "text-anchor": "middle" }, "client 10.0.0.1"));
    this.#svg.append(el("text", { x: X_RIGHT, y: 18, class: "title", "text-anchor": "middle" }, "server 10.0.0.2"));
    this.#svg.append(el("line", { x1: X_LEFT, y1: 26, x2: X_LEFT, y2: TOP, class: "timeline", id: "timeline-client" }));
    this.#svg.append(el("line", { x1: X_RIGHT, y1: 26, x2: X_RIGHT, y2: TOP, class: "timeline", id: "timeline-server" }));
  }

  /** Draws one trace event. */
  add(e: TraceEvent): void {
    const x = e.endpoint === "client" ? X_LEFT : X_RIGHT;
    const row = this.#nextRow(e.time);
    const y = TOP + row * ROW;
    if (e.kind === "state") {
      const left = e.endpoint === "client";
      this.#svg.append(el("text", { x: left ? x - 8 : x + 8, y: y + 4, class: `state ${e.endpoint}`, "data-state": e.to, "text-anchor": left ? "end" : "start" }, e.to));
      return;
    }
    if (e.direction === "out") {
      if (e.flags & TcpFlag.SYN) this.#isn.set(e.endpoint, e.seq);
      else if (!this.#isn.has(e.endpoint)) this.#isn.set(e.endpoint, e.seq);
      const toX = e.endpoint === "client" ? X_LEFT + 40 : X_RIGHT - 40;
      const g = el("g", { class: "segment in-flight", "data-from": e.endpoint, "data-flags": flagNames(e.flags), "data-len": e.length });
      if (e.retransmission) g.classList.add(e.retransmission === "probe" ? "probe" : "repair");
      g.append(el("line", { x1: x, y1: y, x2: toX, y2: y + 4, class: "arrow" }));
      this.#svg.append(g);
      this.#inFlight.push({ seg: e, row, group: g });
      return;
    }
    // An arrival: the first matching segment the other side sent.
    const at = this.#inFlight.findIndex((f) => f.seg.endpoint !== e.endpoint && f.seg.flags === e.flags && f.seg.seq === e.seq && f.seg.ack === e.ack && f.seg.length === e.length);
    if (at < 0) return;
    const [f] = this.#inFlight.splice(at, 1);
    this.#drawArrow(f!, y, false);
  }

  /** The run is over: what never arrived was lost. */
  finish(): void {
    for (const f of this.#inFlight) this.#drawArrow(f, TOP + (f.row + 2) * ROW, true);
    this.#inFlight = [];
  }

  #drawArrow(f: InFlight, yTo: number, lost: boolean): void {
    const s = f.seg;
    const fromX = s.endpoint === "client" ? X_LEFT : X_RIGHT;
    const toX = s.endpoint === "client" ? X_RIGHT : X_LEFT;
    const y0 = TOP + f.row * ROW;
    const g = f.group;
    g.replaceChildren();
    g.classList.remove("in-flight");
    if (lost) {
      g.classList.add("lost");
      const mx = fromX + (toX - fromX) * 0.55;
      const my = y0 + (yTo - y0) * 0.55;
      g.append(el("line", { x1: fromX, y1: y0, x2: mx, y2: my, class: "arrow" }));
      g.append(el("path", { d: `M ${mx - 6} ${my - 6} L ${mx + 6} ${my + 6} M ${mx - 6} ${my + 6} L ${mx + 6} ${my - 6}`, class: "cross" }));
    } else {
      g.append(el("line", { x1: fromX, y1: y0, x2: toX, y2: yTo, class: "arrow", "marker-end": "url(#head)" }));
    }
    const label = this.#label(s);
    const lx = (fromX + toX) / 2;
    const ly = (y0 + yTo) / 2 - 3;
    g.append(el("text", { x: lx, y: ly, class: "label", "text-anchor": "middle" }, label));
    g.append(el("title", {}, `${s.endpoint} -> ${s.endpoint === "client" ? "server" : "client"}: ${label}${lost ? " (lost)" : ""}`));
  }

  #label(s: SegmentTrace): string {
    const peer = s.endpoint === "client" ? "server" : "client";
    const rel = (n: number, base: number | undefined) => (base === undefined ? n : (n - base) >>> 0);
    let t = `${flagNames(s.flags)} seq=${rel(s.seq, this.#isn.get(s.endpoint))}`;
    if (s.flags & TcpFlag.ACK) t += ` ack=${rel(s.ack, this.#isn.get(peer))}`;
    if (s.length) t += ` len=${s.length}`;
    if (s.retransmission === "probe") t = `TLP ${t}`;
    else if (s.retransmission === "repair") t = `RTX ${t}`;
    return t;
  }

  #nextRow(time: number): number {
    // Rows follow events, not the clock: a quiet stretch (TIME-WAIT's 2 MSL, a retransmission
    // timeout, a pause) gets a row of its own that says how long it lasted.
    if (this.#row > 0 && time - this.#lastTime >= QUIET_MS) {
      const y = TOP + this.#row++ * ROW;
      this.#svg.append(el("text", { x: 8, y: y + 4, class: "time quiet" }, `... ${(time - this.#lastTime).toFixed(0)} ms pass`));
      this.#lastTimeRow = -10;
    }
    this.#lastTime = time;
    const row = this.#row++;
    const y = TOP + row * ROW;
    if (row - this.#lastTimeRow >= 3 || time - this.#lastLabelTime >= 1) {
      this.#lastTimeRow = row;
      this.#lastLabelTime = time;
      this.#svg.append(el("text", { x: 8, y: y + 4, class: "time" }, `${time.toFixed(1)} ms`));
    }
    const h = y + 3 * ROW;
    this.#svg.setAttribute("viewBox", `0 0 ${WIDTH} ${h}`);
    this.#svg.setAttribute("height", String(h));
    for (const side of ["client", "server"]) this.#svg.getElementById(`timeline-${side}`)?.setAttribute("y2", String(h - ROW));
    return row;
  }
}
