// Gateway splice throughput (issue target: >= 0.8x the stack-to-stack bulk figure, same run).
//
// Every row moves BYTES from a guest stack (createStack, SIMD release build) over an Ethernet memory
// link (createMemoryLinkPair, framing "ethernet", no faults) and counts them at the far end; Gbit/s
// from the first write to the last byte's arrival, median of RUNS interleaved runs.
// - stack to stack (the baseline): the guest's connection to a listener on a second stack on the
//   link, whose onData only counts.
// - gateway splice: the same link to a gateway stack in gateway mode (attach anyDestination,
//   serveForwarder with connectNode), which splices the connection to a node:net connection over the
//   kernel's loopback to a node:net server that only counts, in this process (its reads share the
//   thread, as the baseline's receiving stack does) and in a process of its own (as a real far
//   server is). The splice adds the gateway's receive path, a copy into the socket and the kernel's
//   loopback.
import * as net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { createStack, type Stack, type StackConnection } from "../src/tcp/stack.js";
import { createMemoryLinkPair } from "../src/net/memory-link.js";
import { serveForwarder } from "../src/gateway/forwarder.js";
import { connectNode } from "../src/gateway/node-gateway.js";
import { interleaved, median, tableRow } from "./lib/sample.js";

const RUNS = 5;
const BYTES = 64 << 20;
const CHUNK = new Uint8Array(256 << 10).fill(7);
/** node:net alone writes what the splice writes at MTU 1500: one receive's bytes, about 120 KiB. */
const NET_WRITE = 120 << 10;

interface Env {
  guest: Stack;
  other: Stack;
  close(): Promise<void>;
}

/**
 * The far server in a process of its own, as a real one would be: it counts each connection's bytes
 * and prints the count when the connection ends.
 */
const CHILD_SERVER = `
const net = require("node:net");
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  let n = 0;
  s.on("data", (d) => { n += d.length; if (n >= ${BYTES}) process.stdout.write("done\\n"); });
  s.on("end", () => s.end());
});
server.listen(0, "127.0.0.1", () => process.stdout.write("port " + server.address().port + "\\n"));
`;

async function childServer(): Promise<{ child: ChildProcess; port: number; onDone(fn: () => void): void }> {
  const child = spawn(process.execPath, ["-e", CHILD_SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  let waiting: (() => void) | undefined;
  let buffered = "";
  const port = await new Promise<number>((resolve) => {
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("port ")) resolve(Number(line.slice(5)));
        else if (line === "done") waiting?.();
      }
    });
  });
  return { child, port, onDone: (fn) => (waiting = fn) };
}

async function childEnv(mtu: number): Promise<Env & { port: number; received: () => number; reset(): void }> {
  const [la, lb] = createMemoryLinkPair({ framing: "ethernet", mtu });
  const guest = await createStack({ addresses: ["10.0.2.15/24"] });
  const other = await createStack({ addresses: ["10.0.2.2/24"] });
  guest.attach(la, { gateway: "10.0.2.2" });
  other.attach(lb, { anyDestination: true });
  const server = await childServer();
  let received = 0;
  server.onDone(() => (received = BYTES));
  serveForwarder(other, { connect: (info) => connectNode({ ...info, localAddress: "127.0.0.1" }) });
  return {
    guest, other, port: server.port, received: () => received, reset: () => (received = 0),
    close: async () => {
      guest.close();
      other.close();
      server.child.kill();
    },
  };
}

