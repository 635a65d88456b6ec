// The connection engine, two instances in this process wired back to back (issue 3 item 9): bulk
// throughput at MTU 1500 and 65535, connection churn, memory per idle established connection and of
// the engines' WebAssembly memory.
// Baseline, measured in the same run: Node's own `net` over the kernel loopback (bench/lib/node-net.ts).
//
// Both engines are the SIMD release build with TCP and IPv4 checksums computed on output and verified
// on input (the engine default), each folded into the payload's copy (assembly/wire/copysum.ts). The
// offload row tells both engines their wire takes packets up to 65535 bytes (Link.offloadMtu) at MTU
// 1500: the MSS stays 1460, packets carry up to 45 segments (assembly/engine/offload.ts). The wire copies each packet of the sender's TX region into the
// receiver's RX region (txToRx: TX records carry a meta word and headroom), on the real clock
// (performance.now()), driving the raw exports: the host writes into the send ring and consumes the
// receive ring in place, as a socket layer would.
import { Engine } from "../src/core/engine.js";
import { EventType } from "../src/core/boundary.js";
import type { EngineConfig } from "../src/core/settings.js";
import { Prng } from "../src/core/prng.js";
import { Pair, ADDRESS_A, ADDRESS_B, SERVER_PORT, txToRx } from "../test/fixtures/pair.js";
import { bulkNodeNet, churnNodeNet } from "./lib/node-net.js";
import { createHash } from "node:crypto";

const MiB = 1 << 20;
const BULK_BYTES = 512 * MiB;
const VERIFY_BYTES = 64 * MiB;
const RUNS = 5;
const CHURN_CONNECTIONS = 20_000;
const CHURN_RUNS = 5;
const OFFLOAD_MTU = 65535;
const NODE_CHURN_CONNECTIONS = 5_000;

type Raw = Engine["raw"];

/** Moves every packet `from` has queued into `to`: one copy per packet (TX records carry a meta word and headroom). */
function pump(from: Engine, to: Engine, now: number, offloadMtu: number): number {
  const fx = from.raw;
  let total = 0;
  for (;;) {
    const n = fx.engineOutput(now);
    if (n === 0) return total;
    to.raw.engineInput(txToRx(from, to, n), now, 0, 0, offloadMtu);
    total += n;
    if (!fx.engineOutputMore()) return total;
  }
}

function established(a: Engine, b: Engine, offloadMtu: number): { client: number; server: number } {
  const listener = b.listen({ port: SERVER_PORT });
  const client = a.connect({ local: ADDRESS_A, remote: ADDRESS_B, remotePort: SERVER_PORT, linkOffloadMtu: offloadMtu }, performance.now());
  let server = 0;
  for (let i = 0; i < 10 && server === 0; i++) {
    const now = performance.now();
    pump(a, b, now, offloadMtu);
    pump(b, a, now, offloadMtu);
    b.events((type, _code, id, a) => {
      if (type === EventType.accepted && a === listener) server = id;
    });
  }
  a.events(() => {});
  if (server === 0 || a.state(client) !== "ESTABLISHED") throw new Error("bench: the handshake did not complete");
  return { client, server };
}

interface Bulk {
  gbps: number;
  /** Payload bytes per packet the sender emitted (handshake and pure ACKs included). */
  bytesPerSegment: number;
  retransmits: number;
  /** The sender's send ring and the receiver's receive ring at the end, bytes (auto-sized). */
  sendBuffer: number;
  recvBuffer: number;
}

/**
 * One connection, A sends `bytes` to B as fast as the windows allow, B consumes as it arrives.
 * With `hash`, the received stream is hashed and compared with the sent one (the verification run).
 */
