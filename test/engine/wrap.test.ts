// Sequence numbers wrap (RFC 9293 3.4, modulo 2^32): more than 4 GiB one way through two engines on
// the release build, every byte checked against a pattern whose period (a prime) catches any byte
// lost, duplicated or shifted. SND.UNA passes ISS again on the way.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { moveAll } from "../fixtures/engine-host.js";

const PERIOD = 1048573;

describe("sequence number wrap-around", () => {
  it("moves 4.25 GiB intact, SND.UNA passing ISS again", async () => {
    const config = { sendBuffer: 1 << 20, recvBuffer: 1 << 20 };
    const a = await Engine.create({ flavor: "simd", secret: new Uint8Array(32).fill(5), config });
    const b = await Engine.create({ flavor: "simd", secret: new Uint8Array(32).fill(6), config });
    const pattern = new Uint8Array(2 * PERIOD);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i % PERIOD) * 131 + 7;
    let now = 0;
    b.listen({ port: 80 });
    const client = a.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 }, now);

    for (let i = 0; i < 4; i++) {
      moveAll(a, b, now);
      moveAll(b, a, now);
    }
    const server = (b.events().find((e) => e.type === "accepted") as { id: number }).id;
    const iss = a.status(client).iss;
    const total = 4.25 * 2 ** 30;
    let sent = 0;
    let received = 0;
    let mismatches = 0;
    let passedIss = false;
    while (received < total) {
      const space = a.raw.connSendSpace(client);
      if (space > 0 && sent < total) {
        const n = Math.min(space, total - sent, PERIOD);
        const at = sent % PERIOD;
        a.memory.u8.set(pattern.subarray(at, at + n), a.raw.connSendPtr(client) >>> 0);
        a.raw.connSendCommitMs(client, n, now);
        sent += n;
      }
      moveAll(a, b, now);
      for (;;) {
        const n = b.raw.connRecvAvail(server);
        if (n <= 0) break;
        const take = Math.min(n, PERIOD);
        const p = b.raw.connRecvPtr(server) >>> 0;
        const at = received % PERIOD;
        if (Buffer.compare(b.memory.u8.subarray(p, p + take), pattern.subarray(at, at + take)) !== 0) mismatches++;
        b.raw.connRecvConsumeMs(server, take, now);
        received += take;
      }
      moveAll(b, a, now);
      a.events();
      b.events();
      if (!passedIss && received > 2 ** 32 - 2 ** 20) passedIss = true;
      now += 0.05;
      a.timers(now);
      b.timers(now);
    }
    expect(received).toBe(total);
    expect(mismatches).toBe(0);
    expect(passedIss).toBe(true);
    const st = a.status(client);
    expect((st.sndUna - iss) >>> 0).toBe((total + 1) % 2 ** 32);
  });
});
