// The browser demo's page script (dist/demo/demo.js, loaded by dist/demo/index.html): reads the
// controls, runs a scenario with two stacks in this tab, and draws what they do as it happens: the
// ladder, the state diagram with both sides' states lit, the client's cwnd, SRTT and retransmissions,
// and, at the end, a pcap download of the client side's packets.
import { runScenario, type Closer, type ScenarioOptions } from "./scenario.js";
import { LiveLadder } from "./ladder-svg.js";
import { StateDiagram } from "./state-diagram.js";
import { SmallPlot } from "./plots.js";

const $ = <T extends Element>(sel: string) => {
  const e = document.querySelector<T>(sel);
  if (!e) throw new Error(`the page lacks ${sel}`);
  return e;
};

const num = (id: string, min: number, max: number) => {
  const v = Number($<HTMLInputElement>(`#${id}`).value);
  return Number.isFinite(v) ? Math.min(Math.max(v, min), max) : min;
};

function options(): ScenarioOptions {
  return {
    bytes: Math.round(num("bytes", 0, 1 << 20)),
    loss: num("loss", 0, 50) / 100,
    delay: num("delay", 0, 500),
    reorder: num("reorder", 0, 50) / 100,
    closer: $<HTMLSelectElement>("#closer").value as Closer,
    simultaneousOpen: $<HTMLInputElement>("#simopen").checked,
    pause: num("pause", 0, 2000),
    seed: Math.round(num("seed", 1, 0xffffffff)),
  };
}

const ladder = new LiveLadder($<SVGSVGElement>("#ladder"));
const diagram = new StateDiagram($<SVGSVGElement>("#states"));
const cwnd = new SmallPlot($<SVGSVGElement>("#plot-cwnd"), "client cwnd", "B");
const rtt = new SmallPlot($<SVGSVGElement>("#plot-rtt"), "client SRTT", "ms");
const rtx = new SmallPlot($<SVGSVGElement>("#plot-rtx"), "client retransmissions", "");
const run = $<HTMLButtonElement>("#run");
const status = $<HTMLElement>("#status");
const download = $<HTMLAnchorElement>("#pcap");
let lastUrl: string | undefined;

async function start(): Promise<void> {
  const o = options();
  run.disabled = true;
  document.body.dataset.run = "running";
  status.textContent = "running...";
  download.removeAttribute("href");
  download.classList.add("disabled");
  if (lastUrl) URL.revokeObjectURL(lastUrl);
  ladder.reset();
  diagram.reset();
  for (const p of [cwnd, rtt, rtx]) p.reset();
  let segments = 0;
  const result = await runScenario(
    o,
    (e) => {
      ladder.add(e);
      if (e.kind === "state") diagram.move(e.endpoint as "client" | "server", e.from, e.to);
      else if (e.direction === "out") segments++;
    },
    (s) => {
      cwnd.add(s.time, s.cwnd);
      if (s.srttMs > 0) rtt.add(s.time, s.srttMs);
      rtx.add(s.time, s.retransmits);
    },
  );
  ladder.finish();
  const blob = new Blob([result.pcap as BlobPart], { type: "application/vnd.tcpdump.pcap" });
  lastUrl = URL.createObjectURL(blob);
  download.href = lastUrl;
  download.classList.remove("disabled");
  status.textContent = result.error
    ? `failed: ${result.error}`
    : `done: ${result.received} of ${o.bytes} bytes arrived, ${segments} segments, both sides CLOSED; the capture holds ${result.pcap.length} bytes`;
  document.body.dataset.run = result.error ? "failed" : "done";
  run.disabled = false;
}

run.addEventListener("click", () => {
  start().catch((err: unknown) => {
    status.textContent = `failed: ${err instanceof Error ? err.message : String(err)}`;
    document.body.dataset.run = "failed";
    run.disabled = false;
  });
});
status.textContent = "ready: choose the faults and press Run";
document.body.dataset.run = "ready";
