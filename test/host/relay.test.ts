// `tcpwasm relay` (createRelay) on 127.0.0.1: stream mode spliced to node:net servers (echo, half-close
// both ways), packet mode into a stack per client with a forwarded port (16 MiB SHA-256 from a
// node:http server), and every refusal that keeps it from being an open proxy: wrong or missing
// token, wrong Origin, a destination outside the allow-list, a private range reached by a name
// that resolves into it, the connection and byte limits, idle sessions; each logged, and a client
// already connected undisturbed by all of them. No assertion depends on how long anything takes.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { bindNet } from "../../src/faces/node-net.js";
import { createWebSocketLink, dialWebSocketStream } from "../../src/net/websocket-node.js";
import type { WebSocketStream } from "../../src/net/websocket-stream.js";
import { createStack } from "../../src/tcp/stack.js";
import { createRelay, type RelayLogEntry, type RelayOptions } from "../../src/tools/relay.js";
import { stackAttach } from "../../src/tools/relay-packet.js";
import { DestinationPolicy, isSpecialAddress, normalizeAddress, parseAllowPattern } from "../../src/tools/relay-policy.js";
import { TcpwasmError } from "../../src/core/errors.js";
import { ClientAccount, ClientTable, TokenBucket } from "../../src/tools/relay-limits.js";
import { startRelay } from "../fixtures/e2e/relay.js";
import { handshake } from "../fixtures/e2e/ws-client.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A node:net echo server on 127.0.0.1 that mirrors half-close: at the client's FIN it answers "bye" and ends. */
async function echoServer(): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.on("data", (d) => s.write(d));
    s.on("end", () => s.end("bye"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

const until = async (what: string, cond: () => boolean) => {
  for (let i = 0; i < 20_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!cond()) throw new Error(`never happened: ${what}`);
};

async function relay(options: RelayOptions) {
  const log: RelayLogEntry[] = [];
  const r = await createRelay({ log: (e) => log.push(e), ...options });
  cleanups.push(() => r.close());
  return { relay: r, log };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const dec = new TextDecoder();
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) text += dec.decode(chunk, { stream: true });
  return text;
}

/** Dials through the relay; resolves with the stream once open. */
function dial(url: string, host: string, port: number): WebSocketStream {
  const s = dialWebSocketStream(url, host, port);
  cleanups.push(() => s.close());
  return s;
}
/** Opens a stream-mode socket naming its destination in a first text message; resolves with how it closes: [code, reason]. */
function firstMessageClose(url: string, destination: unknown): Promise<[number, string]> {
  return new Promise((resolve) => {
    const ws = new WsWebSocket(url);
    ws.on("error", () => {});
    ws.on("open", () => ws.send(JSON.stringify(destination)));
    ws.on("close", (code, reason) => resolve([code, reason.toString()]));
  });
}

/** An echo round trip on an open stream. */
async function echoes(s: WebSocketStream, text: string): Promise<boolean> {
  const w = s.writable.getWriter();
  const r = s.readable.getReader();
  await w.write(new TextEncoder().encode(text));
  let got = "";
  while (got.length < text.length) {
    const { value, done } = await r.read();
    if (done) return false;
    got += new TextDecoder().decode(value);
  }
  w.releaseLock();
  r.releaseLock();
  return got === text;
}

describe("relay stream mode", () => {
  it("splices a WebSocket to a node:net server, with half-close both ways", async () => {
    const port = await echoServer();
    const { relay: r, log } = await relay({ allow: [`127.0.0.1:${port}`] });
    const s = dial(r.url, "127.0.0.1", port);
    await s.opened;
    const w = s.writable.getWriter();
    await w.write(new TextEncoder().encode("hello "));
    await w.write(new TextEncoder().encode("relay"));
    // Our FIN: the server still answers after it, then ends: its FIN ends our readable.
    await w.close();
    expect(await readAll(s.readable)).toBe("hello relaybye");
    expect((await s.closed).code).toBe(1000);
    const close = log.find((e) => e.event === "close");
    expect(close).toMatchObject({ mode: "stream", client: "127.0.0.1", host: "127.0.0.1", port, address: "127.0.0.1", up: 11, down: 14 });
    expect(log.some((e) => e.event === "open" && e.port === port)).toBe(true);
  });

  it("carries 16 MiB each way through the dialer, in writes larger than a relay message, SHA-256 intact", async () => {
    const port = await echoServer();
    const { relay: r } = await relay({ allow: [`127.0.0.1:${port}`] });
    const s = dial(r.url, "127.0.0.1", port);
    await s.opened;
    const data = new Uint8Array(16 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >>> 11)) & 0xff;
    const h = createHash("sha256");
    let n = 0;
    const reading = (async () => {
      for await (const c of s.readable as unknown as AsyncIterable<Uint8Array>) {
        h.update(c);
        n += c.length;
      }
    })();
    const w = s.writable.getWriter();
    // 4 MiB writes: each over the relay's 1 MiB message limit, so the dialer must split them.
    for (let off = 0; off < data.length; off += 4 << 20) await w.write(data.subarray(off, off + (4 << 20)));
    await w.close();
    await reading;
    expect(n).toBe(data.length + 3);
    expect(h.digest("hex")).toBe(createHash("sha256").update(data).update("bye").digest("hex"));
  });

  it("closes the WebSocket at the destination's FIN for a client that did not ask for half-close (websockify's way)", async () => {
    const port = await echoServer();
    const { relay: r } = await relay({ allow: [`127.0.0.1:${port}`] });
    const ws = new WsWebSocket(`${r.url}?host=127.0.0.1&port=${port}`);
    cleanups.push(() => ws.terminate());
    const got: string[] = [];
    ws.on("message", (d: Buffer) => got.push(d.toString()));
    await new Promise((res) => ws.once("open", res));
    ws.send(Buffer.from("x"));
    ws.send(Buffer.alloc(0));
    const code = await new Promise<number>((res) => ws.once("close", res));
    expect(code).toBe(1000);
    expect(got.join("")).toBe("xbye");
  });

  it("takes the destination from a first text message (websockify's other form)", async () => {
    const port = await echoServer();
    const { relay: r } = await relay({ allow: [`127.0.0.1:${port}`] });
    const ws = new WsWebSocket(r.url);
    cleanups.push(() => ws.terminate());
    await new Promise((res) => ws.once("open", res));
    ws.send(JSON.stringify({ host: "127.0.0.1", port }));
    ws.send(Buffer.from("ping"));
    const got = await new Promise<string>((res) => ws.once("message", (d: Buffer) => res(d.toString())));
    expect(got).toBe("ping");
  });

  it("refuses what an open proxy would allow, logs each refusal, and leaves other clients alone", async () => {
    const port = await echoServer();
    const token = "s3cret-token-value";
    const names: Record<string, string[]> = {
      "rebind.test": ["127.0.0.1"],
      "mixed.test": ["93.184.216.34", "10.1.2.3"],
      "public.test": ["93.184.216.34"],
    };
    const { relay: r, log } = await relay({
      allow: [`127.0.0.1:${port}`, "*:443", "*.test:1-65535"],
      token,
      origins: ["https://app.example"],
      limits: { maxConnections: 3 },
      resolve: async (host) => {
        const a = names[host];
        if (!a) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
        return a;
      },
    });
    const base = `${r.url}?token=${token}`;
    // A client doing real work the whole time.
    const busy = dialWebSocketStream(base, "127.0.0.1", port);
    cleanups.push(() => busy.close());
    await busy.opened;
    expect(await echoes(busy, "before")).toBe(true);

    // Token: missing, wrong (also in the header), right in the header.
    expect(await handshake(`${r.url}?host=127.0.0.1&port=${port}`)).toBe(401);
    expect(await handshake(`${r.url}?host=127.0.0.1&port=${port}&token=wrong-token-value`)).toBe(401);
    expect(await handshake(`${r.url}?host=127.0.0.1&port=${port}`, { Authorization: "Bearer nope" })).toBe(401);
    expect(await handshake(`${r.url}?host=127.0.0.1&port=${port}`, { Authorization: `Bearer ${token}` })).toBe("open");
    // Origin: another site's page is refused; the listed one is served.
    expect(await handshake(`${base}&host=127.0.0.1&port=${port}`, { Origin: "https://evil.example" })).toBe(403);
    expect(await handshake(`${base}&host=127.0.0.1&port=${port}`, { Origin: "https://app.example" })).toBe("open");
    // Destinations: outside the allow-list; a loopback port not listed; private ranges by name
    // (DNS rebinding) and by one of several addresses; an IPv4-mapped loopback; bad requests.
    const refusals: [string, number, RegExp][] = [
      ["127.0.0.1", port + 1 === 65536 ? 1 : port + 1, /not in the allow-list/],
      ["10.0.0.1", 443, /private, loopback or special range/],
      ["[::ffff:127.0.0.1]", 443, /127\.0\.0\.1 is in a private/],
      ["[::1]", 443, /private, loopback or special range/],
      ["169.254.169.254", 443, /private, loopback or special range/],
      ["rebind.test", 443, /127\.0\.0\.1 is in a private/],
      ["mixed.test", 80, /10\.1\.2\.3 is in a private/],
      ["unknown.test", 80, /cannot resolve unknown\.test: ENOTFOUND/],
      ["93.184.216.34", 80, /not in the allow-list/],
    ];
    // The query form is judged before the handshake completes: an HTTP status, the reason logged.
    for (const [host, p, reason] of refusals) {
      expect([host, await handshake(`${base}&host=${encodeURIComponent(host)}&port=${p}`)]).toEqual([host, 403]);
      expect(log.at(-1)).toMatchObject({ event: "refused", host, port: p, reason: expect.stringMatching(reason) });
    }
    expect(await handshake(`${base}&host=127.0.0.1`)).toBe(400);
    // The first-message form is judged after it: a 4403 close with the reason.
    expect(await firstMessageClose(base, { host: "rebind.test", port: 443 })).toEqual([4403, "127.0.0.1 is in a private, loopback or special range (allow it by address)"]);
    // tcpwasm's dialer: a refused destination is a failed open, as a refused connect is.
    const refusedDial = dial(base, "10.0.0.1", 443);
    expect(await refusedDial.opened.then(() => "open", (e: TcpwasmError) => e.code)).toBe("ECONNREFUSED");
    // Limits: three connections per client; busy holds one, two more fill it, the fourth is refused.
    const a = dial(base, "127.0.0.1", port);
    const b = dial(base, "127.0.0.1", port);
    await Promise.all([a.opened, b.opened]);
    expect(await handshake(`${base}&host=127.0.0.1&port=${port}`)).toBe(429);
    a.close();
    await a.closed;
    expect(await handshake(`${base}&host=127.0.0.1&port=${port}`)).toBe("open");

    // Every refusal was logged with who and why; the busy client never noticed.
    const refused = log.filter((e) => e.event === "refused");
    expect(refused.length).toBe(4 + refusals.length + 1 + 1 + 1 + 1);
    for (const e of refused) expect(e).toMatchObject({ client: "127.0.0.1" });
    expect(refused.filter((e) => e.reason === "wrong token").length).toBe(2);
    expect(refused.find((e) => e.reason?.startsWith("origin"))).toMatchObject({ origin: "https://evil.example" });
    expect(refused.find((e) => e.host === "rebind.test")).toMatchObject({ port: 443, reason: expect.stringMatching(/127\.0\.0\.1/) });
    expect(JSON.stringify(log)).not.toContain(token);
    expect(await echoes(busy, "after")).toBe(true);
    expect(r.stats.refused).toBe(refused.length);
  });

  it("reaches an IPv6 destination allowed by address, and refuses a lookup that never answers", async () => {
    const server = net.createServer((c) => c.end("v6"));
    await new Promise<void>((res) => server.listen(0, "::1", res));
    cleanups.push(() => new Promise((res) => server.close(res)));
    const port = (server.address() as net.AddressInfo).port;
    const { relay: r } = await relay({ allow: [`[::1]:${port}`, "*.test:80"], connectTimeoutMs: 200, resolve: () => new Promise(() => {}) });
    const s = dial(r.url, "::1", port);
    expect(await readAll(s.readable)).toBe("v6");
    expect(await handshake(`${r.url}?host=slow.test&port=80`)).toBe(504);
    expect(await firstMessageClose(r.url, { host: "slow.test", port: 80 })).toEqual([4504, "resolving slow.test: ETIMEDOUT"]);
  });

  it("carries a destination's reset to the client as ECONNRESET, and keeps serving", async () => {
    const server = net.createServer((c) => {
      c.on("error", () => {});
      c.once("data", () => c.resetAndDestroy());
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => server.close(res)));
    const port = (server.address() as net.AddressInfo).port;
    const echo = await echoServer();
    const { relay: r, log } = await relay({ allow: [`127.0.0.1:${port}`, `127.0.0.1:${echo}`] });
    const s = dial(r.url, "127.0.0.1", port);
    await s.opened;
    const reading = readAll(s.readable).then(() => "ended", (e: TcpwasmError) => e.code);
    const w = s.writable.getWriter();
    await w.write(new TextEncoder().encode("reset me"));
    expect(await reading).toBe("ECONNRESET");
    expect(await s.closed).toEqual({ code: 4502, reason: "ECONNRESET" });
    expect(log.find((e) => e.event === "close")).toMatchObject({ reason: "ECONNRESET", up: 8 });
    const again = dial(r.url, "127.0.0.1", echo);
    await again.opened;
    expect(await echoes(again, "still here")).toBe(true);
  });

  it("closes a client that sends a message over the limit (1009) or text mid-stream (1003); others go on", async () => {
    const port = await echoServer();
    const { relay: r } = await relay({ allow: [`127.0.0.1:${port}`] });
    const busy = dial(r.url, "127.0.0.1", port);
    await busy.opened;
    const closeAfter = async (payload: Buffer | string) => {
      const ws = new WsWebSocket(`${r.url}?host=127.0.0.1&port=${port}`);
      ws.on("error", () => {});
      await new Promise((res) => ws.once("open", res));
      ws.send(payload);
      return new Promise<number>((res) => ws.once("close", (code) => res(code)));
    };
    expect(await closeAfter(Buffer.alloc(2 << 20))).toBe(1009);
    expect(await closeAfter("text")).toBe(1003);
    expect(await echoes(busy, "undisturbed")).toBe(true);
    expect(r.stats.active).toBe(1);
  });

  it("denies everything without an --allow pattern", async () => {
    const port = await echoServer();
    const { relay: r, log } = await relay({});
    expect(await handshake(`${r.url}?host=127.0.0.1&port=${port}`)).toBe(403);
    expect(log.at(-1)).toMatchObject({ event: "refused", reason: "no --allow pattern: everything is refused" });
    expect(await firstMessageClose(r.url, { host: "127.0.0.1", port })).toEqual([4403, "no --allow pattern: everything is refused"]);
  });

  it("closes a client at its byte limit (4429)", async () => {
    const port = await echoServer();
    const { relay: r, log } = await relay({ allow: [`127.0.0.1:${port}`], limits: { maxBytes: 100_000 } });
    const s = dial(r.url, "127.0.0.1", port);
    await s.opened;
    const w = s.writable.getWriter();
    const chunk = new Uint8Array(10_000);
    const drain = readAll(s.readable).catch((e: TcpwasmError) => e.code);
    for (let i = 0; i < 20; i++) await w.write(chunk).catch(() => {});
    expect(await drain).toBe("ECONNRESET");
    expect((await s.closed)).toMatchObject({ code: 4429 });
    expect(log.find((e) => e.event === "close")?.reason).toMatch(/byte limit/);
  });

  it("closes idle sessions (4408)", async () => {
    const port = await echoServer();
    const { relay: r, log } = await relay({ allow: [`127.0.0.1:${port}`], idleTimeoutMs: 100 });
    const s = dial(r.url, "127.0.0.1", port);
    await s.opened;
    expect((await s.closed).code).toBe(4408);
    expect(log.find((e) => e.event === "close")?.reason).toMatch(/idle/);
  });

  it("reports a destination that refuses the connection (502 before the handshake, 4502 after it)", async () => {
    const port = await echoServer();
    // A port with nothing on it: listen, note it, close.
    const dead = net.createServer();
    await new Promise<void>((res) => dead.listen(0, "127.0.0.1", res));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise((res) => dead.close(res));
    const { relay: r, log } = await relay({ allow: [`127.0.0.1:${port}`, `127.0.0.1:${deadPort}`] });
    expect(await handshake(`${r.url}?host=127.0.0.1&port=${deadPort}`)).toBe(502);
    expect(log.at(-1)?.reason).toMatch(/ECONNREFUSED/);
    const [code, reason] = await firstMessageClose(r.url, { host: "127.0.0.1", port: deadPort });
    expect(code).toBe(4502);
    expect(reason).toMatch(/ECONNREFUSED/);
  });
});

