// `tcpwasm demo`: two stacks in this process over an in-memory link, and the ladder diagram of what
// they said to each other. Scenarios, each run on real segments:
//   (default)            a handshake, N bytes client to server, a four-way close
//   --textbook           the picture of RFC 9293 3.5 and 3.6: one small segment, and a pause between
//                        steps, so the handshake's third ACK goes alone (not with data), the server's
//                        ACK of the client's FIN goes before its own FIN, and every state lasts visibly
//   --simultaneous-close both sides close at once: their FINs cross, both pass through CLOSING
//                        (RFC 9293 3.6, the second figure)
//   --refused            a SYN to a port nobody listens on: RST (RFC 9293 3.5.2), ECONNREFUSED
//   --web                serves the browser page (demo-web.ts) instead
//
// Nothing grows with --bytes: the payload is drawn from the seeded PRNG and hashed a chunk at a time
// as it is written, the trace goes into a streaming ladder (ladder.ts) that keeps only what it draws,
// and a capture is written to its file as it goes (pcap-file.ts). A long transfer reports its progress
// on stderr (progress.ts) when stderr is a terminal or --progress asks for it.
import { createHash } from "node:crypto";
import { createStack } from "../tcp/stack.js";
import { bindWeb } from "../faces/web.js";
import { createMemoryLinkPair } from "../net/memory-link.js";
import { recordLink } from "./pcap.js";
import { openPcapFile } from "./pcap-file.js";
import { LaddersStream } from "./ladder.js";
import { TransferProgress } from "./progress.js";
import { Prng } from "../core/prng.js";
import { TcpwasmError } from "../core/errors.js";
import { integer, parse, UsageError } from "./cli-usage.js";
import { serveWebDemo } from "./demo-web.js";
import type { TraceEvent } from "../core/trace.js";

export const DEMO_USAGE = `  demo [--textbook | --simultaneous-close | --refused] [--bytes N] [--loss P] [--seed S]
       [--pause MS] [--pcap FILE] [--width COLUMNS] [--progress]
      Two stacks in this process over an in-memory link (seeded loss P, 0..1: 0.05 is 5%). Prints
      the ladder diagram of both sides' traces, one per connection (relative sequence numbers), a
      legend of its notation and a summary. Lines fit the terminal (--width, default its width or
      80). TIME-WAIT is shortened to 1 s (MSL 500 ms). A long transfer is folded: the handshake,
      the close, state changes, the first and last segments of each run and the first 16
      retransmissions and losses are drawn; the rest of a run is one "... N segments folded ..."
      line with counts per direction. Memory stays bounded for any N.
      default: handshake, N bytes (default 100000) client to server, then the client closes;
        after --pause MS (default 200) the server closes too: a four-way close. Progress (share,
        rate, time left) goes to stderr when it is a terminal, or always with --progress.
      --textbook: the textbook picture, one step at a time (--pause apart): SYN; SYN,ACK; the
        third ACK on its own; N bytes (default 100); the client's FIN; the server's ACK on its
        own (FIN-WAIT-2 and CLOSE-WAIT last); the server's FIN; the last ACK; TIME-WAIT.
      --simultaneous-close: both sides close at the same moment; the FINs cross and both sides
        pass through CLOSING to TIME-WAIT.
      --refused: a connection to a port with no listener, answered by RST (ECONNREFUSED).
      --pcap writes the client side's packets as a capture.
  demo --web [--port N]
      Serves the browser demo on http://127.0.0.1:N/ (default a free port; the URL is printed):
      two stacks in the page, controls for bytes, loss, delay, reordering and how it closes, a
      live ladder, the state diagram, counters, and a pcap download. Runs until interrupted.
`;

