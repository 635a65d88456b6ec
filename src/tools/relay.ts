// `tcpwasm relay`: the server end of a page's WebSocket (Node, `ws`). Two modes on one port:
//
// - stream mode, websockify-compatible: ws://relay/?host=H&port=P (or a first text message
//   {"host":H,"port":P}), then binary messages carry one TCP connection's bytes both ways. The relay
//   opens it with node:net (for the query form before it completes the handshake). A WebSocket close
//   ends the connection. Half-close, an extension: a zero-length binary message is FIN; the relay
//   sends one at the destination's FIN only to clients that asked with ?halfclose=1 (tcpwasm's
//   dialer does), and closes the WebSocket for the others as websockify does.
// - packet mode: ws://relay/packet, each binary message one IP packet or Ethernet frame; each client
//   becomes a WebSocketLink handed to `packet.attach` (a server-side stack, a UDP endpoint, ...).
//   Inbound too: a port the operator published (`packet.publish`) and the client claimed
//   (/packet?publish=PORT) is listened on while the client is connected, and each connection to it is
//   handed to the attachment's `connect`, which opens it inside the client's tunnel
//   (relay-publish.ts).
//
// Security is the point of a relay (an open one is a proxy for anyone): destinations are denied
// unless an allow pattern admits them (relay-policy.ts: names resolved once, every address checked,
// private ranges only by address); a bearer token (Authorization header, or ?token= for browsers,
// which cannot set headers on a WebSocket) compared in constant time; an Origin allow-list; per
// client (remote address) limits on connections, byte rate and total bytes (relay-limits.ts); idle
// timeouts. Each decision is one log entry (JSON in the CLI): who, from where, to where, allowed or
// refused and why, bytes moved. Everything is checked before the WebSocket handshake completes and
// refused with an HTTP status (401, 403, 429, 502, 504), the destination of the query form included
// (checked and connected first, so a client's open fails as a refused connect does); only the
// first-message form is refused after it, with a 44xx close code and the reason.
import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { TcpwasmError } from "../core/errors.js";
import { invalidValue, optionsObject, validateFunction, validateInteger, validateKnownKeys, validateOneOf, validateString } from "../core/validate.js";
import { DEFAULT_MTU, type Link, type PacketHandler } from "../net/link.js";
import { BATCH_PROTOCOL, createWebSocketLink, type WebSocketLike, type WebSocketLink } from "../net/websocket-link.js";
import { ClientTable, type ClientAccount, type ClientLimits } from "./relay-limits.js";
import { DestinationPolicy, parseAllowPattern, systemResolve, tokenMatches, type DestinationVerdict, type Resolve } from "./relay-policy.js";
import { ClaimedPorts, probePublished, PublishTable, requestedPorts, type InboundConnect, type PublishRule } from "./relay-publish.js";

export type { InboundConnect, InboundEvents, PublishRule } from "./relay-publish.js";

/** Who a client is, as the relay logs and limits it. */
export interface RelayClient {
  /** The remote address (the limits' key). */
  address: string;
  /** The remote port. */
  port: number;
  /** The Origin header, if any (browsers always send one). */
  origin: string | undefined;
}

/** One decision or event of the relay, as logged. */
export interface RelayLogEntry {
  /** ISO time. */
  time: string;
  /** listening, refused, open (allowed and connected), close. */
  event: "listening" | "refused" | "open" | "close";
  /** stream, packet, or inbound (a connection to a published port, into a packet-mode client's tunnel). */
  mode?: "stream" | "packet" | "inbound";
  /** The client's address. */
  client?: string;
  /** The client's Origin header. */
  origin?: string;
  /** The destination asked for (stream mode; inbound: the in-tunnel address). */
  host?: string;
  /** The destination port (stream mode; inbound: the in-tunnel port). */
  port?: number;
  /** Inbound: who connected to the published port (address:port). */
  peer?: string;
  /** Inbound: the published endpoint it connected to; packet mode: the ports the client claimed. */
  publish?: string;
  /** The address connected to (stream mode). */
  address?: string;
  /** Why it was refused or closed. */
  reason?: string;
  /** Bytes from the client. */
  up?: number;
  /** Bytes to the client. */
  down?: number;
  /** The listening URL (listening). */
  url?: string;
}