describe("relay packet mode", () => {
  it("gives each client a stack whose forwarded port reaches a loopback http server: 16 MiB, SHA-256 intact", async () => {
    const body = Buffer.alloc(16 << 20);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 12)) & 0xff;
    const httpServer = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((res) => httpServer.listen(0, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => httpServer.close(res)));
    const httpPort = (httpServer.address() as net.AddressInfo).port;
    const { relay: r, log } = await relay({
      allow: [`127.0.0.1:${httpPort}`],
      packet: { attach: stackAttach(["10.0.0.1/24", "fd00::1/64"], [{ port: 80, host: "127.0.0.1", destPort: httpPort }]) },
    });
    const link = createWebSocketLink(`${r.url}packet`);
    const page = await createStack({ addresses: ["10.0.0.2/24", "fd00::2/64"] });
    cleanups.push(() => (page.close(), link.close()));
    page.attach(link);
    await link.opened;
    for (const host of ["10.0.0.1", "fd00::1"]) {
      const digest = await new Promise<string>((resolve, reject) => {
        const req = http.get({ host, port: 80, path: "/", createConnection: () => bindNet(page).connect({ host, port: 80 }) as unknown as net.Socket }, (res) => {
          const h = createHash("sha256");
          res.on("data", (c: Buffer) => h.update(c));
          res.on("end", () => resolve(h.digest("hex")));
        });
        req.on("error", reject);
      });
      expect([host, digest]).toEqual([host, createHash("sha256").update(body).digest("hex")]);
    }
    expect(log.filter((e) => e.event === "open" && e.mode === "packet" && e.port === httpPort).length).toBe(2);
  });

  it("splices a forwarded connection: each side's FIN crosses alone, the bytes each way are logged, a page's reset reaches the destination", async () => {
    // The destination answers with the count of what it read once the page's FIN arrived.
    const ends: string[] = [];
    const reads: number[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const i = reads.push(0) - 1;
      s.on("error", (e: NodeJS.ErrnoException) => ends.push(e.code ?? "error"));
      s.on("data", (d: Buffer) => (reads[i]! += d.length));
      s.on("end", () => s.end(`read ${reads[i]}`));
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => server.close(res)));
    const port = (server.address() as net.AddressInfo).port;
    const { relay: r, log } = await relay({ allow: [`127.0.0.1:${port}`], packet: { attach: stackAttach(["10.0.0.1/24"], [{ port: 9000, host: "127.0.0.1", destPort: port }]) } });
    const link = createWebSocketLink(`${r.url}packet`);
    const page = await createStack({ addresses: ["10.0.0.2/24"] });
    cleanups.push(() => (page.close(), link.close()));
    page.attach(link);
    await link.opened;
    const answer = await new Promise<string>((resolve, reject) => {
      const conn = page.openConnection({ remote: "10.0.0.1", remotePort: 9000 });
      let text = "";
      conn.onConnect = () => {
        // The send ring takes all of it at once.
        if (conn.write(new Uint8Array(100_000).fill(1)) !== 100_000) reject(new Error("short write"));
        conn.end();
      };
      conn.onData = (d) => (text += Buffer.from(d).toString());
      conn.onEnd = () => resolve(text);
      conn.onClose = (e) => e && reject(e);
    });
    expect(answer).toBe("read 100000");
    await until("the close is logged", () => log.some((e) => e.event === "close" && e.mode === "packet"));
    expect(log.find((e) => e.event === "close" && e.mode === "packet")).toMatchObject({ host: "127.0.0.1", port, reason: "closed", up: 100_000, down: 11 });
    // A page that resets its connection resets the destination's too.
    const reset = page.openConnection({ remote: "10.0.0.1", remotePort: 9000 });
    reset.onConnect = () => reset.write(new Uint8Array(10));
    await until("the destination read the bytes", () => reads[1] === 10);
    reset.abort();
    await until("the destination saw the reset", () => ends.includes("ECONNRESET"));
    await until("the reset is logged", () => log.filter((e) => e.event === "close" && e.mode === "packet").length === 2);
    expect(log.filter((e) => e.event === "close" && e.mode === "packet")[1]).toMatchObject({ reason: "ECONNRESET", up: 10 });
  });

  it("refuses a forward whose destination the allow-list does not admit, and /packet when packet mode is off", async () => {
    const port = await echoServer();
    const { relay: r, log } = await relay({ allow: [], packet: { attach: stackAttach(["10.0.0.1/24"], [{ port: 7, host: "127.0.0.1", destPort: port }]) } });
    const link = createWebSocketLink(`${r.url}packet`);
    const page = await createStack({ addresses: ["10.0.0.2/24"] });
    cleanups.push(() => (page.close(), link.close()));
    page.attach(link);
    await link.opened;
    const outcome = await new Promise<string>((resolve) => {
      const s = bindNet(page).connect({ host: "10.0.0.1", port: 7 });
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      s.on("close", () => resolve("closed"));
    });
    expect(["closed", "ECONNRESET"]).toContain(outcome);
    expect(log.find((e) => e.event === "refused")).toMatchObject({ mode: "packet", port, reason: expect.stringMatching(/allow/) });
    const off = await relay({});
    expect(await handshake(`${off.relay.url}packet`)).toBe(404);
  });
});

