// Inbound port forwarding into a packet-mode client of `tcpwasm relay`: the operator publishes a
// port of the relay's machine and names where its connections go inside a client's tunnel
// ("--publish 127.0.0.1:8080=10.0.0.2:80"); a client that wants it asks when it connects
// (ws://relay/packet?publish=8080). While that client is connected the relay listens on the port and
// opens each accepted connection from the client's relay-side stack to the in-tunnel address, so a
// server running in the page (or in a guest inside it) answers `curl http://127.0.0.1:8080/` on the
// relay's machine.
//
// Deny by default: nothing listens unless the operator published the port AND a client claimed it;
// a client can claim only what is published, and a published port belongs to one client at a time
// (first come; others are refused with 409 until it leaves). The listener lives as long as the
// claim: when the client goes away it is closed, so a connection then is refused by the host's own
// TCP (ECONNREFUSED) rather than accepted and dropped. A port another program holds is an error at
// the relay's start (probed) and a 503 refusal at the claim.
import net from "node:net";
import { TcpwasmError } from "../core/errors.js";
import { parseAddress, validateAddress } from "../core/address.js";
import { invalidValue, validateArray, validateObject, validatePort, validateString } from "../core/validate.js";
import { parseEndpoint } from "../net/udp-link.js";
import type { ClientAccount } from "./relay-limits.js";

/** One published port: connections to host:port on the relay's machine go to `to` in the claiming client's tunnel. */
export interface PublishRule {
  /** The address the relay listens on. Default 127.0.0.1. */
  host: string;
  /** The port it listens on (1..65535; the client names it to claim the rule). */
  port: number;
  /** The in-tunnel destination: an address the client's link routes (the page's stack), and a port. */
  to: { address: string; port: number };
}

/** Parses "[HOST:]PORT=ADDRESS:PORT" ("8080=10.0.0.2:80", "0.0.0.0:8080=10.0.0.2:80", "[::1]:8443=[fd00::2]:443"). */
export function parsePublish(text: string, what: string): PublishRule {
  const eq = text.indexOf("=");
  if (eq <= 0) invalidValue(what, text, "must be [HOST:]PORT=ADDRESS:PORT");
  const left = text.slice(0, eq);
  const listen = /^\d{1,5}$/.test(left) ? { host: "127.0.0.1", port: Number(left) } : parseEndpoint(left, what);
  if (listen.port < 1 || listen.port > 65535) invalidValue(what, text, "must publish a port 1..65535 (the client names it to claim it)");
  const to = parseEndpoint(text.slice(eq + 1), what);
  if (!parseAddress(to.host)) invalidValue(what, text, "must forward to an IP address inside the tunnel (no name)");
  if (to.port === 0) invalidValue(what, text, "must not forward to port 0");
  return { host: listen.host, port: listen.port, to: { address: to.host, port: to.port } };
}

/** The ports a packet-mode URL asks to publish: ?publish=8080,8443 or ?publish=8080&publish=8443. */
export function requestedPorts(params: URLSearchParams): string[] {
  return params.getAll("publish").flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}

/** Which client holds each published port. Owners are opaque (one per packet-mode session). */
export class PublishTable {
  readonly #rules = new Map<number, PublishRule>();
  readonly #holders = new Map<number, object>();

