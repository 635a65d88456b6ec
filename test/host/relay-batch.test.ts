// `tcpwasm relay` and batched framing (the WebSocket subprotocol of websocket-link.ts): packet mode
// selects it when a page offers it, and TCP through the relay's stack works over it; stream mode never
// selects it (its messages are bytes of one stream) and keeps selecting the first other subprotocol
// offered, as websockify clients ("binary") expect. No assertion depends on how long anything takes.
import { createHash } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { bindNet } from "../../src/faces/node-net.js";
import { BATCH_PROTOCOL } from "../../src/net/websocket-link.js";
import { createWebSocketLink } from "../../src/net/websocket-node.js";
import { createStack } from "../../src/tcp/stack.js";
import { createRelay } from "../../src/tools/relay.js";
import { stackAttach } from "../../src/tools/relay-packet.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A node:net server on 127.0.0.1 answering each connection with the SHA-256 of what it read, then its end. */
async function hashServer(): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const h = createHash("sha256");
    s.on("error", () => {});
    s.on("data", (d) => h.update(d));
    s.on("end", () => s.end(h.digest("hex")));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

/** The subprotocol the relay selects for `offered` at `url`. */
function selected(url: string, offered: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WsWebSocket(url, offered);
    ws.on("open", () => (resolve(ws.protocol), ws.close()));
    ws.on("error", reject);
  });
}

describe("relay batched framing", () => {
  it("selects batched framing in packet mode and carries 4 MiB to a forwarded port over it", async () => {
    const port = await hashServer();
    const r = await createRelay({
      allow: [`127.0.0.1:${port}`],
      log: () => {},
      packet: { attach: stackAttach(["10.0.0.1/24"], [{ port: 7, host: "127.0.0.1", destPort: port }]) },
    });
    cleanups.push(() => r.close());
    const link = createWebSocketLink(`${r.url}packet`, { batch: true });
    const page = await createStack({ addresses: ["10.0.0.2/24"] });
    cleanups.push(() => (page.close(), link.close()));
    page.attach(link);
    await link.opened;
    expect(link.batching).toBe(true);
    const data = new Uint8Array(4 << 20).map((_, i) => (i * 2654435761) >>> 24);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = "";
      const s = bindNet(page).connect({ host: "10.0.0.1", port: 7, allowHalfOpen: true }, () => s.end(data));
      s.on("data", (d: Buffer) => (text += d.toString()));
      s.on("end", () => resolve(text));
      s.on("error", reject);
    });
    expect(answer).toBe(createHash("sha256").update(data).digest("hex"));
    expect(link.stats.malformed).toBe(0);
    expect(link.stats.received).toBeGreaterThan(0);
  });

  it("never selects it in stream mode, and still selects the first other subprotocol offered", async () => {
    const port = await hashServer();
    const r = await createRelay({ allow: [`127.0.0.1:${port}`], log: () => {}, packet: { attach: stackAttach(["10.0.0.1/24"], []) } });
    cleanups.push(() => r.close());
    expect(await selected(`${r.url}?host=127.0.0.1&port=${port}`, [BATCH_PROTOCOL, "binary"])).toBe("binary");
    expect(await selected(`${r.url}?host=127.0.0.1&port=${port}`, ["binary", "base64"])).toBe("binary");
    expect(await selected(`${r.url}packet`, ["chat", BATCH_PROTOCOL])).toBe(BATCH_PROTOCOL);
    expect(await selected(`${r.url}packet`, ["chat"])).toBe("chat");
  });
});
