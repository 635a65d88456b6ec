// The connection state diagram of RFC 9293 3.3.2 (figure 5) in SVG, with each side's current state
// lit: the client's in one colour, the server's in another, both when they share a state.
import type { TcpState } from "../index.js";

const NS = "http://www.w3.org/2000/svg";

/** Box centres, laid out as figure 5 lays them out. */
const BOXES: Record<Exclude<TcpState, never>, [number, number]> = {
  CLOSED: [270, 30],
  LISTEN: [270, 100],
  "SYN-RECEIVED": [100, 180],
  "SYN-SENT": [440, 180],
  ESTABLISHED: [270, 250],
  "FIN-WAIT-1": [100, 330],
  "CLOSE-WAIT": [440, 330],
  "FIN-WAIT-2": [60, 420],
  CLOSING: [200, 420],
  "LAST-ACK": [440, 420],
  "TIME-WAIT": [160, 500],
};

/** The transitions of figure 5 with their event/action labels. */
const EDGES: [TcpState, TcpState, string][] = [
  ["CLOSED", "LISTEN", "passive open"],
  ["CLOSED", "SYN-SENT", "active open / SYN"],
  ["LISTEN", "SYN-RECEIVED", "rcv SYN / SYN,ACK"],
  ["LISTEN", "SYN-SENT", "send / SYN"],
  ["SYN-SENT", "SYN-RECEIVED", "rcv SYN / ACK"],
  ["SYN-RECEIVED", "ESTABLISHED", "rcv ACK of SYN"],
  ["SYN-SENT", "ESTABLISHED", "rcv SYN,ACK / ACK"],
  ["SYN-RECEIVED", "FIN-WAIT-1", "close / FIN"],
  ["ESTABLISHED", "FIN-WAIT-1", "close / FIN"],
  ["ESTABLISHED", "CLOSE-WAIT", "rcv FIN / ACK"],
  ["FIN-WAIT-1", "FIN-WAIT-2", "rcv ACK of FIN"],
  ["FIN-WAIT-1", "CLOSING", "rcv FIN / ACK"],
  ["FIN-WAIT-2", "TIME-WAIT", "rcv FIN / ACK"],
  ["CLOSING", "TIME-WAIT", "rcv ACK of FIN"],
  ["CLOSE-WAIT", "LAST-ACK", "close / FIN"],
  ["LAST-ACK", "CLOSED", "rcv ACK of FIN"],
  ["TIME-WAIT", "CLOSED", "2 MSL timeout"],
  ["SYN-SENT", "CLOSED", "close, or RST"],
];

const BOX_W = 116;
const BOX_H = 28;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Where the segment from box `a` to box `b` leaves and enters their borders. */
function clip([x1, y1]: [number, number], [x2, y2]: [number, number]): [number, number, number, number] {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const k = (x: number, y: number) => Math.min(Math.abs((BOX_W / 2) / (x || 1e-9)), Math.abs((BOX_H / 2) / (y || 1e-9)));
  const t = k(dx, dy);
  return [x1 + dx * t, y1 + dy * t, x2 - dx * t, y2 - dy * t];
}

export class StateDiagram {
  readonly #rects = new Map<TcpState, SVGRectElement>();
  readonly #edges = new Map<string, SVGGElement>();
  readonly #now: Record<string, TcpState> = { client: "CLOSED", server: "CLOSED" };

  constructor(svg: SVGSVGElement) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", "0 0 560 530");
    const defs = el("defs", {});
    const marker = el("marker", { id: "shead", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    marker.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
    defs.append(marker);
    svg.append(defs);
    for (const [from, to, label] of EDGES) {
      let [x1, y1, x2, y2] = clip(BOXES[from], BOXES[to]);
      // A pair of states joined both ways gets two lines side by side, each shifted to its right.
      if (EDGES.some(([f, t]) => f === to && t === from)) {
        const len = Math.hypot(x2 - x1, y2 - y1) || 1;
        const [ox, oy] = [(-(y2 - y1) / len) * 6, ((x2 - x1) / len) * 6];
        [x1, y1, x2, y2] = [x1 + ox, y1 + oy, x2 + ox, y2 + oy];
      }
      // The return to CLOSED from the bottom goes round the right-hand side, as in the figure.
      const d = to === "CLOSED" && (from === "TIME-WAIT" || from === "LAST-ACK")
        ? `M ${x1} ${y1} C ${from === "TIME-WAIT" ? 20 : 545} ${from === "TIME-WAIT" ? 560 : 470}, ${from === "TIME-WAIT" ? 10 : 550} 30, ${BOXES.CLOSED[0] + (from === "TIME-WAIT" ? -BOX_W / 2 : BOX_W / 2)} ${BOXES.CLOSED[1]}`
        : `M ${x1} ${y1} L ${x2} ${y2}`;
      const g = el("g", { class: "edge", "data-from": from, "data-to": to });
      g.append(el("path", { d, "marker-end": "url(#shead)" }));
      // Labels sit 40% of the way along, so the two labels of a two-way pair do not cover each other.
      const mx = x1 + (x2 - x1) * 0.4;
      const my = y1 + (y2 - y1) * 0.4;
      if (!d.includes("C")) g.append(el("text", { x: mx + 4, y: my - 3, class: "edge-label" }, label));
      g.append(el("title", {}, `${from} -> ${to}: ${label}`));
      svg.append(g);
      this.#edges.set(`${from}>${to}`, g);
    }
    for (const [state, [x, y]] of Object.entries(BOXES) as [TcpState, [number, number]][]) {
      const rect = el("rect", { x: x - BOX_W / 2, y: y - BOX_H / 2, width: BOX_W, height: BOX_H, rx: 6, class: "state-box", "data-state": state });
      svg.append(rect);
      svg.append(el("text", { x, y: y + 4, "text-anchor": "middle", class: "state-name" }, state));
      this.#rects.set(state, rect);
    }
    this.#paint();
  }

  /** Side `who` moved from `from` to `to`. */
  move(who: "client" | "server", from: TcpState, to: TcpState): void {
    this.#now[who] = to;
    for (const g of this.#edges.values()) g.classList.remove(`taken-${who}`);
    this.#edges.get(`${from}>${to}`)?.classList.add(`taken-${who}`);
    this.#paint();
  }

  reset(): void {
    this.#now.client = "CLOSED";
    this.#now.server = "CLOSED";
    for (const g of this.#edges.values()) g.classList.remove("taken-client", "taken-server");
    this.#paint();
  }

  #paint(): void {
    for (const [state, rect] of this.#rects) {
      rect.classList.toggle("lit-client", this.#now.client === state);
      rect.classList.toggle("lit-server", this.#now.server === state);
    }
  }
}