export async function bulk(mtu: number, bytes: number, hash: boolean, offloadMtu = 0): Promise<Bulk> {
  const config: EngineConfig = { mtu, stateEvents: false };
  const a = await Engine.create({ flavor: "simd", config });
  const b = await Engine.create({ flavor: "simd", config });
  const { client, server } = established(a, b, offloadMtu);
  const source = new Prng(mtu).fill(new Uint8Array(4 * MiB + 12345));
  const ax: Raw = a.raw;
  const bx: Raw = b.raw;
  const sentHash = hash ? createHash("sha256") : undefined;
  const receivedHash = hash ? createHash("sha256") : undefined;
  let sent = 0;
  let received = 0;
  let srcOff = 0;
  const start = performance.now();
  while (received < bytes) {
    const now = performance.now();
    while (sent < bytes) {
      const space = ax.connSendSpace(client);
      if (space <= 0) break;
      let n = Math.min(space, bytes - sent, source.length - srcOff);
      const chunk = source.subarray(srcOff, srcOff + n);
      a.memory.u8.set(chunk, ax.connSendPtr(client) >>> 0);
      ax.connSendCommitMs(client, n, now);
      sentHash?.update(chunk);
      sent += n;
      srcOff += n;
      if (srcOff === source.length) srcOff = 0;
    }
    pump(a, b, now, offloadMtu);
    for (;;) {
      const avail = bx.connRecvAvail(server);
      if (avail <= 0) break;
      if (receivedHash) {
        const p = bx.connRecvPtr(server) >>> 0;
        receivedHash.update(b.memory.u8.subarray(p, p + avail));
      }
      bx.connRecvConsumeMs(server, avail, now);
      received += avail;
    }
    pump(b, a, now, offloadMtu);
    if (a.nextDeadline() <= now) a.timers(now);
    if (b.nextDeadline() <= now) b.timers(now);
    // Both engines keep their event buffers short.
    if (ax.engineEventCount() > 1024) ax.engineEventsClear();
    if (bx.engineEventCount() > 1024) bx.engineEventsClear();
  }
  const seconds = (performance.now() - start) / 1000;
  if (hash && sentHash!.digest("hex") !== receivedHash!.digest("hex")) throw new Error(`bench: MTU ${mtu}: received data differs from sent`);
  const ca = a.counters();
  const cb = b.counters();
  const malformed = [...ca.dropsByReason, ...cb.dropsByReason].reduce((x, y) => x + y, 0);
  if (malformed !== 0) throw new Error(`bench: MTU ${mtu}: ${malformed} packets failed verification`);
  return {
    gbps: (received * 8) / seconds / 1e9, bytesPerSegment: received / ca.segmentsOut, retransmits: ca.retransmits,
    sendBuffer: a.status(client).sendBuffer, recvBuffer: b.status(server).recvBuffer,
  };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;

/** Connections per second of `runs` timed runs of CHURN_CONNECTIONS on one warmed pair (quick.bench.ts takes one). */
export async function churnRuns(concurrency: number, buffers: number | undefined, runs: number): Promise<number[]> {
  const config: EngineConfig = { stateEvents: false, maxConnections: 4096 };
  if (buffers) {
    config.sendBuffer = buffers;
    config.recvBuffer = buffers;
  }
  const pair = await Pair.create({ flavor: "simd", config });
  // Warm-up: the allocator, and the JIT. V8 runs WebAssembly first from its baseline compiler and
  // moves hot functions to the optimizing one as they run; after 1,000 connections a run of 20,000
  // still went at about half the rate of the runs after it.
  pair.churn(CHURN_CONNECTIONS, { concurrency });
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    const n = pair.churn(CHURN_CONNECTIONS, { concurrency });
    rates.push(n / ((performance.now() - start) / 1000));
  }
  return rates;
}

export async function churn(concurrency: number, buffers: number | undefined): Promise<number> {
  return (await churnRuns(concurrency, buffers, 1))[0]!;
}

/**
 * Pool bytes per idle established connection end over 10,000 connections (default configuration): the
 * TCB, and the tables grown for it (they start small and double with the connections, issue 9 item 7);
 * and the WebAssembly memory of both engines idle and with the 10,000 open.
 */