  /** @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE for a malformed rule or a port published twice. */
  constructor(rules: PublishRule[]) {
    validateArray(rules, "options.packet.publish");
    rules.forEach((r, i) => {
      const what = `options.packet.publish[${i}]`;
      validateObject(r, what);
      validateString(r.host, `${what}.host`);
      validatePort(r.port, `${what}.port`);
      validateObject(r.to, `${what}.to`);
      validateAddress(r.to.address, `${what}.to.address`);
      validatePort(r.to.port, `${what}.to.port`);
      if (this.#rules.has(r.port)) invalidValue(`${what}.port`, r.port, "is published twice");
      this.#rules.set(r.port, r);
    });
  }

  /** Whether any port is published. */
  get size(): number {
    return this.#rules.size;
  }

  /**
   * Claims the rules `ports` name for `owner`, all or none: a port not published is 403, one
   * another client holds is 409.
   */
  claim(ports: string[], owner: object): { ok: true; rules: PublishRule[] } | { ok: false; status: number; reason: string } {
    const rules: PublishRule[] = [];
    for (const p of ports) {
      const rule = /^\d{1,5}$/.test(p) ? this.#rules.get(Number(p)) : undefined;
      if (!rule) return { ok: false, status: 403, reason: `port ${p} is not published by this relay` };
      const holder = this.#holders.get(rule.port);
      if (holder !== undefined && holder !== owner) return { ok: false, status: 409, reason: `port ${rule.port} is published to another client` };
      if (!rules.includes(rule)) rules.push(rule);
    }
    for (const r of rules) this.#holders.set(r.port, owner);
    return { ok: true, rules };
  }

  /** Gives back every port `owner` holds. */
  release(owner: object): void {
    for (const [port, holder] of this.#holders) if (holder === owner) this.#holders.delete(port);
  }
}

/** "host:port", brackets around an IPv6 host. */
export function endpointText(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * Listens on a rule's host:port with `onConnection` (sockets paused, half-open allowed).
 * @throws TcpwasmError EADDRINUSE (another program holds the port), EADDRNOTAVAIL, EACCES or EINVAL.
 */
export function listenPublished(rule: PublishRule, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const code = err.code === "EADDRINUSE" || err.code === "EADDRNOTAVAIL" || err.code === "EACCES" ? err.code : "EINVAL";
      const what = code === "EADDRINUSE" ? "the address is in use (another program listens there)" : code === "EACCES" ? "permission denied (a port below 1024 needs privileges)" : err.message;
      reject(new TcpwasmError(code, `publish ${endpointText(rule.host, rule.port)}: ${what}`));
    });
    server.listen({ host: rule.host, port: rule.port, exclusive: true }, () => {
      server.removeAllListeners("error");
      // A failing accepted socket must not be an unhandled 'error'.
      server.on("error", () => {});
      resolve(server);
    });
  });
}

/**
 * Checks that every rule's port can be bound now, so an operator learns of a port in use when the
 * relay starts rather than at the first claim (each is released at once).
 * @throws TcpwasmError as listenPublished.
 */
