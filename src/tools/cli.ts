#!/usr/bin/env node
// The `tcpwasm` command: a demo of two stacks in one process, and a server and a netcat-style client
// on a UDP link (one raw IP packet per datagram, the framing of socat's TUN relay; TCP.md), or with
// --tap one Ethernet frame per datagram, where the stack can be a guest's whole network (DHCP, DNS).
//
// Exit codes, for scripts: 0 success, 1 runtime or connection error (the error code is printed, e.g.
// "ECONNREFUSED"), 2 usage error.
import { bindWeb, type TcpSocket } from "../faces/web.js";
import { demo, DEMO_USAGE } from "./demo.js";
import { TcpwasmError, isArgumentError } from "../core/errors.js";
import { integer, parse, UsageError } from "./cli-usage.js";
import { describeNetwork, networkOptions, openNetwork, planNetwork, type NetworkValues } from "./cli-network.js";
import { loadEngine } from "../core/loader.js";
import { MAX_CONNECT_TIMEOUT_MS } from "../tcp/connect-watch.js";

const USAGE = `usage: tcpwasm <command> [options]

commands:
${DEMO_USAGE}
  serve --ip ADDR[/PREFIX] [--ip6 ADDR[/PREFIX]] --udp-bind HOST:PORT --udp-peer HOST:PORT
        --port N [--mode echo|discard|http] [--pcap FILE] [NETWORK OPTIONS]
      A server on a UDP link. echo (default) sends back what it reads (half-close mirrored),
      discard reads and drops, http answers GET / with a small page and GET /bytes/N with N
      bytes (byte i is i mod 256), keep-alive, 404 otherwise. Prints "listening ..." on stdout
      when ready; runs until SIGINT or SIGTERM (then exits 0).

  connect --ip ADDR[/PREFIX] [--ip6 ADDR[/PREFIX]] --udp-bind HOST:PORT --udp-peer HOST:PORT
          [--timeout MS] [--pcap FILE] [NETWORK OPTIONS] HOST PORT
      netcat over the stack: stdin to the connection, the connection to stdout. At the end of
      stdin it closes its write side and keeps reading until the peer closes, then exits 0.
      --timeout gives the connect MS milliseconds (default: the engine's SYN retries, about
      2 minutes), then exits 1 with ETIMEDOUT.

  An address without a prefix is that one address (/32, /128), as in createStack's addresses:
  the stack then holds no subnet of its own.

  network options (serve and connect):
    --tap            the UDP link carries Ethernet frames, one per datagram (a TAP device relayed
                     by socat TUN,tun-type=tap,iff-no-pi): the stack answers ARP and neighbour
                     discovery, and with --ip6 is the guests' IPv6 router (advertises its prefix)
    --mac MAC        the stack's MAC on the TAP link (default: a random locally administered one)
    --dhcp POOL      a DHCP server on the TAP link leasing POOL, a range 10.0.2.15-10.0.2.100 or
                     a prefix 10.0.2.0/24 inside --ip's subnet; it names the stack as router
                     (and as DNS server with --dns). Needs --tap and --ip.
    --dns            answer DNS queries (UDP and TCP port 53) on the stack's addresses: names are
                     resolved the way this machine resolves them (/etc/hosts, then its DNS)
    --dns-name NAME=ADDR
                     a name the responder answers itself, with PTR for ADDR (repeatable)

  version     prints the package version and the engine build this runtime loads

examples (each runs as written, with no root: the two commands talk over UDP on the loopback):
  tcpwasm demo --bytes 20000 --loss 0.05 --seed 3 > ladder.txt
  tcpwasm serve --ip 10.77.0.2/24 --udp-bind 127.0.0.1:7000 --udp-peer 127.0.0.1:7001 --port 8080 --mode http &
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | tcpwasm connect --ip 10.77.0.3/24 --udp-bind 127.0.0.1:7001 \\
      --udp-peer 127.0.0.1:7000 --timeout 10000 10.77.0.2 8080 | head -n 1   # prints: HTTP/1.1 200 OK
  kill $!

Behind a TUN or TAP device (socat's relay in a network namespace, root needed) and as a guest's
whole network (DHCP, DNS): README.md, "Behind a real TUN device" and "A guest behind a TAP device".

exit codes: 0 success, 1 runtime or connection error, 2 usage error
`;

// The package's version, put in by the bundler (src/build/build.mjs `define`); "unknown" unbundled.
declare const TCPWASM_VERSION: string | undefined;
const VERSION = typeof TCPWASM_VERSION === "string" ? TCPWASM_VERSION : "unknown";