const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1 << 10 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(1)} ms`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// The discard service (RFC 863): what the demo server does, and no dissector reads random bytes as a protocol.
const DEMO_PORT = 9;
/** Bytes per write, a fresh chunk each time: a chunk written belongs to the stream until it is consumed. */
const WRITE_SIZE = 65536;

type Scenario = "bulk" | "textbook" | "simultaneous-close" | "refused";

export async function demo(args: string[]): Promise<number> {
  const { values } = parse(args, {
    bytes: { type: "string" }, loss: { type: "string" }, seed: { type: "string" }, pcap: { type: "string" }, width: { type: "string" },
    pause: { type: "string" }, progress: { type: "boolean" }, textbook: { type: "boolean" }, "simultaneous-close": { type: "boolean" }, refused: { type: "boolean" },
    web: { type: "boolean" }, port: { type: "string" },
  });
  const chosen = (["textbook", "simultaneous-close", "refused", "web"] as const).filter((k) => values[k]);
  if (chosen.length > 1) throw new UsageError(`--${chosen.join(" and --")} exclude each other`);
  if (values.web) {
    const others = Object.keys(values).filter((k) => k !== "web" && k !== "port");
    if (others.length) throw new UsageError(`--web takes only --port (the page has its own controls), got --${others[0]}`);
    return serveWebDemo(integer(values.port, "--port", 0, 65535, 0));
  }
  if (values.port !== undefined) throw new UsageError("--port goes with --web");
  const scenario: Scenario = values.textbook ? "textbook" : values["simultaneous-close"] ? "simultaneous-close" : values.refused ? "refused" : "bulk";
  if (values.progress && scenario !== "bulk") throw new UsageError(`--progress goes with the default scenario (a transfer of --bytes), not --${scenario}`);
  const bytes = integer(values.bytes, "--bytes", 0, Number.MAX_SAFE_INTEGER, scenario === "bulk" ? 100_000 : 100);
  const seed = integer(values.seed, "--seed", 0, 0xffffffff, 1);
  const pause = integer(values.pause, "--pause", 0, 10_000, 200);
  const columns = integer(values.width, "--width", 60, 400, process.stdout.columns || 80);
  const loss = values.loss === undefined ? 0 : Number(values.loss);
  if (!(loss >= 0 && loss < 1) || values.loss === "") throw new UsageError(`--loss must be a probability in 0..1 (0.05 is 5%), got "${values.loss}"`);

  // Times in the ladder count from when both stacks are ready. The learner's scenarios put 5 ms on
  // the wire each way, so segments visibly cross (simultaneous close) and take time.
  let t0 = performance.now();
  const now = () => performance.now() - t0;
  const [clientEnd, serverEnd] = createMemoryLinkPair({ loss, seed, now, delay: scenario === "bulk" ? 0 : 5 });
  const pcap = values.pcap ? openPcapFile(values.pcap) : undefined;
  const ladders = new LaddersStream({ left: "client", right: "server", columns, foldAfter: 8, legend: true });
  let recording = true;
  const closedSides = new Set<string>();
  let resolveAllClosed!: () => void;
  const allClosed = new Promise<void>((r) => (resolveAllClosed = r));
  // The run ends when the connection is CLOSED on both sides (after TIME-WAIT on the side that has one).
  const wantClosed = scenario === "refused" ? ["client"] : ["client", "server"];
  const trace = (e: TraceEvent) => {
    if (!recording) return;
    ladders.push(e);
    if (e.kind === "state" && e.to === "CLOSED" && e.from !== "LISTEN") {
      closedSides.add(e.endpoint);
      if (wantClosed.every((s) => closedSides.has(s))) resolveAllClosed();
    }
  };
  const prng = new Prng(seed);
  const config = { mslMs: 500 };
  const client = await createStack({ addresses: ["10.0.0.1/24"], name: "client", now, config, trace, secret: prng.fill(new Uint8Array(32)) });
  const server = await createStack({ addresses: ["10.0.0.2/24"], name: "server", now, config, trace, secret: prng.fill(new Uint8Array(32)) });
  client.attach(pcap ? recordLink(clientEnd, pcap.sink) : clientEnd);
  server.attach(serverEnd);
  // The payload: this PRNG's stream, drawn a chunk at a time (the same bytes for the same seed).
  const payload = new Prng(seed ^ 0x9e3779b9);
  const sent = createHash("sha256");
  const showProgress = scenario === "bulk" && (values.progress === true || process.stderr.isTTY === true);
  const out = process.stdout;
  t0 = performance.now();

  try {
    const tConnect = now();
    if (scenario === "refused") {
      const socket = bindWeb(client).connect({ hostname: "10.0.0.2", port: DEMO_PORT });
      const code = await socket.opened.then(() => "connected", (err: unknown) => (err instanceof TcpwasmError ? err.code : String(err)));
      await allClosed;
      recording = false;
      out.write(fitLines(`tcpwasm demo --refused: client 10.0.0.1 connects to 10.0.0.2:${DEMO_PORT}, where nothing listens (${client.engine.flavor} build)`, columns) + "\n");
      out.write(ladders.finish());
      out.write(`\nsummary\n  result           ${code} after ${fmtMs(now() - tConnect)}\n`);
      out.write(fitLines(`                   the server answered the SYN with RST,ACK (RFC 9293 3.10.7.1)`, columns));
      finishPcap(pcap, values.pcap);
      return code === "ECONNREFUSED" ? 0 : 1;
    }

    const listener = bindWeb(server).listen({ port: DEMO_PORT });
    let transferEnd = 0;
    const served = (async () => {
      const s = await listener.accept();
      if (!s) throw new Error("the listener closed without a connection");
      const { readable, writable } = await s.opened;
      const h = createHash("sha256");
      let got = 0;
      if (scenario === "simultaneous-close") {
        // Read the bytes, then close at the moment the client does (below).
        const reader = readable.getReader();
        while (got < bytes) {
          const r = await reader.read();
          if (r.done) break;
          h.update(r.value);
          got += r.value.length;
        }
        transferEnd = now();
        reader.releaseLock();
        return { got, sha: h.digest("hex"), socket: s, writable };
      }
      const progress = showProgress
        ? new TransferProgress({ total: bytes, now, tty: process.stderr.isTTY === true, write: (t) => process.stderr.write(t) })
        : undefined;
      for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        got += chunk.length;
        progress?.update(got);
      }
      transferEnd = now();
      progress?.end(got);
      // The client's FIN arrived (CLOSE-WAIT): its ACK leaves now, the server's FIN after the pause,
      // so FIN-WAIT-2 and CLOSE-WAIT show on their own (RFC 9293 3.6).
      await sleep(pause);
      await s.close();
      return { got, sha: h.digest("hex"), socket: s, writable };
    })();

    const socket = bindWeb(client).connect({ hostname: "10.0.0.2", port: DEMO_PORT });
    const info = await socket.opened;
    const tOpened = now();
    // Write after a pause, so the handshake's third segment (ACK) shows on its own in the ladder:
    // written at once, the data would carry that ACK (as Linux sends it when a write is pending).
    await sleep(scenario === "bulk" ? Math.min(pause, 20) : pause);
    const writer = info.writable.getWriter();
    for (let at = 0; at < bytes; at += WRITE_SIZE) {
      const chunk = payload.fill(new Uint8Array(Math.min(WRITE_SIZE, bytes - at)));
      sent.update(chunk);
      await writer.write(chunk);
    }
    if (scenario !== "bulk") await sleep(pause); // the data's ACK on its own, before the FIN
    let result: Awaited<typeof served>;
    if (scenario === "simultaneous-close") {
      result = await served;
      await sleep(pause);
      // Both FINs leave in the same instant and cross on the wire.
      const serverWriter = result.writable.getWriter();
      await Promise.all([writer.close(), serverWriter.close()]);
      await Promise.all([socket.closed, result.socket.closed]);
    } else {
      await writer.close();
      for await (const _ of info.readable as unknown as AsyncIterable<Uint8Array>) {
        // The server sends nothing: this waits for its FIN.
      }
      result = await served;
      await socket.closed;
    }
    await allClosed;
    recording = false;
    const tEnd = now();
    listener.close();

    const sentSha = sent.digest("hex");
    const cc = client.counters();
    const sc = server.counters();
    const transferMs = Math.max(transferEnd - tOpened, 0.001);
    const what = {
      bulk: `${fmtBytes(bytes)} from client 10.0.0.1 to server 10.0.0.2:${DEMO_PORT}, then a four-way close`,
      textbook: `the textbook handshake, ${fmtBytes(bytes)} and four-way close, ${pause} ms between steps`,
      "simultaneous-close": `${fmtBytes(bytes)}, then both sides close at once (simultaneous close)`,
    }[scenario];
    out.write(fitLines(`tcpwasm demo${scenario === "bulk" ? "" : ` --${scenario}`}: ${what}, over an in-memory link (loss ${(loss * 100).toFixed(1)}%, seed ${seed}, ${client.engine.flavor} build)`, columns) + "\n");
    out.write(ladders.finish());
    const summary = [
      `bytes            ${bytes} sent, ${result.got} received, SHA-256 ${result.sha === sentSha ? "match" : "MISMATCH"}`,
      `time             handshake ${fmtMs(tOpened - tConnect)}, transfer ${fmtMs(transferMs)}`,
      `                 both sides CLOSED (TIME-WAIT over) after ${fmtMs(tEnd - tConnect)}`,
      ...(scenario === "bulk" ? [`throughput       ${((bytes * 8) / (transferMs / 1000) / 1e6).toFixed(1)} Mbit/s`] : []),
      `segments         client sent ${cc.segmentsOut}, server sent ${sc.segmentsOut}; the link lost ${clientEnd.stats.lost + serverEnd.stats.lost}`,
      `retransmissions  client ${cc.retransmits} (${cc.fastRetransmits} fast), server ${sc.retransmits} (${sc.fastRetransmits} fast)`,
    ];
    out.write("\nsummary\n" + summary.map((l) => `  ${l}\n`).join(""));
    finishPcap(pcap, values.pcap);
    return result.sha === sentSha && result.got === bytes ? 0 : 1;
  } finally {
    pcap?.close();
    client.close();
    server.close();
  }
}

/** `text` wrapped at spaces into lines of at most `columns` (continuations indented by two). */
function fitLines(text: string, columns: number): string {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > columns) {
    let cut = rest.lastIndexOf(" ", columns);
    if (cut <= 2) cut = columns;
    lines.push(rest.slice(0, cut));
    rest = "  " + rest.slice(cut).trimStart();
  }
  lines.push(rest);
  return lines.join("\n") + "\n";
}

function finishPcap(pcap: ReturnType<typeof openPcapFile> | undefined, file: string | undefined): void {
  if (!pcap || !file) return;
  pcap.close();
  process.stdout.write(`  capture          ${file} (the client's side)\n`);
}
