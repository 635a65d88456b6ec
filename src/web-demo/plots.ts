// A small line plot in SVG of one value over the run's time: the client's congestion window, its
// smoothed RTT, its retransmissions. Redrawn at most once per animation frame.
const NS = "http://www.w3.org/2000/svg";
const W = 260;
const H = 90;
const PAD = 4;

export class SmallPlot {
  readonly #svg: SVGSVGElement;
  readonly #line: SVGPolylineElement;
  readonly #value: SVGTextElement;
  readonly #unit: string;
  #points: [number, number][] = [];
  #pending = false;

  constructor(svg: SVGSVGElement, title: string, unit: string) {
    this.#svg = svg;
    this.#unit = unit;
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", "6");
    t.setAttribute("y", "14");
    t.setAttribute("class", "plot-title");
    t.textContent = title;
    this.#value = document.createElementNS(NS, "text");
    this.#value.setAttribute("x", String(W - 6));
    this.#value.setAttribute("y", "14");
    this.#value.setAttribute("text-anchor", "end");
    this.#value.setAttribute("class", "plot-value");
    this.#line = document.createElementNS(NS, "polyline");
    this.#line.setAttribute("class", "plot-line");
    svg.append(this.#line, t, this.#value);
  }

  reset(): void {
    this.#points = [];
    this.#draw();
  }

  add(time: number, value: number): void {
    this.#points.push([time, value]);
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.#draw();
    });
  }

  /** Points drawn so far (the page's test reads it). */
  get count(): number {
    return this.#points.length;
  }

  #draw(): void {
    const pts = this.#points;
    this.#svg.dataset.points = String(pts.length);
    if (pts.length === 0) {
      this.#line.setAttribute("points", "");
      this.#value.textContent = "";
      return;
    }
    const t0 = pts[0]![0];
    const t1 = Math.max(pts[pts.length - 1]![0], t0 + 1);
    const highest = Math.max(...pts.map((p) => p[1]));
    // The scale's top: at least 1, so a plot of zeros stays on the baseline.
    const vmax = Math.max(highest, 1);
    const x = (t: number) => PAD + ((t - t0) / (t1 - t0)) * (W - 2 * PAD);
    const y = (v: number) => H - PAD - (v / vmax) * (H - 24 - PAD);
    this.#line.setAttribute("points", pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "));
    const last = pts[pts.length - 1]![1];
    this.#value.textContent = `${Number.isInteger(last) ? last : last.toFixed(2)} ${this.#unit} (max ${Number.isInteger(highest) ? highest : highest.toFixed(2)})`;
  }
}
