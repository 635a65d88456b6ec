// TIME-WAIT through the stack (src/tcp/stack.ts), on the StackPair's virtual clock: a server that closes first holds the
// 4-tuple in TIME-WAIT, and a client that reconnects from the same port at once must get through every
// time without a retransmission (the engine takes the SYN by RFC 6191; timestamp offsets are a keyed
// hash of the 4-tuple, so the client's TSvals never go back). And a full connection table closed
// gracefully takes new connections at once. No assertion depends on how long anything takes.
import { describe, expect, it } from "vitest";
import { createStack, type StackConnection } from "../../src/tcp/stack.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import { TcpwasmError } from "../../src/core/errors.js";
import { StackPair } from "../fixtures/stack-pair.js";

/** TIME-WAIT as long as the default (2 x 30 s): every reconnect meets it. */
const CONFIG = { rtoInitialMs: 1000, mslMs: 30000 };

async function pair(config: Record<string, number> = {}) {
  const p = await StackPair.create({ config: { ...CONFIG, ...config }, addresses: { a: ["10.0.0.1/24"], b: ["10.0.0.2/24"] } });
  return { p, client: p.a, server: p.b };
}

/** Opens, reads the server's answer to its end, closes; resolves with the text read. */
function exchange(conn: StackConnection): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    conn.onData = (chunk) => (text += new TextDecoder().decode(chunk));
    conn.onEnd = () => conn.end();
    conn.onClose = (error) => (error ? reject(error) : resolve(text));
  });
}

describe("stack: TIME-WAIT", () => {
  it("a server that closes first, a client reconnecting from the same port at once: 100 in a row, no stall", async () => {
    const { p, client, server } = await pair();
    server.openListener({ port: 80 }, (conn) => {
      conn.onData = () => {};
      conn.write(new TextEncoder().encode(`hello ${conn.remotePort}`));
      conn.end();
    });
    for (let i = 0; i < 100; i++) {
      // Timestamps tick in milliseconds (RFC 7323 5.4): the next incarnation's SYN leaves a
      // millisecond later, so its TSval is above the last one the TIME-WAIT holds (RFC 6191 2).
      if (i > 0) await p.advance(1);
      const conn = client.openConnection({ remote: "10.0.0.2", remotePort: 80, localPort: 40000 });
      expect(await p.wait(exchange(conn), `exchange ${i}`)).toBe("hello 40000");
    }
    const c = client.counters();
    const s = server.counters();
    // Every SYN was taken at once: no retransmission, no reset, no ACK for a SYN refused in TIME-WAIT.
    expect({ retransmits: c.retransmits, resetsSent: c.resetsSent, serverRetransmits: s.retransmits })
      .toEqual({ retransmits: 0, resetsSent: 0, serverRetransmits: 0 });
    expect(s.timeWaitReused).toBe(99);
    expect(server.engine.timeWaitCount()).toBe(1);
    client.close();
    server.close();
  });

  it("a full table closed gracefully takes new connections at once; the full table says so", async () => {
    const { p, client, server } = await pair({ maxConnections: 33 });
    const held: StackConnection[] = [];
    server.openListener({ port: 80 }, (conn) => {
      conn.onData = () => {};
      held.push(conn);
    });
    const opened = (conn: StackConnection) => new Promise<void>((r) => (conn.onConnect = r));
    const first: StackConnection[] = [];
    for (let i = 0; i < 32; i++) first.push(client.openConnection({ remote: "10.0.0.2", remotePort: 80 }));
    await p.wait(Promise.all(first.map(opened)), "32 connected");
    await p.runUntil(() => held.length === 32, "32 accepted");
    // The server's slots are taken (listener + 32): its host hears what is full.
    expect(() => server.openListener({ port: 81 }, () => {})).toThrow(TcpwasmError);
    expect(() => server.openListener({ port: 81 }, () => {})).toThrow(/connection table full \(33 slots\)/);
    // The server closes all of them first (it holds TIME-WAIT); the clients answer with their FIN.
    const closed = first.map((conn) => exchange(conn));
    for (const conn of held) conn.end();
    await p.wait(Promise.all(closed), "32 closed");
    expect(server.engine.timeWaitCount()).toBe(32);
    const again: StackConnection[] = [];
    for (let i = 0; i < 32; i++) again.push(client.openConnection({ remote: "10.0.0.2", remotePort: 80 }));
    await p.wait(Promise.all(again.map(opened)), "32 reconnected");
    expect(server.counters().synDroppedNoSlot).toBe(0);
    client.close();
    server.close();
  });
});
