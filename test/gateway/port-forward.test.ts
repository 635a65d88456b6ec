// Port forwarding into the stack's network (forwardPort, src/gateway/node-gateway.ts): a node:net
// client on the host reaches a server on a guest stack behind the gateway stack, through a host-side
// listener; a guest that refuses resets the host-side connection. Real clock (node:net).
import { describe, expect, it } from "vitest";
import * as net from "node:net";
import { createHash } from "node:crypto";
import { forwardPort } from "../../src/gateway/node-gateway.js";
import { gatewayNet } from "../fixtures/gateway.js";
import { data } from "../fixtures/stack-util.js";

const MiB = 1 << 20;

describe("forwardPort", () => {
  it("a node:net client on the host reaches a guest's server: 4 MiB echoed with SHA-256 intact, half-close from the host", async () => {
    const { net: p } = await gatewayNet();
    p.a.openListener({ port: 8080 }, (conn) => {
      conn.onData = (chunk) => {
        if (conn.write(chunk) < chunk.length) throw new Error("the echo's send ring filled up");
      };
      conn.onEnd = () => conn.end();
    });
    const fwd = await forwardPort(p.b, { port: 0, to: { address: "10.0.2.15", port: 8080 } });
    try {
      const sent = data(4 * MiB, 1);
      const h = createHash("sha256");
      let bytes = 0;
      const client = net.connect({ host: "127.0.0.1", port: fwd.port, allowHalfOpen: true });
      // Written in steps so that the echo's ring never holds more than one chunk's worth.
      const done = new Promise<void>((resolve, reject) => {
        client.on("data", (c: Buffer) => {
          h.update(c);
          bytes += c.length;
        });
        client.on("end", () => resolve());
        client.on("error", reject);
      });
      for (let off = 0; off < sent.length; off += 16384) {
        const chunk = sent.subarray(off, off + 16384);
        if (!client.write(chunk)) await new Promise((r) => client.once("drain", r));
        while (bytes < off - 65536) await new Promise((r) => setTimeout(r, 1));
      }
      client.end();
      await done;
      expect(bytes).toBe(sent.length);
      expect(h.digest("hex")).toBe(createHash("sha256").update(sent).digest("hex"));
      expect(fwd.connections).toBe(1);
    } finally {
      await fwd.close();
      p.close();
    }
  }, 60_000);

  it("a guest port nobody listens on resets the host-side connection", async () => {
    const { net: p } = await gatewayNet();
    const fwd = await forwardPort(p.b, { port: 0, to: { address: "10.0.2.15", port: 9 } });
    try {
      const client = net.connect({ host: "127.0.0.1", port: fwd.port });
      const code = await new Promise<string | undefined>((resolve) => {
        client.on("error", (e: NodeJS.ErrnoException) => resolve(e.code));
        client.on("close", () => resolve(undefined));
        client.resume();
      });
      expect(code).toBe("ECONNRESET");
    } finally {
      await fwd.close();
      p.close();
    }
  }, 30_000);
});