export async function probePublished(rules: PublishRule[]): Promise<void> {
  for (const rule of rules) {
    const server = await listenPublished(rule, (s) => s.destroy());
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** What an inbound connection's forwarding reports back to the relay. */
export interface InboundEvents {
  /** The in-tunnel destination accepted: bytes flow both ways from now on. */
  onOpen(): void;
  /** It is over: bytes each way (up: from the tunnel, down: into it) and the error it ended with, if any. */
  onDone(result: { up: number; down: number; error?: Error }): void;
}

/**
 * Opens a connection inside a client's tunnel to `to` and joins `far` (a socket accepted on a
 * published port, paused) to it; `far` is reset if the destination refuses or cannot be reached.
 * Returns what gives up on a connect not yet answered (far is then reset, onDone follows).
 */
export type InboundConnect = (far: net.Socket, to: { address: string; port: number }, events: InboundEvents) => () => void;

/** One inbound decision, as the relay logs it (it adds the time). */
export interface InboundLogEntry {
  event: "open" | "refused" | "close";
  mode: "inbound";
  client: string;
  origin: string | undefined;
  peer: string;
  publish: string;
  host: string;
  port: number;
  reason?: string;
  up?: number;
  down?: number;
}

/** What a claim needs of the relay: the client, its account, the log and the counters. */
export interface ClaimContext {
  client: { address: string; origin: string | undefined };
  account: ClientAccount;
  log(entry: InboundLogEntry): void;
  stats: { refused: number; inbound: number };
  /** How long the in-tunnel destination may take to answer, ms. */
  connectTimeoutMs: number;
  /** Marks the client's session active (an inbound connection is activity). */
  touch(): void;
}

/**
 * The ports one packet-mode client claimed: their listeners, the connections they accepted, and the
 * hand-off of each to the client's attachment once it exists. Closed when the client leaves.
 */
export class ClaimedPorts {
  readonly #servers: net.Server[] = [];
  readonly #live = new Map<net.Socket, { reason: string }>();
  #attached = false;
  #connect: InboundConnect | undefined;
  #waiting: (() => void)[] = [];
  #closed = false;

  constructor(
    readonly rules: PublishRule[],
    readonly owner: object,
    readonly table: PublishTable,
    readonly ctx: ClaimContext,
  ) {}

  /** "127.0.0.1:8080=10.0.0.2:80 ..." as logged. */
  describe(): string {
    return this.rules.map((r) => `${endpointText(r.host, r.port)}=${endpointText(r.to.address, r.to.port)}`).join(" ");
  }

  /** Binds every claimed port; resolves with the failure's message (and nothing stays bound), or undefined. */
  async listen(): Promise<string | undefined> {
    for (const rule of this.rules) {
      try {
        const server = await listenPublished(rule, (socket) => this.#accept(rule, socket));
        this.#servers.push(server);
      } catch (err) {
        this.close("refused");
        return (err as Error).message;
      }
      if (this.#closed) break;
    }
    return undefined;
  }

  /** The client's link is attached (`connect` opens connections in it): connections accepted so far, and from now on, go in. */
  attached(connect: InboundConnect | undefined): void {
    this.#attached = true;
    this.#connect = connect;
    for (const go of this.#waiting.splice(0)) go();
  }

  /** The client left: the listeners close (a new connection is refused by the host), claims are released, open connections reset. */
  close(reason = "client gone"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.table.release(this.owner);
    for (const s of this.#servers) s.close();
    this.#waiting.length = 0;
    for (const [socket, state] of this.#live) {
      state.reason = reason;
      socket.resetAndDestroy();
    }
  }

  #accept(rule: PublishRule, socket: net.Socket): void {
    const { client, account, stats } = this.ctx;
    socket.on("error", () => {});
    socket.setNoDelay(true);
    const entry = {
      mode: "inbound" as const,
      client: client.address,
      origin: client.origin,
      peer: endpointText(socket.remoteAddress ?? "?", socket.remotePort ?? 0),
      publish: endpointText(rule.host, rule.port),
      host: rule.to.address,
      port: rule.to.port,
    };
    let refused = false;
    const refuse = (reason: string) => {
      if (refused) return;
      refused = true;
      stats.refused++;
      this.ctx.log({ event: "refused", ...entry, reason });
      socket.resetAndDestroy();
    };
    if (this.#closed) return refuse("client gone");
    if (!account.canAcceptInbound) return refuse(`client has ${account.inbound} inbound connections (limit ${account.limits.maxConnections})`);
    account.inbound++;
    this.ctx.touch();
    const state = { reason: "closed" };
    let opened = false;
    this.#live.set(socket, state);
    socket.once("close", () => {
      this.#live.delete(socket);
      account.inbound--;
      // up: from the tunnel (written to the host's peer), down: into the tunnel, as the relay counts a client's bytes.
      if (opened) this.ctx.log({ event: "close", ...entry, reason: state.reason, up: socket.bytesWritten, down: socket.bytesRead });
    });
    const go = () => {
      if (socket.destroyed) return;
      const connect = this.#connect;
      if (!connect) return refuse("the client's packet mode takes no inbound connections");
      // A page that never answers (no such address in its tunnel, gone quiet) must not hold the
      // host's connection for the minutes a SYN's retries last: it is given up as a relay's outbound
      // connect is, and the host's side is reset.
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const cancel = connect(socket, rule.to, {
          onOpen: () => {
            clearTimeout(timer);
            opened = true;
            stats.inbound++;
            this.ctx.log({ event: "open", ...entry });
          },
          onDone: (result) => {
            clearTimeout(timer);
            if (result.error && state.reason === "closed") state.reason = (result.error as NodeJS.ErrnoException).code ?? result.error.message;
            if (!opened) refuse(state.reason);
          },
        });
        timer = setTimeout(() => {
          if (opened || socket.destroyed) return;
          state.reason = "ETIMEDOUT";
          cancel();
        }, this.ctx.connectTimeoutMs);
        timer.unref();
      } catch (err) {
        refuse((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      }
    };
    if (this.#attached) go();
    else this.#waiting.push(go);
  }
}
