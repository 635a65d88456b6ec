// `tcpwasm relay`'s security model end to end: the real command in a child process on 127.0.0.1 and
// real WebSocket clients in stream mode. Each abuse is refused the way the relay promises (the HTTP
// status of the upgrade, or, for a destination named after it, the WebSocket close code and reason)
// and logged as one JSON line, while a well-behaved client downloads 16 MiB through the same relay at
// the same time, SHA-256 intact, and servers outside the allow-list never see a connection.
//
// Clients are told apart by address, as the relay's per-client limits are: 127.0.0.1 is the
// well-behaved one, 127.0.0.2 and 127.0.0.3 the abusers, 127.0.0.4 a newcomer at the end (Linux
// routes all of 127/8 to the loopback).

import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleCli, type CliBundle } from "../fixtures/interop/cli.js";
import { startRelay, type RelayProcess } from "../fixtures/e2e/relay.js";
import { MIB, payload, sha256, startNodeHttpServer, type LoopbackServer } from "../fixtures/e2e/servers.js";
import { httpGetRequest, splitHttp, StreamClient, type StreamOutcome } from "../fixtures/e2e/ws-client.js";

const linux = process.platform === "linux";
if (!linux) console.warn("relay security tests SKIPPED: they connect from 127.0.0.2 and 127.0.0.3, which only Linux routes to the loopback");

const SIZE = 16 * MIB;
const TOKEN = "e2e-relay-sec-93c1a7";
const ORIGIN = "http://app.test";
const MAX_CONNECTIONS = 3;
const MAX_BYTES = 20 * MIB;

/** A TCP server that only counts who reached it: nothing outside the allow-list may. */
async function countingServer(): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { server, port: (server.address() as { port: number }).port, accepted: () => accepted };
}

interface LogEntry {
  event: string;
  mode?: string;
  client?: string;
  origin?: string;
  host?: string;
  port?: number;
  reason?: string;
  up?: number;
  down?: number;
}

function logOf(relay: RelayProcess): LogEntry[] {
  return relay.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogEntry);
}

