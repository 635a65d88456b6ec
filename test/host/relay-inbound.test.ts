// Inbound port forwarding through `tcpwasm relay`: a port of the relay's machine the operator
// published and a packet-mode client claimed (/packet?publish=PORT) reaches a server running in that
// client's own stack, over the WebSocket link. A plain node:net client on the host moves 16 MiB each
// way (SHA-256 intact), half-close and resets travel both ways, and every refusal is clean and logged:
// a port not published, one another client holds, one another program holds, nothing listening while
// no client holds it, a client gone, a page that refuses, too many inbound connections. The built
// command is driven once with curl. No assertion depends on how long anything takes.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { bindNet } from "../../src/faces/node-net.js";
import "../../src/faces/web.js";
import { createGateway } from "../../src/gateway/gateway.js";
import { forwardConnection } from "../../src/gateway/port-forward.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import { createWebSocketLink } from "../../src/net/websocket-node.js";
import { createStack, type Stack } from "../../src/tcp/stack.js";
import { createRelay, type RelayLogEntry, type RelayOptions } from "../../src/tools/relay.js";
import { stackAttach } from "../../src/tools/relay-packet.js";
import { parsePublish } from "../../src/tools/relay-publish.js";
import { startRelay } from "../fixtures/e2e/relay.js";
import { freePort, payload } from "../fixtures/e2e/servers.js";
import { handshake } from "../fixtures/e2e/ws-client.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const MIB = 1 << 20;

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

async function relay(options: RelayOptions) {
  const log: RelayLogEntry[] = [];
  const r = await createRelay({ log: (e) => log.push(e), ...options });
  cleanups.push(() => r.close());
  return { relay: r, log };
}

/** A relay whose packet-mode clients get a stack at 10.0.0.1 and may claim `port` -> 10.0.0.2:80. */
async function publishingRelay(port: number, extra: Partial<RelayOptions> = {}) {
  return relay({
    packet: {
      attach: stackAttach(["10.0.0.1/24", "fd00::1/64"], []),
      publish: [parsePublish(`${port}=10.0.0.2:80`, "publish")],
    },
    ...extra,
  });
}

/** A page: a stack at 10.0.0.2 joined to the relay through the WebSocket link at `url`. */
async function page(url: string): Promise<{ stack: Stack; link: ReturnType<typeof createWebSocketLink> }> {
  const link = createWebSocketLink(url);
  const stack = await createStack({ addresses: ["10.0.0.2/24", "fd00::2/64"] });
  cleanups.push(() => (stack.close(), link.close()));
  stack.attach(link);
  await link.opened;
  return { stack, link };
}
/** How a host-side connection to 127.0.0.1:port ends when nothing is sent: its error code, or "closed". */
function outcome(port: number, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    s.on("close", () => resolve("closed"));
    s.resume();
  });
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