/** What packet mode's attach may use of the relay: its allow-list and its log. */
export interface RelayContext {
  /** Judges a destination with the relay's allow-list (names resolved, every address checked). */
  check(host: string, port: number): Promise<DestinationVerdict>;
  /** Writes one log entry (time added). */
  log(entry: Omit<RelayLogEntry, "time">): void;
}

/** What attach made of a client's link: how to undo it, and (for inbound forwarding) how to open a connection inside it. */
export interface PacketAttachment {
  /** Undoes the attach when the client leaves. */
  detach(): void;
  /** Inbound forwarding (RelayPacketOptions.publish): opens a connection inside the client's tunnel. */
  connect?: InboundConnect;
}

/** Packet mode: what each packet-mode client's link is joined to. */
export interface RelayPacketOptions {
  /** "ip" (default) or "ethernet", as the page's link. */
  framing?: "ip" | "ethernet";
  /** The links' IP MTU. Default 1500. */
  mtu?: number;
  /**
   * Joins a client's link to something; returns (or resolves to) what undoes it when the client
   * leaves, or a PacketAttachment. A rejection refuses the client.
   */
  attach: (link: Link, client: RelayClient, relay: RelayContext) => (() => void) | PacketAttachment | Promise<(() => void) | PacketAttachment>;
  /**
   * Ports of the relay's machine a client may claim (/packet?publish=PORT) while it is connected;
   * their connections go to the rule's in-tunnel address through the attachment's `connect`. None by
   * default. Each port is bound only while a client holds it; one that cannot be bound when the
   * relay starts is an error then.
   */
  publish?: PublishRule[];
}

/** Options of createRelay. */
export interface RelayOptions {
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Stream-mode destinations allowed: HOST:PORTS patterns (relay-policy.ts). None: every destination is refused. */
  allow?: string[];
  /** A bearer token every client must present. */
  token?: string;
  /** Origins allowed (exact, "https://app.example"); requests with another Origin header are refused. */
  origins?: string[];
  /** Per-client limits; 0 means none. Defaults: 64 connections, no rate, no total. */
  limits?: Partial<ClientLimits>;
  /** Clients (distinct addresses) tracked at once; more are refused. Default 10000. */
  maxClients?: number;
  /** A connection with no bytes either way for this long is closed, ms. Default 300000; 0: never. */
  idleTimeoutMs?: number;
  /** How long the relay waits for a destination to accept, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Largest WebSocket message accepted, bytes (larger ones close the socket, 1009). Default 1 MiB. */
  maxMessageBytes?: number;
  /** Packet mode; absent: /packet is refused (404). */
  packet?: RelayPacketOptions;
  /** Where log entries go. Default: none. */
  log?: (entry: RelayLogEntry) => void;
  /** The resolver for destination names (tests inject one). Default: the system's. */
  resolve?: Resolve;
}

/** Counts of what a relay did. */
export interface RelayStats {
  /** Connections admitted (stream mode: connected to the destination). */
  opened: number;
  /** Connections refused, for any reason. */
  refused: number;
  /** Connections open now. */
  active: number;
  /** Bytes from clients. */
  up: number;
  /** Bytes to clients. */
  down: number;
  /** Packet mode: packets dropped by the rate limit. */
  rateDropped: number;
  /** Inbound connections forwarded into a client's tunnel (accepted there). */
  inbound: number;
}

