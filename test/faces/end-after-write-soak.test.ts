// Soak: a client writes 1000 bytes, ends its side at once, and waits for the server's answer and
// close, against a server listening on one of its addresses (not the wildcard). A helper once saw
// such an exchange stall; this runs it many times in every variation around that report, on both
// faces and across them, with real timers and the memory link's default settings (createMemoryLinkPair()
// and createStack with no config: what a user gets). Each connection, client and server side, must
// finish (answer received, both 'close'd without error) before a watchdog that only bounds a hang:
// on a lossless link every exchange here takes a few milliseconds.
//
// Variations: the listener's host (IPv4, IPv6, the stack's second address of each, the IPv4 wildcard
// as a control, and from the server's own stack to its address and to 127.0.0.1, the loopback path);
// the Node client writing before the connect completes, in 'connect', or as end(data), ending in the
// same tick or in the write's callback, with allowHalfOpen either way; the Web client closing its
// writer without awaiting the write, after it, or by closing the stream; Nagle on and off; servers on
// both faces that echo and end, answer on the client's FIN (half-open), or answer and end as soon as
// 1000 bytes are in (before the FIN, or racing it), with allowHalfOpen either way on the Node face;
// two connections of each at once. SOAK_ROUNDS=n repeats the matrix and SOAK_FAST=1 runs it with the
// test fixtures' short timers (RTO 20 ms, spurious retransmissions under load) for a longer hunt.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStack, createMemoryLinkPair, type Stack, type TcpSocket } from "../../src/index.js";
import { bindNet, type BoundNet, type Socket } from "../../src/faces/node-net.js";

const PAYLOAD = new Uint8Array(1000).map((_, i) => (i * 7 + 3) & 0xff);
const ANSWER = "got 1000";
/** Bounds a hang only (a stalled exchange never finishes): lossless exchanges finish in milliseconds. */
const WATCHDOG_MS = 10_000;
/** Connections of one variation at once. */
const AT_ONCE = 2;
/** Rounds over the whole matrix (SOAK_ROUNDS=50 for a long hunt). */
const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 1);

/** Where the server listens and the client connects; `self`: the client is on the server's own stack (its loopback path). */
type Host = { name: string; listen: string | undefined; connect: string; self?: boolean };
const HOSTS: Host[] = [
  { name: "IPv4 10.0.0.2", listen: "10.0.0.2", connect: "10.0.0.2" },
  { name: "IPv6 fd00::2", listen: "fd00::2", connect: "fd00::2" },
  { name: "IPv4 10.0.0.3, the stack's second IPv4 address", listen: "10.0.0.3", connect: "10.0.0.3" },
  { name: "IPv6 fd00::3, the stack's second IPv6 address", listen: "fd00::3", connect: "fd00::3" },
  { name: "wildcard (control)", listen: undefined, connect: "10.0.0.2" },
  { name: "IPv4 10.0.0.2 from its own stack", listen: "10.0.0.2", connect: "10.0.0.2", self: true },
  { name: "127.0.0.1 from its own stack", listen: "127.0.0.1", connect: "127.0.0.1", self: true },
];

type ServerMode = "echo" | "answer-on-end" | "answer-at-1000";
type ServerKind = { face: "node" | "web"; mode: ServerMode; allowHalfOpen?: boolean };
const SERVERS: ServerKind[] = [
  { face: "node", mode: "echo", allowHalfOpen: false },
  { face: "node", mode: "echo", allowHalfOpen: true },
  // Answering after the peer's FIN needs the write side open: half-open only.
  { face: "node", mode: "answer-on-end", allowHalfOpen: true },
  { face: "node", mode: "answer-at-1000", allowHalfOpen: false },
  { face: "node", mode: "answer-at-1000", allowHalfOpen: true },
  { face: "web", mode: "echo" },
  { face: "web", mode: "answer-on-end" },
  { face: "web", mode: "answer-at-1000" },
];

type ClientKind =
  | { face: "node"; write: "before-connect" | "on-connect" | "end-with-data"; end: "same-tick" | "write-callback"; allowHalfOpen: boolean; noDelay: boolean }
  | { face: "web"; close: "unawaited" | "after-write" | "stream-close"; noDelay: boolean };
const CLIENTS: ClientKind[] = [];
for (const allowHalfOpen of [false, true]) {
  for (const write of ["before-connect", "on-connect", "end-with-data"] as const) {
    for (const end of write === "end-with-data" ? (["same-tick"] as const) : (["same-tick", "write-callback"] as const)) {
      CLIENTS.push({ face: "node", write, end, allowHalfOpen, noDelay: write === "on-connect" });
    }
  }
}
for (const close of ["unawaited", "after-write", "stream-close"] as const) {
  for (const noDelay of [false, true]) CLIENTS.push({ face: "web", close, noDelay });
}