async function idleConnectionBytes(): Promise<{ tcb: number; tables: number; idleMiB: number; openMiB: number }> {
  const pair = await Pair.create({ flavor: "simd" });
  const a = pair.a.engine;
  const b = pair.b.engine;
  const listener = b.listen({ port: SERVER_PORT, backlog: 1024 });
  const mib = () => (a.memory.memory.buffer.byteLength + b.memory.memory.buffer.byteLength) / 2 / MiB;
  const idleMiB = mib();
  const tables = a.tableMemory() + b.tableMemory();
  const held = a.memoryInUse() - a.tableMemory() + b.memoryInUse() - b.tableMemory();
  const n = 10_000;
  for (let i = 0; i < n; i++) pair.open(listener);
  return {
    tcb: (a.memoryInUse() - a.tableMemory() + b.memoryInUse() - b.tableMemory() - held) / (2 * n),
    tables: (a.tableMemory() + b.tableMemory() - tables) / (2 * n),
    idleMiB,
    openMiB: mib(),
  };
}

export default async () => {
  // Correctness first, untimed: SHA-256 of 64 MiB through each MTU.
  for (const mtu of [1500, 65535]) await bulk(mtu, VERIFY_BYTES, true);
  await bulk(1500, VERIFY_BYTES, true, OFFLOAD_MTU);

  const engine1500: Bulk[] = [];
  const engine1500Offload: Bulk[] = [];
  const engine65535: Bulk[] = [];
  const node: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    engine1500.push(await bulk(1500, BULK_BYTES, false));
    engine1500Offload.push(await bulk(1500, BULK_BYTES, false, OFFLOAD_MTU));
    engine65535.push(await bulk(65535, BULK_BYTES, false));
    node.push((await bulkNodeNet(BULK_BYTES, { timeLimitMs: 60_000 })).gbitPerSecond);
  }
  const e1500 = median(engine1500.map((x) => x.gbps));
  const e65535 = median(engine65535.map((x) => x.gbps));
  const e1500Offload = median(engine1500Offload.map((x) => x.gbps));
  const seg1500 = median(engine1500.map((x) => x.bytesPerSegment));
  const seg1500Offload = median(engine1500Offload.map((x) => x.bytesPerSegment));
  const seg65535 = median(engine65535.map((x) => x.bytesPerSegment));
  const rtx = [...engine1500, ...engine1500Offload, ...engine65535].reduce((n, x) => n + x.retransmits, 0);
  const nodeBulk = median(node);

  const churnSeq = await churnRuns(1, 16384, CHURN_RUNS);
  const churnBatch = await churnRuns(100, 16384, CHURN_RUNS);
  const churnDefault = await churnRuns(100, undefined, CHURN_RUNS);
  const nodeChurn = (await churnNodeNet(NODE_CHURN_CONNECTIONS, { timeLimitMs: 60_000 })).perSecond;

  const idle = await idleConnectionBytes();

  const f = (x: number, d = 2) => x.toFixed(d);
  const range = (xs: number[]) => `${f(Math.min(...xs))} - ${f(Math.max(...xs))}`;
  const k = (x: number) => Math.round(x).toLocaleString("en-US");
  const kRange = (xs: number[]) => `${k(Math.min(...xs))} - ${k(Math.max(...xs))}`;
  const rings = (xs: Bulk[]) => xs.map((x) => `${x.sendBuffer / 1024}/${x.recvBuffer / 1024}`).join(", ");
  const markdown = [
    "Two tcpwasm engines in one process, SIMD release build, checksums computed on output and verified on",
    "input, each summed in the payload's copy (RFC 1071 4.1); the wire copies each TX batch into the peer's RX",
    "region on the real clock. Baseline, in the same",
    "run: Node's `net` over the kernel loopback (127.0.0.1), both ends in this process (bench/lib/node-net.ts).",
    `Bulk: ${BULK_BYTES / MiB} MiB one way on one connection, median of ${RUNS} runs (a SHA-256-checked 64 MiB`,
    "run per MTU precedes them); default buffers (256 KiB rings at the start, auto-sized), window scaling,",
    "timestamps, SACK.",
    "",
    "| bulk | Gbit/s (median) | min - max | / Node net | payload bytes per packet sent |",
    "|---|---:|---:|---:|---:|",
    `| engine, MTU 1500 | ${f(e1500)} | ${range(engine1500.map((x) => x.gbps))} | ${f(e1500 / nodeBulk)}x | ${f(seg1500, 0)} |`,
    `| engine, MTU 1500, offload 65535 | ${f(e1500Offload)} | ${range(engine1500Offload.map((x) => x.gbps))} | ${f(e1500Offload / nodeBulk)}x | ${f(seg1500Offload, 0)} |`,
    `| engine, MTU 65535 | ${f(e65535)} | ${range(engine65535.map((x) => x.gbps))} | ${f(e65535 / nodeBulk)}x | ${f(seg65535, 0)} |`,
    `| Node net, loopback | ${f(nodeBulk)} | ${range(node)} | 1.00x | |`,
    "",
    `Retransmissions over all timed engine runs: ${rtx}. The runs interleave (engine 1500, with offload, 65535,`,
    "Node) so that load from other processes on this shared machine spreads over all four; min - max shows it.",
    "Offload: both engines are told the wire takes packets up to 65535 bytes (Link.offloadMtu) while the MTU",
    "and MSS stay 1500 / 1460; a packet carries up to 45 segments of 1448 (65,160 bytes; the mean in the last",
    "column is lower because the rest of an opened window often leaves as a smaller packet after a full one).",
    "Passes over each payload byte, sender's ring to receiver's ring: the host's write into the send ring,",
    "send ring -> TX packet with the checksum summed in the copy, TX -> peer's RX region (the bench's wire,",
    "between two WebAssembly memories), RX -> receive ring with the checksum verified in the copy: 4 (before",
    "folding the sums into the copies: 6, a copy and a separate checksum read on each side).",
    "At MTU 65535 the peer's SYN window (65535, unscaled) admits one 65483-byte segment at a time at the start;",
    "the receiver's quick-ACK phase (the first 16 segments, RFC 1122 4.2.3.2) acknowledges each at once.",
    "",
    `Churn: open, 1 KiB each way, both close, handles released; per row, ${CHURN_RUNS} runs of ${k(CHURN_CONNECTIONS)} connections`,
    "on one pair after as many for warm-up, median and range. TIME-WAIT lasts its full 2 MSL (60 s) on a virtual",
    "clock that jumps forward every 1,000 connections, so it never fills the table. Node net:",
    `${k(NODE_CHURN_CONNECTIONS)} sequential connections.`,
    "",
    "| churn | connections/s (median) | min - max | / Node net |",
    "|---|---:|---:|---:|",
    `| engine, 1 at a time, 16 KiB buffers | ${k(median(churnSeq))} | ${kRange(churnSeq)} | ${f(median(churnSeq) / nodeChurn)}x |`,
    `| engine, 100 at a time, 16 KiB buffers | ${k(median(churnBatch))} | ${kRange(churnBatch)} | ${f(median(churnBatch) / nodeChurn)}x |`,
    `| engine, 100 at a time, default 256 KiB buffers | ${k(median(churnDefault))} | ${kRange(churnDefault)} | ${f(median(churnDefault) / nodeChurn)}x |`,
    `| Node net, 1 at a time | ${k(nodeChurn)} | | 1.00x |`,
    "",
    "Memory per idle established connection end, before its buffers are touched (engineMemoryInUse deltas",
    `over 10,000 connections, default configuration): ${f(idle.tcb, 0)} bytes of TCB plus ${f(idle.tables, 0)} bytes of the`,
    `tables grown for it = ${f(idle.tcb + idle.tables, 0)} bytes. WebAssembly memory per engine: ${f(idle.idleMiB)} MiB idle, ${f(idle.openMiB)} MiB`,
    "with the 10,000 open (memory.buffer.byteLength, the mean of both ends).",
    `Rings after the timed bulk runs (auto-sizing, assembly/engine/autosize.ts; 256 KiB at the start, 4 MiB at most), sender's send`,
    `ring / receiver's receive ring, KiB: MTU 1500 ${rings(engine1500)}; with offload ${rings(engine1500Offload)}; MTU 65535 ${rings(engine65535)}.`,
    "",
    "Issue 3 targets: bulk at MTU 1500 >= 5 Gbit/s and >= 0.5x Node net; churn >= 50,000/s; idle <= 2 KiB.",
    "Issue 9 target: an idle stack <= 2 MiB of WebAssembly memory.",
  ].join("\n");
  return { title: "Connection engine, two instances in one process (bench/engine.bench.ts)", markdown };
};
