// `tcpwasm relay`, the page's way out (issue targets: a stack through the relay >= 0.5x a plain
// WebSocket carrying the same bytes through the same relay; a relay holding 1,000 clients with 10
// connections each in bounded memory, per-client limits enforced).
//
// The relay runs as its own process (dist/cli.js relay, as a user runs it), the node:http server as
// another; this process plays the page. Bulk: BULK_MIB MiB of GET /N from the http server on the
// loopback, read to the end, median of RUNS interleaved runs of each row:
// - baseline: a plain WebSocket to the relay's stream mode (?host=127.0.0.1&port=P, what a user
//   would write without TCP): the request and the response bytes as binary messages;
// - tcpwasm: a stack over createWebSocketLink to the relay's packet mode, where a stack of the relay's
//   (--stack 10.0.0.1/24) forwards port 80 to the http server (--forward): TCP inside the tunnel, at
//   MTU 1500 and 65535 with one packet per message, and at MTU 1500 with batched framing (batch: true,
//   the relay selects the subprotocol: several packets per message).
// Per-packet cost: this process's CPU time (user + system) over the packets its link carried; the
// relay's CPU time per run (from /proc) beside it, since the relay's process is the busier one.
//
// Scale: CLIENTS WebSocket clients, each from its own loopback address (127.1.x.y, so each is a
// client of its own to the relay's per-address limits), each with CONNS TCP connections inside its
// tunnel (packet mode: a stack per client on both sides), each connection exchanging 1 KiB with an
// echo server through the relay's forward. Then every client tries a second WebSocket, which the
// relay's --max-connections 1 refuses, and one client sends past its --max-bytes and is closed, the
// others unaffected. RSS of the relay process read from /proc before, at full load and after.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { WebSocket as WsWebSocket } from "ws";
import { bindNet } from "../src/faces/node-net.js";
import { createWebSocketLink } from "../src/net/websocket-node.js";
import { createStack, type Stack } from "../src/tcp/stack.js";
import { median } from "./lib/sample.js";

const BULK_MIB = Number(process.env.RELAY_BENCH_MIB ?? 64);
const RUNS = 5;
const CLIENTS = Number(process.env.RELAY_BENCH_CLIENTS ?? 1000);
const CONNS = 10;
// npm run bench runs from the package root; the bundle itself lives under node_modules/.cache.
const root = process.cwd();

/** Spawns a node child and resolves with it and the first stdout line matching `ready`. */
async function child(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpMatchArray; lines: string[] }> {
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  const rl = createInterface({ input: proc.stdout! });
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    rl.on("line", (l) => {
      lines.push(l);
      const m = ready.exec(l);
      if (m) resolve(m);
    });
    proc.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)));
  });
  return { proc, match, lines };
}

const HTTP_SERVER = `
const http = require("node:http"), net = require("node:net");
const block = Buffer.alloc(1 << 20, 7);
http.createServer((req, res) => {
  let n = Number(req.url.slice(1)) || 0;
  res.writeHead(200, { "Content-Length": n });
  const more = () => { while (n > 0) { const c = Math.min(n, block.length); n -= c; if (!res.write(c === block.length ? block : block.subarray(0, c))) return res.once("drain", more); } res.end(); };
  more();
}).listen(0, "127.0.0.1", function () {
  const echo = net.createServer({ allowHalfOpen: true }, (s) => { s.on("error", () => {}); s.pipe(s); }).listen(0, "127.0.0.1", () => {
    console.log("http " + this.address().port + " echo " + echo.address().port);
  });
});`;