describe("relay inbound: a published port reaches a server in a client's stack", () => {
  it("16 MiB each way from a node:net client on the host, SHA-256 intact; the host's FIN reaches the page, the page's reaches the host; each connection logged", { timeout: 120_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port);
    const { stack } = await page(`${r.url}packet?publish=${port}`);
    // In the page: read everything up to the host's FIN, answer with its digest and 16 MiB, then FIN.
    const answer = payload(0x51, 16 * MIB);
    const server = bindNet(stack).createServer({ allowHalfOpen: true }, (s) => {
      const h = createHash("sha256");
      s.on("data", (c: Buffer) => h.update(c));
      s.on("end", () => {
        s.write(`${h.digest("hex")}\n`);
        s.end(answer);
      });
    });
    server.listen(80);
    const upload = payload(0x2f, 16 * MIB);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => s.end(upload));
      const parts: Buffer[] = [];
      s.on("data", (c: Buffer) => parts.push(c));
      s.on("end", () => resolve(Buffer.concat(parts)));
      s.on("error", reject);
    });
    const nl = got.indexOf(10);
    expect(got.subarray(0, nl).toString()).toBe(sha(upload));
    expect({ bytes: got.length - nl - 1, sha: sha(got.subarray(nl + 1)) }).toEqual({ bytes: answer.length, sha: sha(answer) });
    await until(() => log.some((e) => e.event === "close" && e.mode === "inbound"));
    expect(log.find((e) => e.event === "open" && e.mode === "packet")).toMatchObject({ publish: `127.0.0.1:${port}=10.0.0.2:80` });
    expect(log.find((e) => e.event === "open" && e.mode === "inbound")).toMatchObject({ client: "127.0.0.1", peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/), publish: `127.0.0.1:${port}`, host: "10.0.0.2", port: 80 });
    expect(log.find((e) => e.event === "close" && e.mode === "inbound")).toMatchObject({ reason: "closed", up: got.length, down: upload.length });
    expect(r.stats.inbound).toBe(1);
    server.close();
  });

  it("an IPv6 in-tunnel destination, published on ::1", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r } = await relay({
      packet: { attach: stackAttach(["10.0.0.1/24", "fd00::1/64"], []), publish: [parsePublish(`[::1]:${port}=[fd00::2]:8080`, "publish")] },
    });
    const { stack } = await page(`${r.url}packet?publish=${port}`);
    bindNet(stack).createServer((s) => s.end("hello from fd00::2\n")).listen(8080);
    const text = await new Promise<string>((resolve, reject) => {
      let t = "";
      const s = net.connect({ host: "::1", port });
      s.on("data", (c: Buffer) => (t += c));
      s.on("end", () => resolve(t));
      s.on("error", reject);
    });
    expect(text).toBe("hello from fd00::2\n");
  });

  it("resets travel both ways: the page's reset reaches the host as ECONNRESET, the host's reaches the page", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port);
    const { stack } = await page(`${r.url}packet?publish=${port}`);
    const pageErrors: string[] = [];
    let n = 0;
    bindNet(stack).createServer((s) => {
      s.on("error", (e: NodeJS.ErrnoException) => pageErrors.push(e.code ?? "error"));
      // The first connection: the page resets it when the host's request arrives; the second it keeps open.
      if (n++ === 0) s.once("data", () => s.resetAndDestroy());
      else s.write("stay\n");
    }).listen(80);
    const first = await new Promise<string>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => s.write("request"));
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      s.on("end", () => resolve("end"));
      s.resume();
    });
    expect(first).toBe("ECONNRESET");
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("data", () => {
        s.resetAndDestroy();
        resolve();
      });
    });
    await until(() => pageErrors.length > 0);
    expect(pageErrors).toEqual(["ECONNRESET"]);
    await until(() => log.filter((e) => e.event === "close" && e.mode === "inbound").length === 2);
  });
});

describe("relay inbound: a guest inside the page", () => {
  it("the page's listener passes each connection on to a guest behind its gateway (forwardConnection): 4 MiB from the guest, SHA-256 intact", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port);
    const { stack } = await page(`${r.url}packet?publish=${port}`);
    // The guest: a stack on an Ethernet link to the page's gateway, as an emulator's NIC would be.
    const [nic, guestNic] = createMemoryLinkPair({ framing: "ethernet" });
    const gateway = await createGateway({ link: nic, address: "10.0.2.2/24", connect: () => "reset" });
    const guest = await createStack({ addresses: ["10.0.2.15/24"] });
    cleanups.push(() => (guest.close(), gateway.close()));
    guest.attach(guestNic, { gateway: "10.0.2.2" });
    const body = payload(0x3c, 4 * MIB);
    bindNet(guest).createServer((s) => s.end(body)).listen(80);
    const listener = stack.listen({ port: 80 });
    cleanups.push(() => listener.close());
    void (async () => {
      for await (const socket of listener) forwardConnection(gateway.stack, await socket.opened, { address: "10.0.2.15", port: 80 });
    })();
    await listener.opened;
    const got = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      const s = net.connect({ host: "127.0.0.1", port });
      s.on("data", (c: Buffer) => parts.push(c));
      s.on("end", () => resolve(Buffer.concat(parts)));
      s.on("error", reject);
    });
    expect({ bytes: got.length, sha: sha(got) }).toEqual({ bytes: body.length, sha: sha(body) });
    expect(log.find((e) => e.event === "open" && e.mode === "inbound")).toMatchObject({ host: "10.0.0.2", port: 80 });
  });
});