async function env(mtu: number, gateway: boolean): Promise<Env & { server?: net.Server; port: number; received: () => number; reset(): void }> {
  const [la, lb] = createMemoryLinkPair({ framing: "ethernet", mtu });
  const guest = await createStack({ addresses: ["10.0.2.15/24"] });
  const other = await createStack({ addresses: ["10.0.2.2/24"] });
  guest.attach(la, { gateway: "10.0.2.2" });
  other.attach(lb, gateway ? { anyDestination: true } : {});
  let received = 0;
  if (!gateway) {
    other.openListener({ port: 5001 }, (c) => {
      c.onData = (d) => (received += d.length);
      c.onEnd = () => c.end();
    });
    return {
      guest, other, port: 5001, received: () => received, reset: () => (received = 0),
      close: async () => {
        guest.close();
        other.close();
      },
    };
  }
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("data", (d: Buffer) => (received += d.length));
    s.on("end", () => s.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  serveForwarder(other, { connect: (info) => connectNode({ ...info, localAddress: "127.0.0.1" }) });
  return {
    guest, other, server, port, received: () => received, reset: () => (received = 0),
    close: async () => {
      guest.close();
      other.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One bulk run: Gbit/s from the first write to the last byte counted at the far end. */
function bulk(e: Awaited<ReturnType<typeof env>>, remote: string): Promise<number> {
  e.reset();
  return new Promise((resolve, reject) => {
    const conn: StackConnection = e.guest.openConnection({ remote, remotePort: e.port });
    let sent = 0;
    let start = 0;
    const pump = () => {
      while (sent < BYTES) {
        const n = conn.write(CHUNK.subarray(0, Math.min(CHUNK.length, BYTES - sent)));
        sent += n;
        if (n === 0) return;
      }
      conn.onWritable = undefined;
      conn.end();
    };
    conn.onConnect = () => {
      start = performance.now();
      conn.onWritable = pump;
      pump();
    };
    conn.onData = () => {};
    const check = setInterval(() => {
      if (e.received() >= BYTES) {
        clearInterval(check);
        resolve((BYTES * 8) / ((performance.now() - start) / 1000) / 1e9);
      }
    }, 1);
    conn.onClose = (error) => {
      if (error) {
        clearInterval(check);
        reject(error);
      }
    };
  });
}

/**
 * The splice's far leg alone: BYTES from a node:net client in this process to a node:net server in
 * this process that only counts, in writes the size the splice makes (what one receive hands it),
 * Nagle off as connectNode has it. No stack: what the kernel's loopback and node:net cost per byte.
 */
async function netAlone(): Promise<number> {
  let received = 0;
  const server = net.createServer((s) => s.on("data", (d: Buffer) => (received += d.length)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once("connect", resolve));
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    const more = () => {
      while (sent < BYTES) {
        const n = Math.min(NET_WRITE, BYTES - sent);
        sent += n;
        // The splice's chunks are copied out of the receive ring, which the stack-to-stack row pays
        // too; here the same bytes are written again and again, so this row is the leg's own cost.
        if (!socket.write(CHUNK.subarray(0, n))) return void socket.once("drain", more);
      }
    };
    more();
    const check = setInterval(() => {
      if (received >= BYTES) {
        clearInterval(check);
        resolve();
      }
    }, 1);
  });
  const gbps = (BYTES * 8) / ((performance.now() - start) / 1000) / 1e9;
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return gbps;
}

/** Runs `fn`, adding this process's CPU time (user + system, ms) over it to `into`. */
async function timedCpu(into: number[], fn: () => Promise<number>): Promise<number> {
  const before = process.cpuUsage();
  const gbps = await fn();
  const used = process.cpuUsage(before);
  into.push((used.user + used.system) / 1000);
  return gbps;
}

export default async () => {
  const rows: string[] = [];
  const bounds: string[] = [];
  for (const mtu of [1500, 65535]) {
    const direct = await env(mtu, false);
    const spliced = await env(mtu, true);
    const apart = await childEnv(mtu);
    const cpu = { direct: [] as number[], gateway: [] as number[], apart: [] as number[], net: [] as number[] };
    try {
      const r = await interleaved(RUNS, {
        direct: () => timedCpu(cpu.direct, () => bulk(direct, "10.0.2.2")),
        gateway: () => timedCpu(cpu.gateway, () => bulk(spliced, "192.0.2.1")),
        apart: () => timedCpu(cpu.apart, () => bulk(apart, "192.0.2.1")),
        net: () => timedCpu(cpu.net, () => netAlone()),
      });
      const ms = (xs: number[]) => ` ${median(xs).toFixed(0)} ms |`;
      rows.push(tableRow(`stack to stack, MTU ${mtu}`, r.direct, [r.direct]) + ms(cpu.direct));
      rows.push(tableRow(`gateway splice to node:net, server in this process, MTU ${mtu}`, r.gateway, [r.direct]) + ms(cpu.gateway));
      rows.push(tableRow(`gateway splice to node:net, server in its own process, MTU ${mtu}`, r.apart, [r.direct]) + ms(cpu.apart));
      rows.push(tableRow(`node:net alone, client and server in this process (the splice's far leg, no stack)`, r.net, [r.direct]) + ms(cpu.net));
      // One thread does both halves of the spliced row's work one after the other.
      const d = median(r.direct);
      const n = median(r.net);
      const both = 1 / (1 / d + 1 / n);
      bounds.push(`- MTU ${mtu}: stack to stack ${d.toFixed(2)} Gbit/s, node:net alone ${n.toFixed(2)} (${(n / d).toFixed(2)}x stack to stack): both in one thread ${both.toFixed(2)} Gbit/s = ${(both / d).toFixed(2)}x; the spliced row measured ${median(r.gateway).toFixed(2)} = ${(median(r.gateway) / d).toFixed(2)}x. By CPU a run: ${median(cpu.direct).toFixed(0)} + ${median(cpu.net).toFixed(0)} ms against ${median(cpu.gateway).toFixed(0)} ms spliced.`);
      console.error(`gateway bench MTU ${mtu}: direct ${d.toFixed(2)}, gateway ${median(r.gateway).toFixed(2)}, server apart ${median(r.apart).toFixed(2)}, node:net alone ${n.toFixed(2)} Gbit/s`);
    } finally {
      await direct.close();
      await spliced.close();
      await apart.close();
    }
  }
  return {
    title: "Gateway splice (guest stack -> gateway -> node:net on the loopback)",
    markdown: `${BYTES >> 20} MiB per run from a guest stack over an Ethernet memory link, ${RUNS} interleaved runs per row.
Baseline: the same guest to a listener on a second stack over the same kind of link ("stack to stack").

CPU a run: this process's user + system time over one run (the kernel's loopback work included).

| row | Gbit/s median | min - max | vs stack to stack | CPU a run |
|---|---|---|---|---|
${rows.join("\n")}

Where the time goes: the spliced row does, in one thread, what the stack-to-stack row does (the guest
sends, the gateway's stack receives and copies each chunk out) and what node:net alone does (a write
into the kernel's loopback, the server's reads), less the baseline's counting receiver; the splice
between them adds one write per received chunk (about 120 KiB at MTU 1500). Their times add, so the
spliced row runs near 1 / (1 / stack to stack + 1 / node:net alone):
${bounds.join("\n")}

The issue's 0.8x needs node:net alone at 4x stack to stack or more (1 / (1 / d + 1 / n) >= 0.8 d);
where it runs near stack to stack, as here, the splice stays near 0.5x whatever it does: the
loopback leg's own cost decides it, not the splice (one write per received chunk, no copy of its
own). With the server in its own process its reads leave this thread, but the write's kernel work
stays (the system time in the CPU column), and on a shared machine the two processes overlap little.
`,
  };
};
