// Node's http over tcpwasm's Node face under load: 50 concurrent clients, a few hundred
// requests each, with keep-alive on and off. Every request must be answered, byte for byte (SHA-256
// of response bodies of varied sizes, POSTed bodies echoed back), with no stall: the run stops with
// the stacks' counters as soon as a segment is dropped as PAWS-stale or a SYN finds no slot (the
// start of a stall of up to 2 MSL: a TIME-WAIT that refuses a reused port, or a connection table
// full of TIME-WAIT), or when no request has been answered for 20 s. No connection may be reset;
// the only RSTs allowed are the client's answers to segments for connections it has closed (RFC 9293
// 3.10.7.1). Nothing asserts how long anything took. The load is bench/lib/http-load.ts, which bench/http.bench.ts runs at 4,000
// requests per client against node:net on the kernel loopback.
import { afterEach, describe, expect, it } from "vitest";
import { runLoad, tcpwasmTarget, type HttpTarget } from "../../bench/lib/http-load.js";

const CLIENTS = 50;
const REQUESTS = 200;

let target: HttpTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe("node:http over tcpwasm, 50 concurrent clients", () => {
  for (const keepAlive of [true, false]) {
    it(`keep-alive ${keepAlive ? "on" : "off"}: ${CLIENTS} x ${REQUESTS} requests, every answer byte-exact, no stall`, async () => {
      const t = await tcpwasmTarget({ flavor: "simd" });
      target = t;
      const result = await runLoad(t, { clients: CLIENTS, requests: REQUESTS, keepAlive });
      expect(result.requests).toBe(CLIENTS * REQUESTS);
      // Keep-alive: one connection per client; without it one per request.
      expect(result.connections).toBe(keepAlive ? CLIENTS : CLIENTS * REQUESTS);
      const stats = t.stats!();
      expect(stats).toMatchObject({ serverPawsDropped: 0, serverSynDroppedNoSlot: 0, serverResetsSent: 0, serverResetsReceived: 0 });
      // No connection was reset (the server received no RST on a live one, resetsReceived), yet the
      // client may send RSTs: each is RFC 9293 3.10.7.1's answer to a segment for a connection it no
      // longer has. When the host is busy an ACK can take longer than the RTO; the client in LAST-ACK
      // then resends its FIN, takes the late ACK and is gone (CLOSED), and the server's TIME-WAIT
      // acknowledges the resent FIN again (RFC 9293 3.10.7.4 eighth check). That second ACK draws the
      // RST, which TIME-WAIT ignores (RFC 1337); test/engine/close.test.ts plays the exchange.
      expect(stats.clientResetsSent).toBe(stats.clientNoConnection);
    }, 300_000);
  }
});
