// `tcpwasm relay [flags]`: the command-line face of createRelay (relay.ts). Prints
// "listening on ws://HOST:PORT/" on stdout when ready, then one JSON line per decision; runs until
// SIGINT or SIGTERM. Exit codes as the other commands: 0, 1 runtime error, 2 usage error.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isArgumentError } from "../core/errors.js";
import { parseEndpoint } from "../net/udp-link.js";
import { createRelay, type RelayPacketOptions } from "./relay.js";
import { parseForward, stackAttach, udpAttach } from "./relay-packet.js";
import { parsePublish, type PublishRule } from "./relay-publish.js";
import { parseAddress } from "../core/address.js";
import { parsePrefix, prefixHolds, sameAddress } from "../net/prefix.js";

export const RELAY_USAGE = `  relay [--listen HOST:PORT] [--allow HOST:PORTS ...] [--token T | --token-file F]
        [--origin ORIGIN ...] [--max-connections N] [--rate BYTES] [--max-bytes BYTES]
        [--idle-timeout S] [--connect-timeout S] [--max-clients N]
        [--stack ADDR/PREFIX ... [--forward PORT=HOST:PORT ...] [--publish [HOST:]PORT=ADDR:PORT ...]
         | --udp-peer HOST:PORT [--udp-bind HOST:PORT]]
        [--framing ip|ethernet] [--mtu N (default 65535 with --stack, 1500 with --udp-peer)]
      The server end of a page's WebSocket (default 127.0.0.1:8080; port 0 picks one).
      Stream mode (ws://relay/?host=H&port=P, websockify-compatible): TCP to H:P if an --allow
      pattern admits it: * | name | *.suffix | IPv4[/len] | [IPv6[/len]] then :PORT, :LOW-HIGH or
      :*. Deny by default; loopback, private and link-local addresses only by address pattern.
      --token: clients send "Authorization: Bearer T" or ?token=T. --origin: browsers' Origin
      must be listed. Limits per client address: --max-connections (default 64), --rate bytes/s
      and --max-bytes total (k, M, G suffixes; default none), --idle-timeout (default 300 s).
      Packet mode (ws://relay/packet, one IP packet or Ethernet frame per message): --stack gives
      each client a stack of its own holding ADDR/PREFIX, whose --forward ports splice to HOST:PORT
      (which --allow must admit); --udp-peer sends each client's packets to a UDP endpoint (socat's
      TUN/TAP relay; with a fixed --udp-bind port, one client at a time).
      Inbound: --publish [HOST:]PORT=ADDR:PORT lets one client at a time claim PORT of this machine
      (HOST default 127.0.0.1) with ws://relay/packet?publish=PORT; while it is connected the relay
      listens there and opens each connection to ADDR:PORT in that client's tunnel (a server in
      the page). Unclaimed, nothing listens. With --udp-peer the kernel routes to the page itself.
`;

class RelayUsageError extends Error {}

function count(value: string | undefined, name: string, fallback: number, scale = 1): number {
  if (value === undefined) return fallback;
  const m = /^(\d+)([kKmMgG]?)$/.exec(value);
  if (!m) throw new RelayUsageError(`${name} must be a whole number (k, M, G suffixes allowed), got "${value}"`);
  const unit = { "": 1, k: 1e3, K: 1 << 10, m: 1e6, M: 1 << 20, g: 1e9, G: 1 << 30 }[m[2]!]!;
  const n = Number(m[1]) * unit * scale;
  if (!Number.isSafeInteger(n)) throw new RelayUsageError(`${name} is too large: "${value}"`);
  return n;
}