describe("relay packet mode limits", () => {
  it("closes a packet-mode client at its byte limit with 4429", async () => {
    const port = await echoServer();
    const { relay: r, log } = await relay({
      allow: [`127.0.0.1:${port}`],
      limits: { maxBytes: 200_000 },
      packet: { attach: stackAttach(["10.0.0.1/24"], [{ port: 7, host: "127.0.0.1", destPort: port }]) },
    });
    const link = createWebSocketLink(`${r.url}packet`);
    const page = await createStack({ addresses: ["10.0.0.2/24"] });
    cleanups.push(() => (page.close(), link.close()));
    page.attach(link);
    const closed = new Promise<number>((res) => link.onClose((i) => res(i.code)));
    await link.opened;
    const s = bindNet(page).connect({ host: "10.0.0.1", port: 7 }, () => s.write(new Uint8Array(1 << 20)));
    s.on("error", () => {});
    s.resume();
    expect(await closed).toBe(4429);
    expect(log.find((e) => e.event === "close" && e.mode === "packet")?.reason).toMatch(/byte limit/);
  });
});

describe("tcpwasm relay (the built command)", () => {
  const cli = new URL("../../dist/cli.js", import.meta.url).pathname;

  it("prints its listening line and one JSON line per decision; exits 2 on a bad flag", async () => {
    const bad = spawnSync(process.execPath, [cli, "relay", "--allow", "nonsense"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/tcpwasm relay: .*allow/);
    const relay = await startRelay({ path: cli }, ["--listen", "127.0.0.1:0", "--allow", "127.0.0.1:9", "--token", "0123456789abcdef"]);
    cleanups.push(() => relay.stop());
    const url = `ws://127.0.0.1:${relay.port}/`;
    const lines = relay.lines;
    expect(await handshake(`${url}?host=127.0.0.1&port=9&token=wrong-but-long`)).toBe(401);
    await new Promise<void>((res) => {
      const check = () => (lines.some((l) => l.includes('"refused"')) ? res() : setTimeout(check, 5));
      check();
    });
    const entry = JSON.parse(lines.find((l) => l.includes('"refused"'))!);
    expect(entry).toMatchObject({ event: "refused", mode: "stream", client: "127.0.0.1", reason: "wrong token" });
    const exited = new Promise<number | null>((res) => relay.process.once("exit", (code) => res(code)));
    relay.process.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

describe("relay policy", () => {
  it("parses allow patterns and rejects malformed ones", () => {
    expect(parseAllowPattern("*:443")).toMatchObject({ kind: "any", portMin: 443, portMax: 443 });
    expect(parseAllowPattern("*.example.com:8000-8080")).toMatchObject({ kind: "suffix", name: ".example.com", portMin: 8000, portMax: 8080 });
    expect(parseAllowPattern("[fd00::/8]:*")).toMatchObject({ kind: "prefix", portMin: 1, portMax: 65535 });
    expect(parseAllowPattern("[::ffff:10.0.0.0/104]:80").prefix).toMatchObject({ version: 4, length: 8 });
    for (const bad of ["example.com", "::1:80", "a:0", "a:80-70", "a:65536", "bad host:80", "10.0.0.0/33:80", ""]) {
      expect(() => parseAllowPattern(bad), bad).toThrow(TcpwasmError);
    }
  });

  it("judges special ranges, including IPv6 forms that carry an IPv4 address", async () => {
    const special = (t: string) => {
      const a = normalizeAddress(t)!;
      return isSpecialAddress(a.version, a.bytes);
    };
    for (const t of ["127.0.0.1", "10.1.1.1", "172.31.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1", "fd12::1", "::ffff:192.168.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"]) {
      expect([t, special(t)]).toEqual([t, true]);
    }
    for (const t of ["93.184.216.34", "1.1.1.1", "2606:4700::1111"]) expect([t, special(t)]).toEqual([t, false]);
    const policy = new DestinationPolicy([parseAllowPattern("localhost:80"), parseAllowPattern("127.0.0.1:81")], async () => ["127.0.0.1"]);
    // A name pattern never admits a private address: only an address pattern does.
    expect(await policy.check("localhost", 80)).toMatchObject({ allowed: false });
    expect(await policy.check("localhost", 81)).toMatchObject({ allowed: true, destination: { address: "127.0.0.1", family: 4 } });
  });
});

describe("relay limits", () => {
  it("token bucket: a burst, then the rate; the wait it asks for is what refills the debt", () => {
    const b = new TokenBucket(1000, 500, 0);
    expect(b.take(500, 0)).toBe(0);
    expect(b.take(250, 0)).toBe(250);
    expect(b.take(0, 250)).toBe(0);
    expect(b.tryTake(100, 250)).toBe(false);
    expect(b.tryTake(100, 350)).toBe(true);
  });

  it("packets over the rate are dropped at no cost; the total closes; connections are counted per client", () => {
    const a = new ClientAccount("192.0.2.1", { maxConnections: 2, bytesPerSecond: 1 << 20, maxBytes: 300 << 10 }, 0);
    const verdicts = Array.from({ length: 200 }, () => a.admitPacket(1400, 0));
    const ok = verdicts.filter((v) => v === "ok").length;
    expect(ok).toBe(Math.floor((256 << 10) / 1400));
    expect(a.bytes).toBe(ok * 1400);
    expect(a.admitPacket(1400, 1000)).toBe("ok");
    expect(a.admitPacket(100 << 10, 2000)).toBe("quota");
    a.connections = 2;
    expect(a.canConnect).toBe(false);
    const table = new ClientTable(a.limits, 2, 1000);
    expect(table.account("x", 0)).toBeDefined();
    expect(table.account("y", 0)).toBeDefined();
    expect(table.account("z", 0)).toBeUndefined();
    expect(table.account("z", 1000)).toBeDefined();
  });
});