describe("relay inbound: several clients", () => {
  it("two clients each claim a port; each port reaches that client's own page (both at 10.0.0.2 in their own tunnels)", { timeout: 60_000 }, async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const { relay: r } = await relay({
      packet: { attach: stackAttach(["10.0.0.1/24"], []), publish: [parsePublish(`${p1}=10.0.0.2:80`, "publish"), parsePublish(`${p2}=10.0.0.2:80`, "publish")] },
    });
    const one = await page(`${r.url}packet?publish=${p1}`);
    const two = await page(`${r.url}packet?publish=${p2}`);
    bindNet(one.stack).createServer((s) => s.end("page one\n")).listen(80);
    bindNet(two.stack).createServer((s) => s.end("page two\n")).listen(80);
    const get = (port: number) => new Promise<string>((resolve) => {
      let t = "";
      net.connect({ host: "127.0.0.1", port }).on("data", (c: Buffer) => (t += c)).on("end", () => resolve(t));
    });
    expect(await Promise.all([get(p1), get(p2), get(p1)])).toEqual(["page one\n", "page two\n", "page one\n"]);
    // One leaving closes its port only.
    one.link.close();
    await until(() => r.stats.active === 1);
    expect(await outcome(p1)).toBe("ECONNREFUSED");
    expect(await get(p2)).toBe("page two\n");
  });
});

describe("relay inbound: the claim follows the client's session", () => {
  it("a page on a reconnecting link claims its port again after the relay dropped it (idle), and is reached again", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port, { idleTimeoutMs: 1000 });
    const link = createWebSocketLink(`${r.url}packet?publish=${port}`, { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const stack = await createStack({ addresses: ["10.0.0.2/24"] });
    cleanups.push(() => (stack.close(), link.close()));
    stack.attach(link);
    await link.opened;
    bindNet(stack).createServer((s) => s.end("still here\n")).listen(80);
    const reopened = new Promise<void>((resolve) => link.onOpen(() => resolve()));
    await reopened;
    expect(log.find((e) => e.event === "close" && e.mode === "packet")?.reason).toMatch(/idle/);
    const text = await new Promise<string>((resolve, reject) => {
      let t = "";
      net.connect({ host: "127.0.0.1", port }).on("data", (c: Buffer) => (t += c)).on("end", () => resolve(t)).on("error", reject);
    });
    expect(text).toBe("still here\n");
    expect(log.filter((e) => e.event === "open" && e.mode === "packet")).toHaveLength(2);
  });

  it("relay.close() resets open inbound connections and unbinds every published port", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const r = await createRelay({ packet: { attach: stackAttach(["10.0.0.1/24"], []), publish: [parsePublish(`${port}=10.0.0.2:80`, "publish")] } });
    const { stack } = await page(`${r.url}packet?publish=${port}`);
    bindNet(stack).createServer((s) => s.write("open\n")).listen(80);
    const s = net.connect({ host: "127.0.0.1", port });
    const ended = new Promise<string>((resolve) => {
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      s.on("close", () => resolve("closed"));
    });
    await new Promise((resolve) => s.once("data", resolve));
    await r.close();
    expect(await ended).toBe("ECONNRESET");
    expect(await outcome(port)).toBe("ECONNREFUSED");
  });
});