const describeServer = (s: ServerKind) => `${s.face} server ${s.mode}${s.allowHalfOpen === undefined ? "" : ` allowHalfOpen=${s.allowHalfOpen}`}`;
const describeClient = (c: ClientKind) =>
  c.face === "node"
    ? `node client write ${c.write}, end ${c.end}, allowHalfOpen=${c.allowHalfOpen}, noDelay=${c.noDelay}`
    : `web client close ${c.close}, noDelay=${c.noDelay}`;

const decode = (chunks: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/** What one side ended with: done, or where it stood when the watchdog fired. */
type Outcome = { ok: true; received: Uint8Array } | { ok: false; where: string };

function watchdog<T>(work: Promise<T>, where: () => string): Promise<T | Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, where: `stalled: ${where()}` }), WATCHDOG_MS);
  });
  return Promise.race([work, stalled]).finally(() => clearTimeout(timer));
}

// ---- servers: each accepted connection reports its outcome to `done` ----

function nodeServe(net: BoundNet, kind: ServerKind, port: number, host: string | undefined, done: (o: Promise<Outcome>) => void): Promise<void> {
  const server = net.createServer({ allowHalfOpen: kind.allowHalfOpen }, (s: Socket) => {
    const chunks: Uint8Array[] = [];
    let got = 0;
    let events = "";
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      s.end(ANSWER);
    };
    s.on("data", (d: Buffer) => {
      chunks.push(new Uint8Array(d));
      got += d.length;
      if (kind.mode === "echo") s.write(d);
      if (kind.mode === "answer-at-1000" && got >= PAYLOAD.length) answer();
    });
    s.on("end", () => {
      events += " end";
      if (kind.mode === "answer-on-end") answer();
      else if (kind.mode === "echo" && kind.allowHalfOpen) s.end();
    });
    const closed = new Promise<Outcome>((resolve) => {
      s.on("error", (e: NodeJS.ErrnoException) => resolve({ ok: false, where: `server error ${e.code}` }));
      s.on("close", () => resolve({ ok: true, received: decode(chunks) }));
    });
    done(watchdog(closed, () => `server got ${got} bytes, events${events || " none"}, state ${s.tcpStatus()?.state ?? "released"}`));
  });
  return new Promise<void>((resolve) => (host === undefined ? server.listen(port, resolve) : server.listen(port, host, resolve)));
}

async function webServeOne(socket: TcpSocket, kind: ServerKind, progress: { got: number; step: string }): Promise<Outcome> {
  const { readable, writable } = await socket.opened;
  const writer = writable.getWriter();
  const reader = readable.getReader();
  const chunks: Uint8Array[] = [];
  let answered = false;
  for (;;) {
    progress.step = "reading";
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    progress.got += value.length;
    if (kind.mode === "echo") await writer.write(value);
    if (kind.mode === "answer-at-1000" && progress.got >= PAYLOAD.length && !answered) {
      answered = true;
      progress.step = "answering before the FIN";
      await writer.write(new TextEncoder().encode(ANSWER));
      await writer.close();
    }
  }
  progress.step = "read the FIN";
  if (kind.mode === "answer-on-end") await writer.write(new TextEncoder().encode(ANSWER));
  if (!answered) await writer.close();
  progress.step = "awaiting closed";
  await socket.closed;
  return { ok: true, received: decode(chunks) };
}

function webServe(stack: Stack, kind: ServerKind, port: number, host: string | undefined, done: (o: Promise<Outcome>) => void): Promise<void> {
  const listener = stack.listen({ port, ...(host !== undefined && { hostname: host }) });
  void (async () => {
    for await (const socket of listener) {
      const progress = { got: 0, step: "opening" };
      const work = webServeOne(socket, kind, progress).catch((e: { code?: string }) => ({ ok: false as const, where: `server error ${e.code ?? e}` }));
      done(watchdog(work, () => `server got ${progress.got} bytes, ${progress.step}`));
    }
  })();
  return listener.opened.then(() => undefined);
}

// ---- clients ----

function nodeClient(net: BoundNet, kind: Extract<ClientKind, { face: "node" }>, host: string, port: number): Promise<Outcome> {
  const c = net.connect({ host, port, allowHalfOpen: kind.allowHalfOpen, noDelay: kind.noDelay });
  const chunks: Uint8Array[] = [];
  let events = "";
  c.on("data", (d: Buffer) => chunks.push(new Uint8Array(d)));
  c.on("end", () => (events += " end"));
  c.on("finish", () => (events += " finish"));
  const send = () => {
    if (kind.write === "end-with-data") c.end(PAYLOAD);
    else if (kind.end === "same-tick") {
      c.write(PAYLOAD);
      c.end();
    } else c.write(PAYLOAD, () => c.end());
  };
  if (kind.write === "before-connect") send();
  else c.once("connect", send);
  const closed = new Promise<Outcome>((resolve) => {
    c.on("error", (e: NodeJS.ErrnoException) => resolve({ ok: false, where: `client error ${e.code}` }));
    c.on("close", () => resolve({ ok: true, received: decode(chunks) }));
  });
  return watchdog(closed, () => `client got ${decode(chunks).length} bytes, events${events || " none"}, state ${c.tcpStatus()?.state ?? "released"}`) as Promise<Outcome>;
}