/** Runs `tcpwasm relay`; resolves with the exit code once it stops. */
export async function relayCommand(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`usage: tcpwasm relay [options]\n\n${RELAY_USAGE}`);
    return 0;
  }
  const multiple = { type: "string", multiple: true } as const;
  const single = { type: "string" } as const;
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        listen: single, allow: multiple, token: single, "token-file": single, origin: multiple, "max-connections": single, rate: single,
        "max-bytes": single, "idle-timeout": single, "connect-timeout": single, "max-clients": single, stack: multiple, forward: multiple,
        "udp-peer": single, "udp-bind": single, framing: single, mtu: single, publish: multiple,
      },
    }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
  try {
    const listen = parseEndpoint(values.listen ?? "127.0.0.1:8080", "--listen");
    if (values.token !== undefined && values["token-file"] !== undefined) throw new RelayUsageError("give --token or --token-file, not both");
    const token = values["token-file"] !== undefined ? readFileSync(values["token-file"], "utf8").trim() : values.token;
    if (values.framing !== undefined && values.framing !== "ip" && values.framing !== "ethernet") throw new RelayUsageError(`--framing must be ip or ethernet, got "${values.framing}"`);
    const stackAddresses = values.stack ?? [];
    const forwards = (values.forward ?? []).map((f, i) => parseForward(f, `--forward[${i}]`));
    if (forwards.length && !stackAddresses.length) throw new RelayUsageError("--forward needs --stack");
    const publish = (values.publish ?? []).map((f, i) => parsePublish(f, `--publish[${i}]`));
    if (publish.length && values["udp-peer"] !== undefined) {
      throw new RelayUsageError("--publish needs --stack: with --udp-peer the page is a host on the TUN/TAP device's network, and the kernel routes connections to its address");
    }
    if (publish.length && !stackAddresses.length) throw new RelayUsageError("--publish needs --stack (the client's relay-side stack opens the published connections)");
    checkPublishTargets(publish, stackAddresses);
    if (stackAddresses.length && values["udp-peer"] !== undefined) throw new RelayUsageError("packet mode is --stack or --udp-peer, not both");
    if (values["udp-bind"] !== undefined && values["udp-peer"] === undefined) throw new RelayUsageError("--udp-bind needs --udp-peer");
    let packet: RelayPacketOptions | undefined;
    const framing = values.framing as "ip" | "ethernet" | undefined;
    const mtu = values.mtu === undefined ? undefined : count(values.mtu, "--mtu", 1500);
    if (stackAddresses.length) {
      if (framing === "ethernet") throw new RelayUsageError("--stack takes raw IP packets (--framing ip)");
      // A WebSocket has no MTU, and the page's link MTU caps the segments both ways (each side's MSS
      // comes from its own): the relay's stacks take the largest packets, and a page that raises its
      // MTU pays the browser's per-message cost once per 64 KiB instead of once per 1,460 bytes.
      packet = { framing, mtu: mtu ?? 65535, attach: stackAttach(stackAddresses, forwards), publish };
    } else if (values["udp-peer"] !== undefined) {
      const peer = parseEndpoint(values["udp-peer"], "--udp-peer");
      const bind = values["udp-bind"] === undefined ? undefined : parseEndpoint(values["udp-bind"], "--udp-bind");
      packet = { framing, mtu, attach: udpAttach(peer, bind) };
    }
    const relay = await createRelay({
      host: listen.host,
      port: listen.port,
      allow: values.allow,
      token,
      origins: values.origin,
      limits: {
        maxConnections: count(values["max-connections"], "--max-connections", 64),
        bytesPerSecond: count(values.rate, "--rate", 0),
        maxBytes: count(values["max-bytes"], "--max-bytes", 0),
      },
      maxClients: count(values["max-clients"], "--max-clients", 10_000),
      idleTimeoutMs: count(values["idle-timeout"], "--idle-timeout", 300_000, 1000),
      connectTimeoutMs: count(values["connect-timeout"], "--connect-timeout", 10_000, 1000),
      packet,
      log: (entry) => process.stdout.write(`${JSON.stringify(entry)}\n`),
    });
    process.stdout.write(`listening on ${relay.url}\n`);
    // Whoever reads the log may go away (a closed pipe): the relay goes on serving.
    process.stdout.on("error", () => {});
    if (token === undefined && !["127.0.0.1", "::1", "localhost"].includes(listen.host)) {
      process.stderr.write("tcpwasm relay: warning: no --token on a non-loopback address: anyone who reaches this port may use the allow-list\n");
    }
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await relay.close();
    return 0;
  } catch (err) {
    if (err instanceof RelayUsageError || isArgumentError(err)) return usage((err as Error).message);
    throw err;
  }
}

/** Each published destination must be a page's address on one of the --stack prefixes (not the relay side's own). */
function checkPublishTargets(publish: PublishRule[], stackAddresses: string[]): void {
  const prefixes = stackAddresses.map((a, i) => parsePrefix(a, `--stack[${i}]`));
  const ports = new Set<number>();
  for (const rule of publish) {
    if (ports.has(rule.port)) throw new RelayUsageError(`--publish: port ${rule.port} is published twice (a client claims a port by its number)`);
    ports.add(rule.port);
    const a = parseAddress(rule.to.address)!;
    const to = `${rule.to.address}:${rule.to.port}`;
    if (prefixes.some((p) => p.version === a.version && sameAddress(p.bytes, a.bytes, 0))) {
      throw new RelayUsageError(`--publish ${rule.port}=${to}: ${rule.to.address} is the relay side's own --stack address; name the page's address`);
    }
    if (!prefixes.some((p) => prefixHolds(p, a.version, a.bytes, 0))) {
      throw new RelayUsageError(`--publish ${rule.port}=${to}: ${rule.to.address} is on no --stack prefix, so no client's link routes it`);
    }
  }
}

function usage(message: string): number {
  process.stderr.write(`tcpwasm relay: ${message}\n(tcpwasm help shows the usage)\n`);
  return 2;
}
