// Both faces over loopback: node:http and the Web face talk to a server in the same stack through
// 127.0.0.1 and ::1 with no link attached, as a program and its own server do on one host.
import http from "node:http";
import { describe, expect, it } from "vitest";
import { createStack } from "../../src/index.js";
import { bindNet } from "../../src/faces/node-net.js";
import { data, sha } from "../fixtures/stack-util.js";

describe("loopback through the faces", () => {
  it("node:http over bindNet: a server and its client in one stack, no link, IPv4 and IPv6", async () => {
    // With an IPv6 address the wildcard listener is dual-stack (both versions), so ::1 reaches it too.
    const stack = await createStack({ addresses: ["10.0.0.1/24", "fd00::1/64"] });
    const net = bindNet(stack);
    const body = data(300_000, 4);
    const server = http.createServer((req, res) => res.end(body));
    // http.Server over the face's server: connections come from bindNet's createServer.
    const faceServer = net.createServer((socket) => server.emit("connection", socket));
    await new Promise<void>((resolve) => faceServer.listen(8080, resolve));
    for (const host of ["127.0.0.1", "::1"]) {
      const got = await new Promise<Buffer>((resolve, reject) => {
        const req = http.get({ host, port: 8080, path: "/", createConnection: () => net.connect({ host, port: 8080 }) as never }, (res) => {
          const parts: Buffer[] = [];
          res.on("data", (c: Buffer) => parts.push(c));
          res.on("end", () => resolve(Buffer.concat(parts)));
          res.on("error", reject);
        });
        req.on("error", reject);
      });
      expect(sha([got])).toBe(sha([body]));
    }
    expect(stack.counters().noRoute).toBe(0);
    await new Promise<void>((resolve) => faceServer.close(() => resolve()));
    stack.close();
  });

  it("the Web face: stack.connect to 127.0.0.1 reaches stack.listen on the same stack", async () => {
    const stack = await createStack({ addresses: ["10.0.0.1/24"] });
    const listener = stack.listen({ port: 7 });
    const client = stack.connect({ hostname: "127.0.0.1", port: 7 });
    const server = (await listener.accept())!;
    const { readable } = await server.opened;
    const w = (await client.opened).writable.getWriter();
    const bytes = data(64 * 1024, 2);
    await w.write(bytes);
    await w.close();
    const parts: Uint8Array[] = [];
    for await (const chunk of readable) parts.push(chunk);
    expect(sha(parts)).toBe(sha([bytes]));
    expect((await client.opened).localAddress).toBe("127.0.0.1");
    await server.close();
    await client.closed;
    await listener.close();
    stack.close();
  });
});