describe("relay inbound: refusals", () => {
  it("nothing listens until a client claims the port; a port not published is 403, one another client holds is 409; each logged", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const other = await freePort();
    const { relay: r, log } = await publishingRelay(port);
    // Published but unclaimed: the host's own TCP refuses.
    expect(await outcome(port)).toBe("ECONNREFUSED");
    expect(await handshake(`${r.url}packet?publish=${other}`)).toBe(403);
    expect(await handshake(`${r.url}packet?publish=80x`)).toBe(403);
    expect(log.filter((e) => e.event === "refused").map((e) => e.reason)).toEqual([`port ${other} is not published by this relay`, "port 80x is not published by this relay"]);
    // A packet-mode client that claims nothing binds nothing.
    await page(`${r.url}packet`);
    expect(await outcome(port)).toBe("ECONNREFUSED");
    const { stack } = await page(`${r.url}packet?publish=${port}`);
    bindNet(stack).createServer((s) => s.end("first\n")).listen(80);
    expect(await handshake(`${r.url}packet?publish=${port}`)).toBe(409);
    expect(log.at(-1)).toMatchObject({ event: "refused", mode: "packet", reason: `port ${port} is published to another client` });
    // The holder still serves.
    const text = await new Promise<string>((resolve) => {
      let t = "";
      net.connect({ host: "127.0.0.1", port }).on("data", (c: Buffer) => (t += c)).on("end", () => resolve(t));
    });
    expect(text).toBe("first\n");
  });

  it("a client that goes away: its listener closes (ECONNREFUSED), its open connections are reset and logged, and the port can be claimed again", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port);
    const first = await page(`${r.url}packet?publish=${port}`);
    bindNet(first.stack).createServer((s) => s.write("hold\n")).listen(80);
    const open = net.connect({ host: "127.0.0.1", port });
    const openEnded = new Promise<string>((resolve) => {
      open.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      open.on("close", () => resolve("closed"));
    });
    await new Promise((resolve) => open.once("data", resolve));
    first.link.close();
    expect(await openEnded).toBe("ECONNRESET");
    await until(() => log.some((e) => e.event === "close" && e.mode === "packet"));
    expect(await outcome(port)).toBe("ECONNREFUSED");
    expect(log.find((e) => e.event === "close" && e.mode === "inbound")).toMatchObject({ reason: "client gone: client closed" });
    const second = await page(`${r.url}packet?publish=${port}`);
    bindNet(second.stack).createServer((s) => s.end("second\n")).listen(80);
    const text = await new Promise<string>((resolve) => {
      let t = "";
      net.connect({ host: "127.0.0.1", port }).on("data", (c: Buffer) => (t += c)).on("end", () => resolve(t));
    });
    expect(text).toBe("second\n");
  });

  it("a page with no server on the port refuses: the host's connection is reset, logged with ECONNREFUSED", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port);
    await page(`${r.url}packet?publish=${port}`);
    expect(await outcome(port)).toBe("ECONNRESET");
    expect(log.find((e) => e.mode === "inbound")).toMatchObject({ event: "refused", host: "10.0.0.2", port: 80, reason: "ECONNREFUSED" });
    expect(r.stats.inbound).toBe(0);
  });

  it("a port another program holds: an error when the relay starts (EADDRINUSE), a 503 when it is taken before the claim", { timeout: 60_000 }, async () => {
    const squatter = net.createServer();
    await new Promise<void>((res) => squatter.listen(0, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => squatter.close(res)));
    const taken = (squatter.address() as net.AddressInfo).port;
    await expect(publishingRelay(taken)).rejects.toMatchObject({ code: "EADDRINUSE", message: expect.stringMatching(`publish 127.0.0.1:${taken}: the address is in use`) });
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port);
    const later = net.createServer();
    await new Promise<void>((res) => later.listen(port, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => later.close(res)));
    expect(await handshake(`${r.url}packet?publish=${port}`)).toBe(503);
    expect(log.at(-1)).toMatchObject({ event: "refused", reason: expect.stringMatching(/address is in use/) });
    // The claim was given back: once the port is free a client gets it.
    await new Promise((res) => later.close(res));
    expect(await handshake(`${r.url}packet?publish=${port}`)).toBe("open");
  });

  it("inbound connections count against the client's --max-connections, apart from its WebSockets; one over is reset and logged", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port, { limits: { maxConnections: 2 } });
    const { stack } = await page(`${r.url}packet?publish=${port}`);
    bindNet(stack).createServer((s) => s.write("in\n")).listen(80);
    const held: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = net.connect({ host: "127.0.0.1", port });
      held.push(s);
      await new Promise((resolve) => s.once("data", resolve));
    }
    cleanups.push(() => held.forEach((s) => s.destroy()));
    expect(await outcome(port)).toBe("ECONNRESET");
    expect(log.at(-1)).toMatchObject({ event: "refused", mode: "inbound", reason: "client has 2 inbound connections (limit 2)" });
    // The client's own second WebSocket is still within its limit.
    expect(await handshake(`${r.url}packet`)).toBe("open");
  });

  it("a page that never answers (not at the published address): the host's connection is reset after the connect timeout, logged ETIMEDOUT", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port, { connectTimeoutMs: 500 });
    const link = createWebSocketLink(`${r.url}packet?publish=${port}`);
    // The page took 10.0.0.3: SYNs for 10.0.0.2 reach its stack and are not its own.
    const stack = await createStack({ addresses: ["10.0.0.3/24"] });
    cleanups.push(() => (stack.close(), link.close()));
    stack.attach(link);
    await link.opened;
    expect(await outcome(port)).toBe("ECONNRESET");
    expect(log.find((e) => e.mode === "inbound")).toMatchObject({ event: "refused", host: "10.0.0.2", reason: "ETIMEDOUT" });
  });

  it("inbound bytes are the client's: past its --max-bytes the client is closed (4429) and its inbound connection reset", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const { relay: r, log } = await publishingRelay(port, { limits: { maxBytes: 256 * 1024 } });
    const { stack, link } = await page(`${r.url}packet?publish=${port}`);
    const closed = new Promise<number>((res) => link.onClose((i) => res(i.code)));
    bindNet(stack).createServer((s) => s.resume()).listen(80);
    const ended = new Promise<string>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => s.write(Buffer.alloc(4 * MIB)));
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      s.on("close", () => resolve("closed"));
    });
    expect(await closed).toBe(4429);
    expect(await ended).toBe("ECONNRESET");
    expect(log.find((e) => e.event === "close" && e.mode === "inbound")).toMatchObject({ reason: "client gone: byte limit reached (262144)" });
    expect(await outcome(port)).toBe("ECONNREFUSED");
  });

  it("rejects malformed --publish rules", () => {
    for (const bad of ["8080", "=10.0.0.2:80", "0=10.0.0.2:80", "8080=page.example:80", "8080=10.0.0.2:0", "70000=10.0.0.2:80"]) {
      expect(() => parsePublish(bad, "--publish"), bad).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    }
    expect(parsePublish("0.0.0.0:8080=[fd00::2]:443", "--publish")).toEqual({ host: "0.0.0.0", port: 8080, to: { address: "fd00::2", port: 443 } });
  });
});