// ---- serve and connect: a stack on a UDP link ----

const describeSocket = (s: TcpSocket) => (s.remoteAddress.includes(":") ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`);

async function serveEcho(socket: TcpSocket): Promise<void> {
  const { readable, writable } = await socket.opened;
  // pipeTo closes the writable side when the readable side ends: the peer's FIN is mirrored.
  await readable.pipeTo(writable);
}

async function serveDiscard(socket: TcpSocket): Promise<void> {
  const { readable, writable } = await socket.opened;
  for await (const _ of readable as unknown as AsyncIterable<Uint8Array>) {
    // Dropped.
  }
  await writable.close();
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tcpwasm</title></head>
<body><h1>Hello from tcpwasm</h1><p>This page came over a TCP stack written in WebAssembly.
Try <a href="/bytes/1048576">/bytes/1048576</a>.</p></body></html>
`;

const HEAD_LIMIT = 64 * 1024;

function headEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** HTTP/1.1 with keep-alive: GET / (a page), GET /bytes/N (N bytes), 404 for the rest. */
async function serveHttp(socket: TcpSocket): Promise<void> {
  const { readable, writable } = await socket.opened;
  const reader = readable.getReader();
  const writer = writable.getWriter();
  const enc = new TextEncoder();
  let buf: Uint8Array = new Uint8Array(0);
  const more = async (): Promise<boolean> => {
    const r = await reader.read();
    if (r.done) return false;
    buf = concat(buf, r.value);
    return true;
  };
  const respond = async (status: string, headers: Record<string, string | number>, body: Uint8Array | number | null, keepAlive: boolean) => {
    const lines = [`HTTP/1.1 ${status}`, `Server: tcpwasm`, `Connection: ${keepAlive ? "keep-alive" : "close"}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    await writer.write(enc.encode(lines.join("\r\n") + "\r\n\r\n"));
    if (body instanceof Uint8Array) {
      if (body.length) await writer.write(body);
    } else if (typeof body === "number") {
      // /bytes/N: byte i is i mod 256, streamed in 64 KiB blocks (each write waits for the send ring).
      const block = Uint8Array.from({ length: 65536 }, (_, i) => i & 0xff);
      for (let left = body; left > 0; left -= block.length) await writer.write(left >= block.length ? block : block.subarray(0, left));
    }
  };
  try {
    for (;;) {
      let end: number;
      while ((end = headEnd(buf)) < 0) {
        if (buf.length > HEAD_LIMIT) {
          await respond("431 Request Header Fields Too Large", { "Content-Length": 0 }, null, false);
          return;
        }
        if (!(await more())) return; // The client closed between requests.
      }
      const head = new TextDecoder().decode(buf.subarray(0, end)).split("\r\n");
      buf = buf.subarray(end + 4);
      const [method, target, version] = (head[0] ?? "").split(" ");
      const headers = new Map<string, string>();
      for (const line of head.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      if (!method || !target || !version?.startsWith("HTTP/1.")) {
        await respond("400 Bad Request", { "Content-Length": 0 }, null, false);
        return;
      }
      const connection = (headers.get("connection") ?? "").toLowerCase();
      const keepAlive = version === "HTTP/1.1" ? connection !== "close" : connection === "keep-alive";
      if (headers.has("transfer-encoding")) {
        await respond("411 Length Required", { "Content-Length": 0 }, null, false);
        return;
      }
      // A request body is read and dropped.
      let bodyLeft = Number(headers.get("content-length") ?? 0);
      if (!Number.isSafeInteger(bodyLeft) || bodyLeft < 0) {
        await respond("400 Bad Request", { "Content-Length": 0 }, null, false);
        return;
      }
      while (bodyLeft > 0) {
        if (buf.length === 0 && !(await more())) return;
        const n = Math.min(bodyLeft, buf.length);
        buf = buf.subarray(n);
        bodyLeft -= n;
      }
      const head_ = method === "HEAD";
      const bytesMatch = /^\/bytes\/(\d{1,15})$/.exec(target);
      if (method !== "GET" && !head_) {
        await respond("405 Method Not Allowed", { Allow: "GET, HEAD", "Content-Length": 0 }, null, keepAlive);
      } else if (target === "/") {
        const page = enc.encode(PAGE);
        await respond("200 OK", { "Content-Type": "text/html; charset=utf-8", "Content-Length": page.length }, head_ ? null : page, keepAlive);
      } else if (bytesMatch) {
        const n = Number(bytesMatch[1]);
        await respond("200 OK", { "Content-Type": "application/octet-stream", "Content-Length": n }, head_ ? null : n, keepAlive);
      } else {
        const body = enc.encode("not found\n");
        await respond("404 Not Found", { "Content-Type": "text/plain", "Content-Length": body.length }, head_ ? null : body, keepAlive);
      }
      if (!keepAlive) return;
    }
  } finally {
    await writer.close().catch(() => undefined);
    // Whatever the client still sends is dropped (the socket keeps reading so its window stays open).
    reader.releaseLock();
    await socket.close().catch(() => undefined);
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parse(args, { ...networkOptions, port: { type: "string" }, mode: { type: "string" } });
  const port = integer(values.port, "--port", 1, 65535);
  const mode = values.mode ?? "echo";
  const handler = { echo: serveEcho, discard: serveDiscard, http: serveHttp }[mode];
  if (!handler) throw new UsageError(`--mode must be echo, discard or http, got "${mode}"`);
  const plan = planNetwork(values as NetworkValues);
  const u = await openNetwork(plan, "server");
  const listener = bindWeb(u.stack).listen({ port });
  const where = [values.ip, values.ip6].filter(Boolean).map((a) => (a!.includes(":") ? `[${a!.split("/")[0]}]:${port}` : `${a!.split("/")[0]}:${port}`));
  process.stdout.write(`listening ${mode} on ${where.join(" and ")} (${describeNetwork(plan, u.mac)})\n`);
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      listener.close();
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  const loop = (async () => {
    for await (const socket of listener) {
      const who = describeSocket(socket);
      process.stderr.write(`tcpwasm serve: connection from ${who}\n`);
      handler(socket).then(
        () => socket.closed,
      ).then(
        () => process.stderr.write(`tcpwasm serve: ${who} closed (${socket.connection.bytesRead} bytes in, ${socket.connection.bytesWritten} out)\n`),
        (err: unknown) => process.stderr.write(`tcpwasm serve: ${who}: ${errorText(err)}\n`),
      );
    }
  })();
  await stopped;
  await loop;
  u.shutdown();
  return 0;
}

async function connect(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...networkOptions, timeout: { type: "string" } }, 2);
  const [host, portText] = positionals as [string, string];
  const port = integer(portText, "PORT", 1, 65535);
  const timeout = values.timeout === undefined ? undefined : integer(values.timeout, "--timeout", 1, MAX_CONNECT_TIMEOUT_MS);
  const u = await openNetwork(planNetwork(values as NetworkValues), "client");
  try {
    const socket = bindWeb(u.stack).connect({ hostname: host, port, timeout });
    const { readable, writable } = await socket.opened;
    const sending = (async () => {
      const writer = writable.getWriter();
      for await (const chunk of process.stdin) await writer.write(chunk as Uint8Array);
      await writer.close(); // Half-close: the peer sees our FIN, we keep reading.
    })();
    const receiving = (async () => {
      for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) {
        if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once("drain", r));
      }
    })();
    // The connection can end before stdin does (the peer closed or reset): that ends the command.
    await Promise.race([Promise.all([sending, receiving, socket.closed]), socket.closed.then(() => receiving)]);
    await socket.closed;
    return 0;
  } catch (err) {
    if (isArgumentError(err)) throw new UsageError(err.message);
    throw err;
  } finally {
    // Let the last ACK leave before the socket closes.
    await new Promise((r) => setTimeout(r, 20));
    u.shutdown();
    process.stdin.destroy();
  }
}

function errorText(err: unknown): string {
  if (err instanceof TcpwasmError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "demo":
        return await demo(rest);
      case "serve":
        return await serve(rest);
      case "connect":
        return await connect(rest);
      case "relay":
        return await (await import("./relay-cli.js")).relayCommand(rest);
      case "version":
      case "--version": {
        const engine = await loadEngine();
        process.stdout.write(`tcpwasm ${VERSION} (${engine.flavor} build)\n`);
        return 0;
      }
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(command === undefined ? USAGE : `tcpwasm: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tcpwasm ${command}: ${err.message}\n(tcpwasm help shows the usage)\n`);
      return 2;
    }
    process.stderr.write(`tcpwasm ${command}: ${errorText(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`tcpwasm: ${errorText(err)}\n`);
    process.exit(1);
  },
);
