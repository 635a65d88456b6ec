// A full connection table. Connections closed gracefully sit in TIME-WAIT for 2 MSL;
// they must not keep a busy stack from opening or accepting new connections: TIME-WAIT lives outside
// the connection budget (and the oldest is recycled when even that is full), so after a graceful
// close a full table takes new connections at once, as after abort(). The clock is virtual: 10 ms
// pass between the close and the new connections (timestamps tick in ms; a real client never
// reconnects in the same instant), far from the 2 MSL (60 s) TIME-WAIT lasts, and no timer fires.
import { afterEach, describe, expect, it } from "vitest";
import type { Stack, StackConnection } from "../../../src/tcp/stack.js";
import { TcpwasmError } from "../../../src/core/errors.js";
import { CLIENT, Hub, PORT, SERVER, settle } from "../../fixtures/hostile.js";

let hub: Hub | undefined;
afterEach(() => {
  hub?.close();
  hub = undefined;
});

const SLOTS = 64;

interface Opened {
  conns: StackConnection[];
  connected: () => number;
  closed: () => number;
  errors: unknown[];
}

/** Opens `n` connections from `client` (or until openConnection throws, when `n` is Infinity). */
function openMany(client: Stack, n: number): Opened & { refusal: unknown } {
  const conns: StackConnection[] = [];
  const errors: unknown[] = [];
  let connected = 0;
  let closed = 0;
  let refusal: unknown;
  for (let i = 0; i < n; i++) {
    let conn: StackConnection;
    try {
      conn = client.openConnection({ remote: SERVER, remotePort: PORT });
    } catch (error) {
      refusal = error;
      break;
    }
    conn.onConnect = () => connected++;
    conn.onData = () => undefined;
    conn.onEnd = () => conn.end();
    conn.onClose = (error) => {
      if (error) errors.push(error);
      closed++;
    };
    conns.push(conn);
  }
  return { conns, errors, refusal, connected: () => connected, closed: () => closed };
}

/** A listener whose connections end when the peer does (the test may end them first). */
function server(stack: Stack): StackConnection[] {
  const accepted: StackConnection[] = [];
  stack.openListener({ port: PORT }, (conn) => {
    accepted.push(conn);
    conn.onData = () => undefined;
    conn.onEnd = () => conn.end();
  });
  return accepted;
}

describe("a full connection table after a graceful close", () => {
  it("ENOBUFS says what is full", async () => {
    hub = await Hub.create();
    await hub.stack(SERVER);
    const client = await hub.stack(CLIENT, { config: { maxConnections: SLOTS } });
    const first = openMany(client, Infinity);
    expect(first.conns.length).toBe(SLOTS);
    expect((first.refusal as TcpwasmError).code).toBe("ENOBUFS");
    expect((first.refusal as TcpwasmError).message).toMatch(new RegExp(`connection table full \\(${SLOTS} slots\\)`));
  });

  it("the client side: connect until ENOBUFS, close them all, and new connections open at once", async () => {
    hub = await Hub.create();
    const srv = await hub.stack(SERVER);
    const client = await hub.stack(CLIENT, { config: { maxConnections: SLOTS } });
    server(srv);
    const first = openMany(client, Infinity);
    expect(first.refusal).toBeInstanceOf(TcpwasmError);
    expect((first.refusal as TcpwasmError).code).toBe("ENOBUFS");
    expect(first.conns.length).toBe(SLOTS);
    await settle();
    expect(first.connected()).toBe(SLOTS);
    // The client closes first: every one of its connections goes through TIME-WAIT.
    for (const c of first.conns) c.end();
    await settle();
    expect(first.closed()).toBe(SLOTS);
    expect(first.errors).toEqual([]);
    await hub.advanceTo(hub.clock.now + 10);
    const again = openMany(client, SLOTS);
    expect(again.refusal).toBeUndefined();
    await settle();
    expect(again.connected()).toBe(SLOTS);
    expect(client.counters().retransmits).toBe(0);
  });

  it("the server side: a server that closed first accepts a full table of new connections at once", async () => {
    hub = await Hub.create();
    const srv = await hub.stack(SERVER, { config: { maxConnections: SLOTS } });
    const client = await hub.stack(CLIENT);
    const accepted = server(srv);
    // The listener takes a slot: the rest is the table's worth of connections.
    const first = openMany(client, SLOTS - 1);
    await settle();
    expect(accepted.length).toBe(SLOTS - 1);
    expect(first.connected()).toBe(SLOTS - 1);
    // HTTP/1.0 style: the server ends first and holds TIME-WAIT for every connection.
    for (const c of accepted) c.end();
    await settle();
    expect(first.closed()).toBe(SLOTS - 1);
    expect(first.errors).toEqual([]);
    await hub.advanceTo(hub.clock.now + 10);
    const again = openMany(client, SLOTS - 1);
    await settle();
    expect(accepted.length).toBe(2 * (SLOTS - 1));
    expect(again.connected()).toBe(SLOTS - 1);
    expect(srv.counters().synDroppedNoSlot).toBe(0);
    expect(client.counters().retransmits).toBe(0);
  });

  it("abort() frees the slots at once too (the behaviour a graceful close must match)", async () => {
    hub = await Hub.create();
    const srv = await hub.stack(SERVER);
    const client = await hub.stack(CLIENT, { config: { maxConnections: SLOTS } });
    server(srv);
    const first = openMany(client, SLOTS);
    await settle();
    expect(first.connected()).toBe(SLOTS);
    for (const c of first.conns) c.abort();
    await settle();
    const again = openMany(client, SLOTS);
    expect(again.refusal).toBeUndefined();
    await settle();
    expect(again.connected()).toBe(SLOTS);
  });
});
