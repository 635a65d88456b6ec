// The gateway splice to Web Streams (the shape of a page's per-connection WebSocket dialer: readable,
// writable, opened): a guest's connection through serveForwarder to a stream pair, on the virtual
// clock. The far side here is a TransformStream, so what the guest sends comes back.
import { describe, expect, it } from "vitest";
import { StackPair } from "../fixtures/stack-pair.js";
import { collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";
import { GATEWAY, GUEST } from "../fixtures/gateway.js";
import { serveForwarder, type ForwardPolicy } from "../../src/gateway/forwarder.js";
import type { StackConnection } from "../../src/tcp/connection.js";

async function streamsNet(policy: ForwardPolicy): Promise<StackPair> {
  const p = await StackPair.create({
    trace: true,
    link: { framing: "ethernet" },
    addresses: { a: GUEST, b: GATEWAY },
    attach: { a: { gateway: ["10.0.2.2", "fd00::2"] }, b: { anyDestination: true } },
  });
  serveForwarder(p.b, { connect: policy });
  return p;
}

function closed(conn: StackConnection): Promise<string | undefined> {
  return new Promise((resolve) => {
    conn.onClose = (error) => resolve(error?.code);
  });
}

describe("gateway splice to Web Streams", () => {
  it("an echoing stream pair: 2 MiB back intact; the guest's FIN closes the writable, the readable's end is the guest's FIN", async () => {
    let opened!: () => void;
    const p = await streamsNet(() => {
      const echo = new TransformStream<Uint8Array, Uint8Array>();
      return { readable: echo.readable, writable: echo.writable, opened: new Promise<void>((r) => (opened = r)) };
    });
    const conn = p.a.openConnection({ remote: "203.0.113.80", remotePort: 443 });
    let up = false;
    conn.onConnect = () => (up = true);
    await p.advance(2000);
    // Not answered until the far side opened.
    expect(up).toBe(false);
    expect(p.sent("server").filter((s) => s.startsWith("SYN"))).toEqual([]);
    opened();
    await p.wait(connected(conn), "connect");
    const back = collect(conn);
    const sent = data(2 << 20, 1);
    const done = closed(conn);
    await p.wait(writeAll(conn, sent, true), "write");
    await p.wait(back.ended, "echo end");
    expect(sha(back.chunks)).toBe(sha([sent]));
    expect(await p.wait(done, "close")).toBeUndefined();
  });

  it("a stream pair whose opened rejects (ECONNREFUSED) refuses with a RST; one that fails later resets the guest", async () => {
    const refused = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    let fail!: (e: Error) => void;
    let n = 0;
    const p = await streamsNet(() => {
      if (n++ === 0) {
        const t = new TransformStream<Uint8Array, Uint8Array>();
        const opened = Promise.reject(refused);
        opened.catch(() => {});
        return { readable: t.readable, writable: t.writable, opened };
      }
      const readable = new ReadableStream<Uint8Array>({ start: (c) => void (fail = (e) => c.error(e)) });
      return { readable, writable: new WritableStream<Uint8Array>() };
    });
    const first = p.a.openConnection({ remote: "203.0.113.80", remotePort: 1 });
    expect(await p.wait(closed(first), "refused")).toBe("ECONNREFUSED");
    const second = p.a.openConnection({ remote: "203.0.113.80", remotePort: 2 });
    await p.wait(connected(second), "connect");
    const done = closed(second);
    fail(new Error("the WebSocket closed"));
    expect(await p.wait(done, "reset")).toBe("ECONNRESET");
  });
});
