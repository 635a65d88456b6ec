// Node's own http, unmodified, over tcpwasm's Node face: the client through
// `http.request({ createConnection })` (or an Agent whose createConnection dials the stack), the server
// an `http.Server` fed with `server.emit('connection', socket)` from a tcpwasm listener. Bodies are
// checked with SHA-256; nothing depends on how long anything takes.
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { tcpwasmEnv, listen, closeServer } from "../fixtures/node-face-env.js";
import type { Server as TcpwasmServer } from "../../src/faces/node-net.js";

type TestEnv = Awaited<ReturnType<typeof tcpwasmEnv>>;

interface Fixture {
  env: TestEnv;
  port: number;
  tcpServer: TcpwasmServer;
  /** TCP connections the server accepted. */
  accepted: () => number;
  dial: () => Duplex;
}

const fixtures: Fixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) {
    await closeServer(f.tcpServer as never);
    await f.env.dispose();
  }
});

/** Two stacks; an http.Server on the server stack's port; `dial()` opens a tcpwasm connection to it. */
async function serve(handler: http.RequestListener): Promise<Fixture> {
  const env = await tcpwasmEnv();
  const httpServer = http.createServer(handler);
  let accepted = 0;
  const tcpServer = env.serverNet.createServer((socket) => {
    accepted++;
    httpServer.emit("connection", socket);
  });
  const port = await listen(tcpServer as never, env.host);
  const f: Fixture = {
    env,
    port,
    tcpServer,
    accepted: () => accepted,
    dial: () => env.clientNet.connect({ host: env.host, port }),
  };
  fixtures.push(f);
  return f;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  reusedSocket: boolean;
}

function request(options: http.RequestOptions, body?: Buffer | Buffer[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), reusedSocket: req.reusedSocket }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (Array.isArray(body)) for (const b of body) req.write(b);
    else if (body) req.write(body);
    req.end();
  });
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((Math.imul(i + seed, 2654435761) ^ seed) >>> 0, i);
  return b;
}

describe("Node's http over tcpwasm", () => {
  it("GET: status, headers and body", async () => {
    const f = await serve((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(`you asked for ${req.method} ${req.url}`);
    });
    const reply = await request({ createConnection: f.dial, path: "/hello?x=1", headers: { host: "tcpwasm.test" } });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/plain");
    expect(reply.body.toString()).toBe("you asked for GET /hello?x=1");
    expect(f.accepted()).toBe(1);
  });

  it("POST of 8 MiB: the server hashes what it read, the client checks the SHA-256", async () => {
    const body = pattern(8 << 20, 7);
    const f = await serve((req, res) => {
      const h = createHash("sha256");
      let n = 0;
      req.on("data", (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on("end", () => res.end(JSON.stringify({ bytes: n, sha256: h.digest("hex"), length: req.headers["content-length"] })));
    });
    const reply = await request(
      { createConnection: f.dial, method: "POST", path: "/upload", headers: { "content-length": body.length } },
      body,
    );
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({ bytes: body.length, sha256: sha256(body), length: String(body.length) });
  });

  it("a response of 8 MiB arrives whole (SHA-256)", async () => {
    const body = pattern(8 << 20, 11);
    const f = await serve((_req, res) => {
      res.setHeader("content-length", body.length);
      res.end(body);
    });
    const reply = await request({ createConnection: f.dial, path: "/big" });
    expect(reply.body.length).toBe(body.length);
    expect(sha256(reply.body)).toBe(sha256(body));
  });

  it("keep-alive: two requests through an Agent reuse one TCP connection", async () => {
    const f = await serve((req, res) => res.end(`reply to ${req.url}`));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // The Agent asks createConnection for each new socket: it dials the stack.
    (agent as unknown as { createConnection: () => Duplex }).createConnection = f.dial;
    try {
      const first = await request({ agent, path: "/one" });
      const second = await request({ agent, path: "/two" });
      expect([first.body.toString(), second.body.toString()]).toEqual(["reply to /one", "reply to /two"]);
      expect(first.headers.connection).toBe("keep-alive");
      expect([first.reusedSocket, second.reusedSocket]).toEqual([false, true]);
      expect(f.accepted()).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("chunked transfer encoding both ways: a streamed upload and a streamed response", async () => {
    const pieces = [pattern(1000, 1), pattern(70_000, 2), pattern(1, 3), pattern(300_000, 4)];
    const all = Buffer.concat(pieces);
    const f = await serve((req, res) => {
      const h = createHash("sha256");
      req.on("data", (d: Buffer) => h.update(d));
      req.on("end", () => {
        res.setHeader("x-upload-te", String(req.headers["transfer-encoding"]));
        res.setHeader("x-upload-sha256", h.digest("hex"));
        // No content-length: http frames the response in chunks.
        for (const p of pieces) res.write(p);
        res.end();
      });
    });
    const reply = await request({ createConnection: f.dial, method: "PUT", path: "/stream" }, pieces);
    expect(reply.headers["x-upload-te"]).toBe("chunked");
    expect(reply.headers["x-upload-sha256"]).toBe(sha256(all));
    expect(reply.headers["transfer-encoding"]).toBe("chunked");
    expect(sha256(reply.body)).toBe(sha256(all));
  });

  it("a server that resets mid-request fails the client request with ECONNRESET", async () => {
    const f = await serve((req) => {
      (req.socket as unknown as { resetAndDestroy(): void }).resetAndDestroy();
    });
    const error = await request({ createConnection: f.dial, path: "/reset" }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(error?.code).toBe("ECONNRESET");
  });
});