describe("tcpwasm relay --publish (the built command)", () => {
  const cli = new URL("../../dist/cli.js", import.meta.url).pathname;

  it("curl on the host reaches an HTTP server in a client's stack through the published port; the usage errors say why", { timeout: 60_000 }, async () => {
    const noStack = spawnSync(process.execPath, [cli, "relay", "--publish", "8080=10.0.0.2:80"], { encoding: "utf8" });
    expect({ status: noStack.status, stderr: noStack.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(/--publish needs --stack/) });
    const udp = spawnSync(process.execPath, [cli, "relay", "--udp-peer", "127.0.0.1:7000", "--publish", "8080=10.0.0.2:80"], { encoding: "utf8" });
    expect({ status: udp.status, stderr: udp.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(/kernel routes/) });
    const offPrefix = spawnSync(process.execPath, [cli, "relay", "--stack", "10.0.0.1/24", "--publish", "8080=10.9.0.2:80"], { encoding: "utf8" });
    expect({ status: offPrefix.status, stderr: offPrefix.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(/on no --stack prefix/) });
    const own = spawnSync(process.execPath, [cli, "relay", "--stack", "10.0.0.1/24", "--publish", "8080=10.0.0.1:80"], { encoding: "utf8" });
    expect({ status: own.status, stderr: own.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(/relay side's own/) });
    const twice = spawnSync(process.execPath, [cli, "relay", "--stack", "10.0.0.1/24", "--publish", "8080=10.0.0.2:80", "--publish", "[::1]:8080=10.0.0.2:81"], { encoding: "utf8" });
    expect({ status: twice.status, stderr: twice.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(/port 8080 is published twice/) });

    const port = await freePort();
    const relay = await startRelay({ path: cli }, ["--listen", "127.0.0.1:0", "--token", "inbound-token-1", "--stack", "10.0.0.1/24", "--publish", `${port}=10.0.0.2:80`]);
    cleanups.push(() => relay.stop());
    const url = `ws://127.0.0.1:${relay.port}/`;
    const lines = relay.lines;
    const { stack } = await page(`${url}packet?token=inbound-token-1&publish=${port}`);
    const body = payload(0x77, 4 * MIB);
    bindNet(stack).createServer((s) => {
      s.once("data", () => s.end(Buffer.concat([Buffer.from(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body])));
    }).listen(80);
    const curl = await new Promise<{ code: number | null; out: Buffer }>((resolve) => {
      const c = spawn("curl", ["-sS", "--max-time", "50", `http://127.0.0.1:${port}/`], { stdio: ["ignore", "pipe", "inherit"] });
      const parts: Buffer[] = [];
      c.stdout.on("data", (d: Buffer) => parts.push(d));
      c.on("exit", (code) => resolve({ code, out: Buffer.concat(parts) }));
    });
    expect({ code: curl.code, bytes: curl.out.length, sha: sha(curl.out) }).toEqual({ code: 0, bytes: body.length, sha: sha(body) });
    await until(() => lines.some((l) => l.includes('"mode":"inbound"') && l.includes('"close"')));
    const entries = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as RelayLogEntry);
    expect(entries.find((e) => e.mode === "inbound" && e.event === "open")).toMatchObject({ client: "127.0.0.1", publish: `127.0.0.1:${port}`, host: "10.0.0.2", port: 80 });
    expect(entries.find((e) => e.mode === "inbound" && e.event === "close")).toMatchObject({ up: expect.any(Number), down: expect.any(Number) });
  });
});