/** CPU time (user + system) a process has used, ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function request(bytes: number): Uint8Array {
  return new TextEncoder().encode(`GET /${bytes} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`);
}

/** Baseline: the request and response over a plain WebSocket in the relay's stream mode. Returns Gbit/s. */
async function plainWebSocket(relayUrl: string, httpPort: number, bytes: number): Promise<{ gbps: number; wallMs: number; pageMs: number }> {
  // No ?halfclose=1: at the server's FIN the relay closes the WebSocket, as websockify does.
  const ws = new WsWebSocket(`${relayUrl}?host=127.0.0.1&port=${httpPort}`, { perMessageDeflate: false });
  await new Promise((r) => ws.once("open", r));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let got = 0;
  await new Promise<void>((resolve) => {
    ws.on("message", (d: Buffer) => {
      got += d.length;
    });
    ws.on("close", () => resolve());
    ws.send(request(bytes));
  });
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (got < bytes) throw new Error(`plain websocket: ${got} of ${bytes} bytes`);
  return { gbps: (got * 8) / s / 1e9, wallMs: s * 1000, pageMs: (cpu.user + cpu.system) / 1000 };
}

/** tcpwasm: a stack over the WebSocket link, through packet mode and the relay's forward. */
async function stackThroughRelay(relayUrl: string, bytes: number, mtu: number, batch: boolean): Promise<{ gbps: number; wallMs: number; pageMs: number; usPerPacket: number; packets: number; dropped: number }> {
  const link = createWebSocketLink(`${relayUrl}packet`, { mtu, batch });
  const stack = await createStack({ addresses: ["10.0.0.2/24"] });
  stack.attach(link);
  await link.opened;
  if (link.batching !== batch) throw new Error(`relay did ${batch ? "not select" : "select"} batched framing`);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const got = await new Promise<number>((resolve, reject) => {
      let n = 0;
      const sock = bindNet(stack).connect({ host: "10.0.0.1", port: 80 }, () => sock.write(request(bytes)));
      sock.on("data", (d: Buffer) => (n += d.length));
      sock.on("end", () => resolve(n));
      sock.on("error", reject);
    });
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (got < bytes) throw new Error(`stack: ${got} of ${bytes} bytes`);
    const packets = link.stats.sent + link.stats.received;
    return { gbps: (got * 8) / s / 1e9, wallMs: s * 1000, pageMs: (cpu.user + cpu.system) / 1000, usPerPacket: (cpu.user + cpu.system) / packets, packets, dropped: link.stats.dropped };
  } finally {
    stack.close();
    link.close();
  }
}

/** Client i's own loopback address (127.1.0.1, ...): the relay's limits are per address. */
const clientAddress = (i: number) => `127.1.${((i + 1) >> 8) & 0xff}.${(i + 1) & 0xff}`;

/** One page-side client: a stack on its own loopback address with CONNS echo connections through the relay. */
async function scaleClient(relayUrl: string, i: number, stacks: Stack[]): Promise<{ links: ReturnType<typeof createWebSocketLink>; conns: number }> {
  const local = clientAddress(i);
  const ws = new WsWebSocket(`${relayUrl}packet`, { localAddress: local, perMessageDeflate: false });
  const link = createWebSocketLink(ws as never);
  const stack = await createStack({ addresses: ["10.0.0.2/24"] });
  stacks.push(stack);
  stack.attach(link);
  await link.opened;
  const kib = new Uint8Array(1024).fill(i & 0xff);
  let ok = 0;
  await Promise.all(Array.from({ length: CONNS }, () => new Promise<void>((resolve) => {
    const s = bindNet(stack).connect({ host: "10.0.0.1", port: 7 }, () => s.write(kib));
    let n = 0;
    s.on("data", (d: Buffer) => {
      n += d.length;
      if (n === 1024) {
        ok++;
        resolve();
      }
    });
    s.on("error", () => resolve());
  })));
  return { links: link, conns: ok };
}