async function webClient(stack: Stack, kind: Extract<ClientKind, { face: "web" }>, host: string, port: number): Promise<Outcome> {
  const progress = { got: 0, step: "opening" };
  const work = (async (): Promise<Outcome> => {
    const socket = stack.connect({ hostname: host, port, noDelay: kind.noDelay });
    const { readable, writable } = await socket.opened;
    progress.step = "writing";
    const writer = writable.getWriter();
    if (kind.close === "unawaited") {
      void writer.write(PAYLOAD);
      void writer.close();
    } else if (kind.close === "after-write") {
      await writer.write(PAYLOAD);
      await writer.close();
    } else {
      void writer.write(PAYLOAD);
      writer.releaseLock();
      void writable.close();
    }
    const chunks: Uint8Array[] = [];
    progress.step = "reading";
    for await (const chunk of readable) {
      chunks.push(chunk);
      progress.got += chunk.length;
    }
    progress.step = "awaiting closed";
    await socket.closed;
    return { ok: true, received: decode(chunks) };
  })().catch((e: { code?: string }) => ({ ok: false as const, where: `client error ${e.code ?? e}` }));
  return watchdog(work, () => `client got ${progress.got} bytes, ${progress.step}`) as Promise<Outcome>;
}

describe("soak: write 1000 bytes, end at once, await the answer and close (real timers, default memory link)", () => {
  let client: Stack;
  let server: Stack;
  let clientNet: BoundNet;
  let serverNet: BoundNet;
  /** Per listener (server kind x host): its port and the outcomes of the connections it accepted. */
  const listeners: { kind: ServerKind; host: Host; port: number; accepted: Promise<Outcome>[] }[] = [];

  beforeAll(async () => {
    const [a, b] = createMemoryLinkPair();
    const config = process.env.SOAK_FAST ? { rtoInitialMs: 50, rtoMinMs: 20, mslMs: 50 } : undefined;
    client = await createStack({ addresses: ["10.0.0.1/24", "fd00::1/64"], config });
    server = await createStack({ addresses: ["10.0.0.2/24", "fd00::2/64", "10.0.0.3/24", "fd00::3/64"], config });
    client.attach(a);
    server.attach(b);
    clientNet = bindNet(client);
    serverNet = bindNet(server);
    let port = 9000;
    for (const kind of SERVERS) {
      for (const host of HOSTS) {
        const l = { kind, host, port: port++, accepted: [] as Promise<Outcome>[] };
        const done = (o: Promise<Outcome>) => l.accepted.push(o);
        if (kind.face === "node") await nodeServe(serverNet, kind, l.port, host.listen, done);
        else await webServe(server, kind, l.port, host.listen, done);
        listeners.push(l);
      }
    }
  });
  afterAll(() => {
    client?.close();
    server?.close();
  });

  it(`${CLIENTS.length} clients x ${SERVERS.length} servers x ${HOSTS.length} hosts, ${AT_ONCE} at once, ${ROUNDS} rounds: every exchange finishes on both sides with the bytes it should`, async () => {
    const failures: string[] = [];
    let exchanges = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of listeners) {
        for (const kind of CLIENTS) {
          const from = l.accepted.length;
          const outcomes = await Promise.all(
            Array.from({ length: AT_ONCE }, () =>
              kind.face === "node"
                ? nodeClient(l.host.self ? serverNet : clientNet, kind, l.host.connect, l.port)
                : webClient(l.host.self ? server : client, kind, l.host.connect, l.port),
            ),
          );
          // The server's side of each of these connections (accepted by now: the client got its answer or gave up).
          const serverSides = await Promise.all(l.accepted.slice(from));
          const what = `${describeClient(kind)} -> ${describeServer(l.kind)} on ${l.host.name}`;
          const expected = l.kind.mode === "echo" ? PAYLOAD : new TextEncoder().encode(ANSWER);
          for (const o of outcomes) {
            exchanges++;
            if (!o.ok) failures.push(`${what}: ${o.where}`);
            else if (Buffer.compare(Buffer.from(o.received), Buffer.from(expected)) !== 0) failures.push(`${what}: client got ${o.received.length} bytes, not the ${expected.length} expected`);
          }
          if (serverSides.length !== AT_ONCE) failures.push(`${what}: the server accepted ${serverSides.length} of ${AT_ONCE}`);
          for (const o of serverSides) {
            if (!o.ok) failures.push(`${what}: ${o.where}`);
            else if (Buffer.compare(Buffer.from(o.received), Buffer.from(PAYLOAD)) !== 0) failures.push(`${what}: server got ${o.received.length} bytes, not the 1000 sent`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(exchanges).toBe(ROUNDS * listeners.length * CLIENTS.length * AT_ONCE);
  }, 120_000);
});
