// One run of the browser demo: two stacks in the page over an in-memory link with the faults the
// learner chose, a connection between them (or a simultaneous open), bytes from the client to the
// server, and the close the learner chose. Every trace event and a sample of the client's congestion
// state reach the page as they happen; the client side's packets are kept as a pcap file.
// The package as a page gets it: built, this import is dist/tcpwasm.browser.js (src/build/build.mjs).
import { createStack, bindWeb, createMemoryLinkPair, PcapWriter, recordLink, type Stack, type TcpSocket, type TraceEvent, type StackConnection } from "../index.js";

/** Who closes first: one side then (after a pause) the other, or both at once (simultaneous close). */
export type Closer = "client" | "server" | "both";

export interface ScenarioOptions {
  /** Bytes the client sends. */
  bytes: number;
  /** Probability a packet is lost, each way, 0..1. */
  loss: number;
  /** One-way delay, ms. */
  delay: number;
  /** Probability a packet is held back 2 x delay + 5 ms so later ones overtake it, 0..1. */
  reorder: number;
  closer: Closer;
  /** Both sides connect to each other at once (RFC 9293 3.5, simultaneous open). */
  simultaneousOpen: boolean;
  /** Pause between the steps, ms, so each segment and state shows on its own. */
  pause: number;
  seed: number;
}

/** The client's sender as the engine sees it (RFC 9293 3.10.6 STATUS), sampled as segments leave. */
export interface Sample {
  time: number;
  cwnd: number;
  srttMs: number;
  retransmits: number;
}

export interface ScenarioResult {
  /** The client side's packets, a pcap file (LINKTYPE_RAW). */
  pcap: Uint8Array;
  received: number;
  error?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const CLIENT_PORT = 40000;
const SERVER_PORT = 9; // discard (RFC 863)

export async function runScenario(o: ScenarioOptions, onEvent: (e: TraceEvent) => void, onSample: (s: Sample) => void): Promise<ScenarioResult> {
  // Times count from when both stacks are ready.
  let t0 = performance.now();
  const now = () => performance.now() - t0;
  // Simultaneous open needs time on the wire for the SYNs to cross.
  const delay = o.simultaneousOpen ? Math.max(o.delay, 5) : o.delay;
  // MSS-sized segments, as on a real network (no segmentation offload): the ladder shows each one.
  const [clientEnd, serverEnd] = createMemoryLinkPair({ loss: o.loss, delay, reorder: o.reorder, reorderDelay: 2 * delay + 5, seed: o.seed, now, offloadMtu: 0 });
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c.slice()));
  let sampled: StackConnection | undefined;
  let remaining = 2;
  let allClosed!: () => void;
  const closed = new Promise<void>((resolve) => (allClosed = resolve));
  const trace = (e: TraceEvent, conn: StackConnection | undefined) => {
    // The listener closing once it has its connection is not the connection's state: left out, so the
    // server's side shows the connection's states only.
    if (e.kind === "state" && e.from === "LISTEN" && e.to === "CLOSED") return;
    onEvent(e);
    if (e.kind === "state" && e.to === "CLOSED" && --remaining === 0) allClosed();
    if (e.kind === "segment" && e.direction === "out" && e.endpoint === "client" && conn) {
      sampled = conn;
      // Read after the engine's drain that traced the segment has finished.
      queueMicrotask(() => {
        if (sampled?.state === "CLOSED") return;
        try {
          const s = conn.status();
          onSample({ time: now(), cwnd: s.cwnd, srttMs: s.srttMs, retransmits: s.retransmits });
        } catch {
          // The connection went away between the segment and this read: nothing to sample.
        }
      });
    }
  };
  const secret = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (o.seed * 31 + n * 17 + i * 7) & 0xff);
  const config = { mslMs: 500 };
  const client = await createStack({ addresses: ["10.0.0.1/24"], name: "client", now, config, trace, secret: secret(1) });
  const server = await createStack({ addresses: ["10.0.0.2/24"], name: "server", now, config, trace, secret: secret(2) });
  client.attach(recordLink(clientEnd, writer, { now: () => Date.now() }));
  server.attach(serverEnd);
  t0 = performance.now();
  try {
    const received = await exchange(o, client, server);
    await closed;
    return { pcap: concat(chunks), received };
  } catch (err) {
    return { pcap: concat(chunks), received: 0, error: err instanceof Error ? err.message : String(err) };
  } finally {
    client.close();
    server.close();
  }
}

async function exchange(o: ScenarioOptions, client: Stack, server: Stack): Promise<number> {
  let cs: TcpSocket;
  let ss: TcpSocket;
  let listener: ReturnType<ReturnType<typeof bindWeb>["listen"]> | undefined;
  if (o.simultaneousOpen) {
    // Each side connects to the other's port from its own: the SYNs cross (RFC 9293 3.5, figure 8).
    cs = bindWeb(client).connect({ hostname: "10.0.0.2", port: SERVER_PORT, localPort: CLIENT_PORT });
    ss = bindWeb(server).connect({ hostname: "10.0.0.1", port: CLIENT_PORT, localPort: SERVER_PORT });
  } else {
    listener = bindWeb(server).listen({ port: SERVER_PORT });
    cs = bindWeb(client).connect({ hostname: "10.0.0.2", port: SERVER_PORT, localPort: CLIENT_PORT });
    const accepted = await listener.accept();
    if (!accepted) throw new Error("the listener closed");
    ss = accepted;
  }
  const [c, s] = await Promise.all([cs.opened, ss.opened]);
  listener?.close();
  // The handshake's last ACK goes on its own before any data.
  await sleep(o.pause);
  const cw = c.writable.getWriter();
  const sw = s.writable.getWriter();
  const reader = s.readable.getReader();
  let received = 0;
  const reading = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      received += r.value.length;
    }
  })();
  const data = new Uint8Array(o.bytes).map((_, i) => i & 0xff);
  for (let at = 0; at < data.length; at += 65536) await cw.write(data.subarray(at, at + 65536));
  while (received < o.bytes) await sleep(5);
  await sleep(o.pause);
  const clientReads = drain(c.readable);
  if (o.closer === "both") {
    await Promise.all([cw.close(), sw.close()]);
  } else if (o.closer === "client") {
    await cw.close();
    await reading; // the client's FIN reached the server (CLOSE-WAIT)
    await sleep(o.pause);
    await sw.close();
  } else {
    await sw.close();
    await clientReads; // the server's FIN reached the client
    await sleep(o.pause);
    await cw.close();
  }
  await Promise.all([reading, clientReads, cs.closed, ss.closed]);
  return received;
}

async function drain(readable: ReadableStream<Uint8Array>): Promise<void> {
  const r = readable.getReader();
  while (!(await r.read()).done) {
    // The server sends nothing: this waits for its FIN.
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