describe.skipIf(!linux)("tcpwasm relay refuses, logs, and keeps serving the others", () => {
  let cli: CliBundle;
  let relay: RelayProcess;
  let good: LoopbackServer;
  let outside: Awaited<ReturnType<typeof countingServer>>;
  let byNameOnly: Awaited<ReturnType<typeof countingServer>>;
  const body = payload(0x5ec, SIZE);

  beforeAll(async () => {
    cli = await bundleCli();
    good = await startNodeHttpServer("127.0.0.1", body);
    outside = await countingServer();
    byNameOnly = await countingServer();
    relay = await startRelay(cli, [
      "--listen", "127.0.0.1:0",
      "--token", TOKEN,
      "--origin", ORIGIN,
      // The good server by address; the other port only by a pattern that admits public addresses.
      "--allow", `127.0.0.1:${good.port}`,
      "--allow", `*:${byNameOnly.port}`,
      "--max-connections", String(MAX_CONNECTIONS),
      "--max-bytes", `${MAX_BYTES / MIB}M`,
    ]);
  });
  afterAll(async () => {
    await relay?.stop();
    await good?.close();
    outside?.server.close();
    byNameOnly?.server.close();
    cli?.dispose();
  });

  const log = (): LogEntry[] => logOf(relay);

  it("wrong token, wrong Origin, outside the allow-list, private ranges and limits: each refused and logged, a 16 MiB download alongside intact", { timeout: 60_000 }, async () => {
    const ok = { token: TOKEN, origin: ORIGIN };
    // The well-behaved client, running through everything below.
    const healthy = new StreamClient(relay.port, "127.0.0.1", good.port, { ...ok, localAddress: "127.0.0.1", send: httpGetRequest("/body.bin") });

    const attempt = (host: string, port: number, options: ConstructorParameters<typeof StreamClient>[3]) => new StreamClient(relay.port, host, port, options).done;
    // One after the other: together they would pass 127.0.0.2's connection limit, tested below.
    const noToken = await attempt("127.0.0.1", good.port, { origin: ORIGIN, localAddress: "127.0.0.2" });
    const wrongToken = await attempt("127.0.0.1", good.port, { token: "not-the-token", origin: ORIGIN, localAddress: "127.0.0.2" });
    const wrongOrigin = await attempt("127.0.0.1", good.port, { token: TOKEN, origin: "http://evil.test", localAddress: "127.0.0.2" });
    const outsideList = await attempt("127.0.0.1", outside.port, { ...ok, localAddress: "127.0.0.2" });
    const loopbackByPattern = await attempt("127.0.0.1", byNameOnly.port, { ...ok, localAddress: "127.0.0.2" });
    const loopbackByName = await attempt("localhost", byNameOnly.port, { ...ok, localAddress: "127.0.0.2" });
    const privateV4 = await attempt("10.9.8.7", byNameOnly.port, { ...ok, localAddress: "127.0.0.2" });
    const loopbackV6 = await attempt("::1", byNameOnly.port, { ...ok, localAddress: "127.0.0.2" });
    // websockify's other form names the destination after the upgrade: refused with a close code.
    const inFirstMessage = await attempt("127.0.0.1", outside.port, { ...ok, localAddress: "127.0.0.2", firstMessage: true });
    const refusedUpgrade = (o: StreamOutcome, status: number) => expect({ status: o.httpStatus, bytes: o.data.length }).toEqual({ status, bytes: 0 });
    refusedUpgrade(noToken, 401);
    refusedUpgrade(wrongToken, 401);
    refusedUpgrade(wrongOrigin, 403);
    // A destination in the URL is checked before the upgrade: 403, and no session at all.
    for (const o of [outsideList, loopbackByPattern, loopbackByName, privateV4, loopbackV6]) refusedUpgrade(o, 403);
    expect({ status: inFirstMessage.httpStatus, code: inFirstMessage.closeCode, bytes: inFirstMessage.data.length }).toEqual({ status: undefined, code: 4403, bytes: 0 });

    // Limits, per client: 127.0.0.2 holds MAX_CONNECTIONS sessions open, the next is refused.
    const held = Array.from({ length: MAX_CONNECTIONS }, () => new StreamClient(relay.port, "127.0.0.1", good.port, { ...ok, localAddress: "127.0.0.2" }));
    expect(await Promise.all(held.map((c) => c.opened))).toEqual(Array(MAX_CONNECTIONS).fill(true));
    const oneTooMany = await attempt("127.0.0.1", good.port, { ...ok, localAddress: "127.0.0.2" });
    refusedUpgrade(oneTooMany, 429);
    for (const c of held) c.close();
    await Promise.all(held.map((c) => c.done));

    // 127.0.0.3 may move MAX_BYTES in all: its first 16 MiB pass, the second download is cut there.
    const first = await attempt("127.0.0.1", good.port, { ...ok, localAddress: "127.0.0.3", send: httpGetRequest("/body.bin") });
    expect(sha256(splitHttp(first.data).body)).toBe(good.sha);
    const second = await attempt("127.0.0.1", good.port, { ...ok, localAddress: "127.0.0.3", send: httpGetRequest("/body.bin") });
    expect(second.closeCode).toBe(4429);
    expect(first.data.length + second.data.length).toBeLessThanOrEqual(MAX_BYTES);
    expect(second.data.length).toBeLessThan(SIZE);

    // The well-behaved client got everything, and the relay still serves a new one afterwards.
    const got = await healthy.done;
    expect(got.closeCode).toBe(1000);
    const response = splitHttp(got.data);
    expect({ status: response.status, bytes: response.body.length, sha: sha256(response.body) }).toEqual({ status: 200, bytes: SIZE, sha: good.sha });
    // (From another address: 127.0.0.1 has spent most of its bytes.)
    const after = await attempt("127.0.0.1", good.port, { ...ok, localAddress: "127.0.0.4", send: httpGetRequest("/body.bin") });
    expect(sha256(splitHttp(after.data).body)).toBe(good.sha);

    // Nothing outside the allow-list was reached, not even for a moment.
    expect(outside.accepted()).toBe(0);
    expect(byNameOnly.accepted()).toBe(0);

    // Each refusal is one line of the log, with who and why.
    const refused = log().filter((e) => e.event === "refused");
    const reasons = refused.map((e) => `${e.client} ${e.host ?? "-"}:${e.port ?? "-"} ${e.reason}`);
    const has = (pattern: RegExp) => expect(reasons.some((r) => pattern.test(r)), `${pattern} in\n  ${reasons.join("\n  ")}`).toBe(true);
    has(/^127\.0\.0\.2 -:- no token$/);
    has(/^127\.0\.0\.2 -:- wrong token$/);
    has(/^127\.0\.0\.2 -:- origin http:\/\/evil\.test not allowed$/);
    has(new RegExp(`^127\\.0\\.0\\.2 127\\.0\\.0\\.1:${outside.port} `));
    has(new RegExp(`^127\\.0\\.0\\.2 127\\.0\\.0\\.1:${byNameOnly.port} `));
    has(new RegExp(`^127\\.0\\.0\\.2 localhost:${byNameOnly.port} `));
    has(new RegExp(`^127\\.0\\.0\\.2 10\\.9\\.8\\.7:${byNameOnly.port} `));
    has(new RegExp(`^127\\.0\\.0\\.2 ::1:${byNameOnly.port} `));
    has(/^127\.0\.0\.2 -:- client has 3 connections \(limit 3\)$/);
    expect(refused.filter((e) => e.port === outside.port)).toHaveLength(2);
    expect(refused).toHaveLength(10);
    const cut = log().find((e) => e.event === "close" && e.client === "127.0.0.3" && /byte limit/.test(e.reason ?? ""));
    expect(cut, relay.lines.join("\n")).toBeDefined();
    expect(relay.process.exitCode).toBeNull();
  });
});

describe.skipIf(!linux)("tcpwasm relay closes idle sessions", () => {
  let cli: CliBundle;
  let relay: RelayProcess;
  let silent: Server;
  let silentPort: number;
  const held: Socket[] = [];

  beforeAll(async () => {
    cli = await bundleCli();
    // Accepts and says nothing: a session to it stays idle unless the client talks.
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    silentPort = (silent.address() as { port: number }).port;
    relay = await startRelay(cli, ["--listen", "127.0.0.1:0", "--token", TOKEN, "--allow", `127.0.0.1:${silentPort}`, "--idle-timeout", "1"]);
  });
  afterAll(async () => {
    await relay?.stop();
    for (const socket of held) socket.destroy();
    silent?.close();
    cli?.dispose();
  });

  it("a session silent both ways past --idle-timeout is closed with 4408 and logged", async () => {
    const idle = await new StreamClient(relay.port, "127.0.0.1", silentPort, { token: TOKEN }).done;
    expect({ code: idle.closeCode, reason: idle.closeReason, bytes: idle.data.length }).toEqual({ code: 4408, reason: "idle for 1 s", bytes: 0 });
    const closed = logOf(relay).find((e) => e.event === "close" && e.port === silentPort);
    expect(closed).toMatchObject({ client: "127.0.0.1", host: "127.0.0.1", reason: "idle for 1 s", up: 0, down: 0 });
  });
});