/** A running relay. */
export interface Relay {
  /** ws://host:port/ */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** What it did so far. */
  readonly stats: RelayStats;
  /** Clients tracked now. */
  readonly clients: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** WebSocket close codes the relay uses (the 4000-4999 range is the application's, RFC 6455 7.4.2). */
export const CLOSE = {
  badRequest: 4400,
  refused: 4403,
  idle: 4408,
  limit: 4429,
  unreachable: 4502,
  timeout: 4504,
} as const;

const OPTIONS: ReadonlySet<string> = new Set(["host", "port", "allow", "token", "origins", "limits", "maxClients", "idleTimeoutMs", "connectTimeoutMs", "maxMessageBytes", "packet", "log", "resolve"]);
// Unsent bytes in either direction at which the relay stops reading the other side.
const HIGH_WATER = 1 << 20;
// Client bytes held while the destination is being resolved and dialled.
const EARLY_LIMIT = 256 * 1024;

/** A close reason fits in a control frame: 123 bytes of UTF-8 (RFC 6455 5.5). */
function closeReason(text: string): string {
  let r = text;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

function refuseHttp(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  socket.destroy();
}

/** A destination dialled, or why not (with the close code and HTTP status that say so). */
type Dialled = { ok: true; socket: net.Socket; host: string; port: number; address: string } | { ok: false; code: number; status: number; reason: string };

/** One WebSocket the relay holds: what the idle sweep and close() walk. */
interface Session {
  lastActive: number;
  close(code: number, reason: string): void;
}

/**
 * Starts a relay: an HTTP server that upgrades to WebSocket for stream mode (any path but /packet)
 * and packet mode (/packet). Resolves once it listens.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options; EADDRINUSE if the port is taken.
 */
export async function createRelay(options?: RelayOptions): Promise<Relay> {
  const o = optionsObject(options, "options");
  validateKnownKeys(o as Record<string, unknown>, "options", OPTIONS);
  const patterns = (o.allow ?? []).map((p, i) => parseAllowPattern(p, `options.allow[${i}]`));
  if (o.token !== undefined) {
    validateString(o.token, "options.token");
    if (o.token.length < 8) invalidValue("options.token", "(hidden)", "must be at least 8 characters");
  }
  const origins = new Set(o.origins ?? []);
  for (const origin of origins) validateString(origin, "options.origins[]");
  const limits: ClientLimits = { maxConnections: 64, bytesPerSecond: 0, maxBytes: 0, ...o.limits };
  validateInteger(limits.maxConnections, "options.limits.maxConnections", 0);
  validateInteger(limits.bytesPerSecond, "options.limits.bytesPerSecond", 0);
  validateInteger(limits.maxBytes, "options.limits.maxBytes", 0);
  const maxClients = o.maxClients ?? 10_000;
  validateInteger(maxClients, "options.maxClients", 1);
  const idleTimeoutMs = o.idleTimeoutMs ?? 300_000;
  validateInteger(idleTimeoutMs, "options.idleTimeoutMs", 0);
  const connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
  validateInteger(connectTimeoutMs, "options.connectTimeoutMs", 1);
  const maxMessageBytes = o.maxMessageBytes ?? 1 << 20;
  validateInteger(maxMessageBytes, "options.maxMessageBytes", 1024, 1 << 30);
  const port = o.port ?? 0;
  validateInteger(port, "options.port", 0, 65535);
  const host = o.host ?? "127.0.0.1";
  validateString(host, "options.host");
  const packet = o.packet;
  if (packet !== undefined) {
    validateFunction(packet.attach, "options.packet.attach");
    if (packet.framing !== undefined) validateOneOf(packet.framing, "options.packet.framing", ["ip", "ethernet"]);
  }
  const publications = new PublishTable(packet?.publish ?? []);
  // A published port another program holds is the operator's mistake: say so now, not at a claim.
  await probePublished(packet?.publish ?? []);
  const log = o.log ?? (() => {});
  if (o.log !== undefined) validateFunction(o.log, "options.log");
  const policy = new DestinationPolicy(patterns, o.resolve ?? systemResolve);
  const table = new ClientTable(limits, maxClients, Math.max(idleTimeoutMs, 60_000));
  const stats: RelayStats = { opened: 0, refused: 0, active: 0, up: 0, down: 0, rateDropped: 0, inbound: 0 };
  const sessions = new Set<Session>();
  const now = () => performance.now();
  const emit = (entry: Omit<RelayLogEntry, "time">) => log({ time: new Date().toISOString(), ...entry });

  const context: RelayContext = { check: (h, port) => policy.check(h, port), log: emit };

  /**
   * Checks host:port against the policy and connects to the checked address. The connect timeout
   * bounds the lookup too: a resolver that never answers must not hold the slot.
   */
  async function dial(host: string, port: number): Promise<Dialled> {
    let lookupTimer: ReturnType<typeof setTimeout> | undefined;
    const verdict = await Promise.race([
      policy.check(host, port),
      new Promise<"timeout">((res) => (lookupTimer = setTimeout(() => res("timeout"), connectTimeoutMs))),
    ]);
    clearTimeout(lookupTimer);
    if (verdict === "timeout") return { ok: false, code: CLOSE.timeout, status: 504, reason: `resolving ${host}: ETIMEDOUT` };
    if (!verdict.allowed) return { ok: false, code: CLOSE.refused, status: 403, reason: verdict.reason };
    const d = verdict.destination;
    const socket = net.connect({ host: d.address, port, family: d.family, allowHalfOpen: true });
    socket.setNoDelay(true);
    return new Promise<Dialled>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ ok: false, code: CLOSE.timeout, status: 504, reason: `connect to ${d.address}:${port}: ETIMEDOUT` });
      }, connectTimeoutMs);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ ok: false, code: CLOSE.unreachable, status: 502, reason: `connect to ${d.address}:${port}: ${err.code ?? "error"}` });
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        // A reset before the splice listens must not be an unhandled 'error' (it would end the relay);
        // the splice sees the socket closed.
        socket.on("error", () => {});
        // Bytes the destination sends first wait in the socket (paused, no 'data' listener yet).
        resolve({ ok: true, socket, host, port, address: d.address });
      });
    });
  }

  /**
   * Packet mode takes batched framing when the client offers it (several packets a message,
   * websocket-link.ts); otherwise, as `ws` does by default, the first subprotocol offered
   * (websockify clients offer "binary").
   */
  const selectProtocol = (offered: Set<string>, req: http.IncomingMessage): string | false => {
    if (offered.has(BATCH_PROTOCOL) && new URL(req.url ?? "/", "http://relay").pathname === "/packet") return BATCH_PROTOCOL;
    for (const p of offered) if (p !== BATCH_PROTOCOL) return p;
    return false;
  };
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain", Connection: "close" });
    res.end("tcpwasm relay: WebSocket only\n");
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, perMessageDeflate: false, handleProtocols: selectProtocol });

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    const client: RelayClient = { address: req.socket.remoteAddress ?? "?", port: req.socket.remotePort ?? 0, origin: req.headers.origin };
    const url = new URL(req.url ?? "/", "http://relay");
    const mode = url.pathname === "/packet" ? "packet" : "stream";
    const refuse = (status: number, reason: string) => {
      stats.refused++;
      emit({ event: "refused", mode, client: client.address, origin: client.origin, reason });
      refuseHttp(socket, status, reason);
    };
    if (o.token !== undefined) {
      const auth = req.headers.authorization;
      const given = auth?.startsWith("Bearer ") ? auth.slice(7) : (url.searchParams.get("token") ?? undefined);
      if (!tokenMatches(o.token, given)) return refuse(401, given === undefined ? "no token" : "wrong token");
    }
    // A page elsewhere must not use the relay through its visitors' browsers; a client that sends no
    // Origin is no browser (and could send any), so the token is what stands between it and the relay.
    if (origins.size > 0 && client.origin !== undefined && !origins.has(client.origin)) return refuse(403, `origin ${client.origin} not allowed`);
    if (mode === "packet" && !packet) return refuse(404, "packet mode is not enabled");
    if (mode === "stream" && url.pathname !== "/") return refuse(404, `no such path ${url.pathname}`);
    const account = table.account(client.address, now());
    if (!account) return refuse(503, "too many clients");
    if (!account.canConnect) return refuse(429, `client has ${account.connections} connections (limit ${limits.maxConnections})`);
    account.connections++;
    const release = () => {
      account.connections--;
      if (account.connections === 0) account.idleSince = now();
    };
    let dialled: net.Socket | undefined;
    let claim: ClaimedPorts | undefined;
    // A client gone before its upgrade (or a bad handshake, which handleUpgrade answers itself with
    // 400 and never calls back) gives its slot back, and the destination or ports it had are dropped.
    socket.once("close", () => {
      if (upgraded.has(socket)) return;
      release();
      dialled?.destroy();
      claim?.close();
    });
    const upgrade = (destination?: Dialled & { ok: true }) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        upgraded.add(socket);
        if (mode === "packet") packetSession(ws, client, account, release, claim);
        else streamSession(ws, url, client, account, release, destination);
      });
    };
    if (mode === "packet") {
      const wanted = requestedPorts(url.searchParams);
      if (wanted.length === 0) return upgrade();
      // Published ports are claimed and bound before the handshake completes: a client learns that
      // it cannot have one (403 not published, 409 held by another client, 503 in use) as a refusal.
      const owner = {};
      const verdict = publications.claim(wanted, owner);
      if (!verdict.ok) return refuse(verdict.status, verdict.reason);
      const c = new ClaimedPorts(verdict.rules, owner, publications, { client, account, log: emit, stats, connectTimeoutMs, touch: () => {} });
      claim = c;
      void c.listen().then((failed) => {
        if (failed !== undefined) return refuse(503, failed);
        // Gone while its ports were bound, or the relay is closing: nothing stays bound.
        if (socket.destroyed || closing) {
          socket.destroy();
          return c.close();
        }
        upgrade();
      });
      return;
    }
    const h = url.searchParams.get("host");
    const p = url.searchParams.get("port");
    if (h === null && p === null) return upgrade();
    // The query form: the destination is checked and dialled before the handshake completes, so a
    // client (a page's gateway) learns of a refusal as a failed open, as from a real connect.
    const port = p !== null && /^\d{1,5}$/.test(p) ? Number(p) : NaN;
    if (!h || !(port >= 1 && port <= 65535)) return refuse(400, "?host= and ?port= (1..65535) go together");
    void dial(h, port).then((d) => {
      if (socket.destroyed) {
        if (d.ok) d.socket.destroy();
        return;
      }
      if (!d.ok) {
        stats.refused++;
        emit({ event: "refused", mode, client: client.address, origin: client.origin, host: h, port, reason: d.reason });
        return refuseHttp(socket, d.status, d.reason);
      }
      dialled = d.socket;
      upgrade(d);
    });
  });
  const upgraded = new WeakSet<Duplex>();
  let closing = false;

  function track(session: Session, ws: WebSocket): void {
    sessions.add(session);
    stats.active++;
    ws.once("close", () => {
      sessions.delete(session);
      stats.active--;
    });
  }

  function streamSession(ws: WebSocket, url: URL, client: RelayClient, account: ClientAccount, release: () => void, dialled?: Dialled & { ok: true }): void {
    let up = 0;
    let down = 0;
    let tcp: net.Socket | undefined;
    let target: { host: string; port: number; address?: string } | undefined;
    let upDone = false;
    let downDone = false;
    let ended = false;
    let refusedReason: string | undefined;
    const halfClose = url.searchParams.get("halfclose") === "1";
    const early: Buffer[] = [];
    let earlyBytes = 0;
    // Reasons tcp reading is paused (the WebSocket's buffer is full; the rate limit): resume when none is left.
    const tcpHolds = new Set<string>();
    const wsHolds = new Set<string>();
    const session: Session = { lastActive: now(), close: (code, reason) => finish(code, reason) };
    track(session, ws);

    const hold = (which: "tcp" | "ws", why: string, ms?: number) => {
      const holds = which === "tcp" ? tcpHolds : wsHolds;
      if (holds.size === 0) (which === "tcp" ? tcp?.pause() : ws.pause());
      holds.add(why);
      if (ms !== undefined) setTimeout(() => unhold(which, why), Math.ceil(ms)).unref();
    };
    const unhold = (which: "tcp" | "ws", why: string) => {
      const holds = which === "tcp" ? tcpHolds : wsHolds;
      if (!holds.delete(why) || holds.size > 0 || ended) return;
      if (which === "tcp") tcp?.resume();
      else ws.resume();
    };
    /** Counts bytes against the client's limits: false when the total is spent (the session is closed). */
    const spend = (n: number, which: "tcp" | "ws"): boolean => {
      session.lastActive = now();
      const wait = account.spend(n, session.lastActive);
      if (wait === "quota") {
        finish(CLOSE.limit, `byte limit reached (${limits.maxBytes})`);
        return false;
      }
      if (wait > 0) hold(which, "rate", wait);
      return true;
    };

    function finish(code: number, reason: string): void {
      if (ended) return;
      ended = true;
      if (refusedReason === undefined && target?.address !== undefined) {
        emit({ event: "close", mode: "stream", client: client.address, origin: client.origin, host: target.host, port: target.port, address: target.address, reason, up, down });
      }
      tcp?.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, closeReason(reason));
    }

    const refuse = (code: number, reason: string) => {
      refusedReason = reason;
      stats.refused++;
      emit({ event: "refused", mode: "stream", client: client.address, origin: client.origin, host: target?.host, port: target?.port, reason });
      finish(code, reason);
    };

    const start = async (host: string, port: number) => {
      target = { host, port };
      const d = await dial(host, port);
      if (ended) {
        if (d.ok) d.socket.destroy();
        return;
      }
      if (!d.ok) return refuse(d.code, d.reason);
      splice(d);
    };

    /** Joins the connected destination to the WebSocket: bytes, FINs, backpressure and limits both ways. */
    const splice = (d: Dialled & { ok: true }) => {
      const socket = d.socket;
      target = { host: d.host, port: d.port, address: d.address };
      tcp = socket;
      stats.opened++;
      emit({ event: "open", mode: "stream", client: client.address, origin: client.origin, host: d.host, port: d.port, address: d.address });
      socket.on("error", (err: NodeJS.ErrnoException) => finish(CLOSE.unreachable, err.code ?? "error"));
      socket.on("data", (chunk: Buffer) => {
        if (ended) return;
        down += chunk.length;
        stats.down += chunk.length;
        if (!spend(chunk.length, "tcp")) return;
        ws.send(chunk, () => {
          if (ws.bufferedAmount < HIGH_WATER / 2) unhold("tcp", "buffer");
        });
        if (ws.bufferedAmount >= HIGH_WATER) hold("tcp", "buffer");
      });
      socket.on("drain", () => unhold("ws", "buffer"));
      socket.on("end", () => {
        downDone = true;
        // The destination's FIN. A client that asked for half-close (?halfclose=1) gets a zero-length
        // message and may go on sending; any other client gets what websockify does: the close.
        if (!halfClose || upDone) return finish(1000, "closed");
        if (ws.readyState === ws.OPEN) ws.send(Buffer.alloc(0));
      });
      socket.on("close", () => finish(1000, "closed"));
      for (const chunk of early) socket.write(chunk);
      early.length = 0;
      if (upDone) socket.end();
      unhold("ws", "early");
    };

    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (ended) return;
      if (!isBinary) {
        if (target) return finish(1003, "text message in a byte stream");
        let spec: { host?: unknown; port?: unknown };
        try {
          spec = JSON.parse(data.toString("utf8"));
        } catch {
          return refuse(CLOSE.badRequest, "first message must be JSON {\"host\",\"port\"}");
        }
        if (typeof spec?.host !== "string" || typeof spec.port !== "number") return refuse(CLOSE.badRequest, "first message must be JSON {\"host\",\"port\"}");
        void start(spec.host, spec.port);
        return;
      }
      if (!target) return refuse(CLOSE.badRequest, "no destination: ?host=&port= or a first text message {\"host\",\"port\"}");
      if (data.length === 0) {
        // The client's FIN (half-close): the destination sees the end of the stream and may still answer.
        upDone = true;
        tcp?.end();
        if (downDone) finish(1000, "closed");
        return;
      }
      up += data.length;
      stats.up += data.length;
      if (!spend(data.length, "ws")) return;
      if (!tcp) {
        early.push(data);
        earlyBytes += data.length;
        if (earlyBytes >= EARLY_LIMIT) hold("ws", "early");
        return;
      }
      if (!tcp.write(data)) hold("ws", "buffer");
    });
    ws.on("close", (code: number) => {
      if (!ended) finish(code, code === 1000 || code === 1005 ? "client closed" : `client lost (${code})`);
      release();
    });
    ws.on("error", () => finish(1011, "websocket error"));

    if (dialled) splice(dialled);
  }

  function packetSession(ws: WebSocket, client: RelayClient, account: ClientAccount, release: () => void, claim?: ClaimedPorts): void {
    const p = packet!;
    let ended = false;
    let detach: (() => void) | undefined;
    let up = 0;
    let down = 0;
    const wsLink = createWebSocketLink(ws as unknown as WebSocketLike, { framing: p.framing, mtu: p.mtu ?? DEFAULT_MTU, maxBufferedBytes: HIGH_WATER });
    const session: Session = { lastActive: now(), close: (code, reason) => finish(code, reason) };
    track(session, ws);
    // A connection through a published port is the client's activity, as its packets are.
    if (claim) claim.ctx.touch = () => (session.lastActive = now());
    /** The packets of a batch the client's limits let through, each metered in turn, and their bytes. */
    const meter = (packets: Uint8Array[]): [passed: Uint8Array[], bytes: number] => {
      const t = now();
      session.lastActive = t;
      let passed = packets;
      let bytes = 0;
      for (let i = 0; i < packets.length; i++) {
        const n = packets[i]!.length;
        const verdict = account.admitPacket(n, t);
        if (verdict === "ok") {
          bytes += n;
          if (passed !== packets) passed.push(packets[i]!);
          continue;
        }
        if (passed === packets) passed = packets.slice(0, i);
        if (verdict === "quota") finish(CLOSE.limit, `byte limit reached (${limits.maxBytes})`);
        else stats.rateDropped++;
      }
      return [passed, bytes];
    };
    // The client's link as the far side sees it: every packet metered against the client's limits.
    const metered: Link & { readonly stats: WebSocketLink["stats"] } = {
      framing: wsLink.framing,
      mtu: wsLink.mtu,
      stats: wsLink.stats,
      // The link copies what it sends before send returns, so a stack may lend it its output region.
      copiesOnSend: wsLink.copiesOnSend,
      send(packets: Uint8Array[]) {
        const [passed, bytes] = meter(packets);
        down += bytes;
        stats.down += bytes;
        if (passed.length) wsLink.send(passed);
      },
      onReceive(handler: PacketHandler) {
        wsLink.onReceive((packets) => {
          const [passed, bytes] = meter(packets);
          up += bytes;
          stats.up += bytes;
          if (passed.length && !ended) handler(passed);
        });
      },
      close() {
        finish(1000, "closed by the far side");
      },
    };
    function finish(code: number, reason: string): void {
      if (ended) return;
      ended = true;
      emit({ event: "close", mode: "packet", client: client.address, origin: client.origin, reason, up, down });
      // The close code goes out first: the link's own close would say 1000.
      if (ws.readyState === ws.OPEN) ws.close(code, closeReason(reason));
      // The published ports first: their connections are reset before the stack under them goes.
      claim?.close(`client gone: ${reason}`);
      detach?.();
      wsLink.close();
    }
    ws.on("close", (code: number) => {
      finish(code, code === 1000 || code === 1005 ? "client closed" : `client lost (${code})`);
      release();
    });
    Promise.resolve()
      .then(() => p.attach(metered, client, context))
      .then(
        (result) => {
          const attachment: PacketAttachment = typeof result === "function" ? { detach: result } : result;
          if (ended) return attachment.detach();
          detach = () => attachment.detach();
          stats.opened++;
          emit({ event: "open", mode: "packet", client: client.address, origin: client.origin, ...(claim && { publish: claim.describe() }) });
          claim?.attached(attachment.connect);
        },
        (err: unknown) => {
          const reason = err instanceof Error ? err.message : String(err);
          stats.refused++;
          emit({ event: "refused", mode: "packet", client: client.address, origin: client.origin, reason });
          ended = true;
          claim?.close("refused");
          wsLink.close();
          if (ws.readyState === ws.OPEN) ws.close(CLOSE.unreachable, closeReason(reason));
        },
      );
  }

  // One sweep a second closes idle sessions and forgets clients long gone; both are O(sessions).
  const sweeper = setInterval(() => {
    const t = now();
    if (idleTimeoutMs > 0) for (const s of sessions) if (t - s.lastActive > idleTimeoutMs) s.close(CLOSE.idle, `idle for ${Math.round(idleTimeoutMs / 1000)} s`);
    table.sweep(t);
  }, Math.min(1000, Math.max(50, idleTimeoutMs / 4 || 1000)));
  sweeper.unref();

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(new TcpwasmError(err.code === "EADDRINUSE" ? "EADDRINUSE" : err.code === "EADDRNOTAVAIL" ? "EADDRNOTAVAIL" : "EINVAL", `relay: listen on ${host}:${port}: ${err.message}`));
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  const url = `ws://${net.isIPv6(host) ? `[${host}]` : host}:${bound}/`;
  emit({ event: "listening", url });

  return {
    url,
    port: bound,
    stats,
    get clients() {
      return table.size;
    },
    close() {
      closing = true;
      clearInterval(sweeper);
      for (const s of [...sessions]) s.close(1001, "relay shutting down");
      return new Promise<void>((resolve) => {
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