/** The HTTP status a handshake is refused with, or "open". */
function handshake(url: string, localAddress: string): Promise<number | "open"> {
  return new Promise((resolve) => {
    const ws = new WsWebSocket(url, { localAddress });
    ws.on("unexpected-response", (_q, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
    ws.on("open", () => (resolve("open"), ws.close()));
    ws.on("error", () => resolve(0));
  });
}

export default async () => {
  const servers = await child(["-e", HTTP_SERVER], /^http (\d+) echo (\d+)$/);
  const httpPort = Number(servers.match[1]);
  const echoPort = Number(servers.match[2]);
  const bytes = BULK_MIB << 20;
  const lines: string[] = [];
  try {
    // (a) bulk
    // The relay's stacks take 64 KiB packets (--mtu 65535): each page picks its own MTU, the smaller
    // one's MSS wins, so one relay serves both stack rows.
    const relay = await child(["dist/cli.js", "relay", "--listen", "127.0.0.1:0", "--allow", `127.0.0.1:${httpPort}`, "--stack", "10.0.0.1/24", "--forward", `80=127.0.0.1:${httpPort}`, "--mtu", "65535"], /listening on (\S+)/);
    const url = relay.match[1]!;
    const relayPid = relay.proc.pid!;
    /** Runs `fn`, adding the relay's CPU time over the run to its result. */
    const withRelayCpu = async <T extends object>(fn: () => Promise<T>): Promise<T & { relayMs: number }> => {
      const before = cpuMs(relayPid);
      const r = await fn();
      return { ...r, relayMs: cpuMs(relayPid) - before };
    };
    const plain: { gbps: number; wallMs: number; pageMs: number; relayMs: number }[] = [];
    const cold: string[] = [];
    const rows = [
      { name: "mtu 1500", mtu: 1500, batch: false },
      { name: "mtu 1500, batched framing", mtu: 1500, batch: true },
      { name: "mtu 65535", mtu: 65535, batch: false },
    ].map((r) => ({ ...r, runs: [] as { gbps: number; wallMs: number; pageMs: number; usPerPacket: number; packets: number; dropped: number; relayMs: number }[] }));
    try {
      // Warm-up: JIT (a relay serves for hours: its code and its WebAssembly reach their optimized
      // tiers only after some tens of MiB), both processes' stacks and the loopback's windows. The
      // first round's figures are reported too: a page's first transfer runs cold.
      for (let w = 0; w < 2; w++) {
        const first = await plainWebSocket(url, httpPort, bytes);
        for (const row of rows) {
          const r = await stackThroughRelay(url, bytes, row.mtu, row.batch);
          // What a user's first transfer sees: both processes fresh (each row's first run).
          if (w === 0) cold.push(`${row.name} ${r.gbps.toFixed(2)} Gbit/s (${(r.gbps / first.gbps).toFixed(2)}x)`);
        }
        if (w === 0) cold.unshift(`plain WebSocket ${first.gbps.toFixed(2)} Gbit/s`);
      }
      for (let r = 0; r < RUNS; r++) {
        plain.push(await withRelayCpu(() => plainWebSocket(url, httpPort, bytes)));
        for (const row of rows) row.runs.push(await withRelayCpu(() => stackThroughRelay(url, bytes, row.mtu, row.batch)));
        console.error(`relay bulk run ${r}: plain ${plain.at(-1)!.gbps.toFixed(2)} Gbit/s, ${rows.map((row) => `${row.name} ${row.runs.at(-1)!.gbps.toFixed(2)} Gbit/s (${row.runs.at(-1)!.dropped} dropped)`).join(", ")}`);
      }
    } finally {
      relay.proc.kill("SIGTERM");
    }
    const p = median(plain.map((x) => x.gbps));
    /** CPU a run of both processes, and the share of the run's wall time each was busy (the rest it waited). */
    const cpuCells = (runs: { wallMs: number; pageMs: number; relayMs: number }[]) =>
      `${median(runs.map((x) => x.pageMs)).toFixed(0)} ms | ${median(runs.map((x) => x.relayMs)).toFixed(0)} ms | ${(100 * median(runs.map((x) => x.pageMs / x.wallMs))).toFixed(0)}% / ${(100 * median(runs.map((x) => x.relayMs / x.wallMs))).toFixed(0)}%`;
    lines.push(
      `Bulk: GET of ${BULK_MIB} MiB from a node:http server on 127.0.0.1, through \`tcpwasm relay\` (its own process), median of ${RUNS} interleaved runs. CPU a run: user + system time of the page's process (this one) and of the relay's process over one run; busy: that CPU time over the run's wall time (the rest of the run the process waited for the other, or for a core: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end).`,
      "",
      "| row | Gbit/s | ratio | page CPU per packet | page CPU a run | relay CPU a run | busy: page / relay |",
      "|---|---|---|---|---|---|---|",
      `| plain WebSocket, stream mode (baseline) | ${p.toFixed(2)} | 1.00x | - | ${cpuCells(plain)} |`,
    );
    for (const row of rows) {
      const g = median(row.runs.map((x) => x.gbps));
      const us = median(row.runs.map((x) => x.usPerPacket));
      lines.push(`| tcpwasm stack, createWebSocketLink ${row.name}, packet mode, the relay's stack forwarding | ${g.toFixed(2)} | ${(g / p).toFixed(2)}x | ${us.toFixed(2)} us (${row.runs[0]!.packets.toLocaleString("en")} packets a run) | ${cpuCells(row.runs)} |`);
    }
    lines.push("");
    lines.push(`Cold, the first ${BULK_MIB} MiB of each row through the fresh relay and page processes (one run each, before the warm-up's second round and the measured runs): ${cold.join(", ")}.`, "");
    // Where the MTU 1500 row's time goes, against the plain row, from the medians above.
    const m = (xs: number[]) => median(xs);
    const one = rows[0]!.runs;
    const [pp, pr, pw] = [m(plain.map((x) => x.pageMs)), m(plain.map((x) => x.relayMs)), m(plain.map((x) => x.wallMs))];
    const [sp, sr, sw] = [m(one.map((x) => x.pageMs)), m(one.map((x) => x.relayMs)), m(one.map((x) => x.wallMs))];
    const packets = one[0]!.packets;
    lines.push(
      `Where the time goes (MTU 1500, one packet a message). A run of the plain WebSocket took ${pw.toFixed(0)} ms with ${pp.toFixed(0)} ms of CPU in the page's process and ${pr.toFixed(0)} ms in the relay's; the tcpwasm row ${sw.toFixed(0)} ms with ${sp.toFixed(0)} and ${sr.toFixed(0)} ms. ` +
        `Per packet carried that is ${(((sp - pp) * 1000) / packets).toFixed(1)} us more in the page (TCP's receive in the engine, the stack's drain, the frame of each packet, the copy out of the receive ring) and ${(((sr - pr) * 1000) / packets).toFixed(1)} us more in the relay (TCP's send and the ACKs it takes in the engine, the stack's drain and the frames). ` +
        `Cores in use (both processes' CPU over the wall time): ${((pp + pr) / pw).toFixed(2)} for the plain WebSocket, whose relay reads the next 64 KiB while the page handles the last, against ${((sp + sr) / sw).toFixed(2)} for tcpwasm, whose relay sends what the window allows and waits for the page's acknowledgement of a drained batch to open the next, so that the two overlap less (the auto-sized windows, up to 4 MiB, overlap them more than fixed 256 KiB buffers did). ` +
        `The wall-clock ratio is about the product of the two: ${((pp + pr) / (sp + sr)).toFixed(2)}x in CPU (page + relay, plain over tcpwasm) times ${((sp + sr) / sw / ((pp + pr) / pw)).toFixed(2)} in cores in use. Where the page's time per packet goes: the link reads each \`ws\` frame from the TCP connection's chunks itself (src/net/websocket-reader.ts: a view of the chunk, no Buffer views, fragments array or event of \`ws\`'s receiver, which cost about 900 bytes of garbage a packet before and some 200 after, heap sampling over the same GETs), and the packets of one turn go to the engine in one call. A CPU profile of this row's page (node --cpu-prof, a 64 MiB GET repeated, the warm half) splits the page's busy time about as: the engine's receive of the batch (WebAssembly) a quarter, the stack's delivery to the node:net face (the copy out of the receive ring, the stream's push and data event) an eighth, the kernel's writes of the acknowledgements (one WebSocket message per drained batch, about 300 a run) an eighth, the frame reading and the link under a tenth, collections and the rest the remainder (the profiler inflates the collections' share; --trace-gc puts them near a tenth). What is left is the engine's per-packet receive and the copy to the face, not the WebSocket.`,
      "",
    );

    // (b) scale; RELAY_BENCH_CLIENTS=0 leaves it out (a quick look at the bulk rows).
    if (CLIENTS === 0) return { title: "relay: a stack through tcpwasm relay, and a relay at scale", markdown: lines.join("\n") };
    const scale = await child(["dist/cli.js", "relay", "--listen", "127.0.0.1:0", "--allow", `127.0.0.1:${echoPort}`, "--stack", "10.0.0.1/24", "--forward", `7=127.0.0.1:${echoPort}`,
      "--max-connections", "1", "--max-bytes", "4M", "--idle-timeout", "600"], /listening on (\S+)/);
    const surl = scale.match[1]!;
    try {
      const rss0 = rssMiB(scale.proc.pid!);
      const stacks: Stack[] = [];
      const clients: Awaited<ReturnType<typeof scaleClient>>[] = [];
      const t0 = performance.now();
      for (let i = 0; i < CLIENTS; i += 50) {
        clients.push(...(await Promise.all(Array.from({ length: Math.min(50, CLIENTS - i) }, (_, k) => scaleClient(surl, i + k, stacks)))));
      }
      const setupS = (performance.now() - t0) / 1000;
      const conns = clients.reduce((n, c) => n + c.conns, 0);
      const rssFull = rssMiB(scale.proc.pid!);
      // Each client's second WebSocket: over --max-connections 1.
      const second = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => handshake(`${surl}packet`, clientAddress(i))));
      const refused429 = second.filter((x) => x === 429).length;
      // One client goes past its 4 MiB: closed; the next one still echoes.
      const hog = clients[0]!.links;
      const hogClosed = new Promise<number>((r) => hog.onClose((info) => r(info.code)));
      const big = bindNet(stacks[0]!).connect({ host: "10.0.0.1", port: 7 }, () => big.end(new Uint8Array(6 << 20)));
      big.on("error", () => {});
      big.resume();
      const hogCode = await hogClosed;
      const after = await scaleClient(surl, CLIENTS + 1, stacks);
      const rssEnd = rssMiB(scale.proc.pid!);
      lines.push(
        `Scale: ${CLIENTS.toLocaleString("en")} WebSocket clients in packet mode, each from its own 127.1.x.y address with ${CONNS} TCP connections in its tunnel (1 KiB echoed on each through the relay's forward; the relay holds a stack per client and ${(CLIENTS * CONNS).toLocaleString("en")} node:net sockets). Relay flags: \`--max-connections 1 --max-bytes 4M\`. Packet mode because a process here may hold 20,000 descriptors (hard limit): 10,000 stream-mode connections would need 20,000 sockets in the relay alone.`,
        "",
        `| measure | value |`,
        `|---|---|`,
        `| connections echoing | ${conns.toLocaleString("en")} of ${(CLIENTS * CONNS).toLocaleString("en")} (set up in ${setupS.toFixed(1)} s) |`,
        `| relay RSS idle / ${CLIENTS.toLocaleString("en")} clients / after the limit checks | ${rss0.toFixed(0)} / ${rssFull.toFixed(0)} / ${rssEnd.toFixed(0)} MiB (${((rssFull - rss0) / CLIENTS).toFixed(2)} MiB a client) |`,
        `| second WebSocket per client (limit 1) | ${refused429.toLocaleString("en")} of ${CLIENTS.toLocaleString("en")} refused with 429 |`,
        `| a client sending 6 MiB (limit 4 MiB) | closed with ${hogCode}; a new client afterwards echoes ${after.conns} of ${CONNS} |`,
        "",
      );
      for (const st of stacks) st.close();
      for (const c of clients) c.links.close();
      after.links.close();
    } finally {
      scale.proc.kill("SIGTERM");
    }
  } finally {
    servers.proc.kill("SIGTERM");
  }
  return { title: "relay: a stack through tcpwasm relay, and a relay at scale", markdown: lines.join("\n") };
};
