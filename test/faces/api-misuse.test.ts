// API misuse: what a careless caller does to every public entry. Each row is one
// wrong call with the code it must fail with (Node's codes: ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE,
// ERR_OUT_OF_RANGE, ...; node:net's own in the Node face, compared with real node:net where that is
// cheap), how it fails (a synchronous throw, a rejection, a rejected `opened`, an 'error' event) and
// the argument its message must name. The stacks the rows ran against must still carry a connection
// at the end (last tests). A handler that throws is reported once as an uncaught exception, as a
// throwing node:net listener is, and the stack goes on.
import { EventEmitter } from "node:events";
import * as realNet from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStack, type Stack, type StackConnection, type StackListener } from "../../src/tcp/stack.js";
import { PcapWriter, recordLink } from "../../src/tools/pcap.js";
import { openPcapFile } from "../../src/tools/pcap-file.js";
import { renderLadder } from "../../src/tools/ladder.js";
import { formatIpv4, loadWire, parseIpv4, type Wire } from "../../src/core/wire.js";
import { Engine } from "../../src/core/engine.js";
import { loadEngine, type CoreExports } from "../../src/core/loader.js";
import { TcpwasmError } from "../../src/core/errors.js";
import { bindNet, createServer, type BoundNet, type Socket } from "../../src/faces/node-net.js";
import { createMemoryLinkPair, type MemoryLink } from "../../src/net/memory-link.js";
import { StackPair, VirtualNet } from "../fixtures/stack-pair.js";
import { createUdpLink } from "../../src/net/udp-link.js";
import { TcpListener, TcpSocket } from "../../src/faces/web.js";
import { serveDns } from "../../src/services/serve-dns.js";
import { serveDhcp } from "../../src/services/serve-dhcp.js";
import { resolveHost } from "../../src/services/resolve-host.js";

const FAST = { rtoInitialMs: 50, rtoMinMs: 20, mslMs: 50 };
const A = "10.0.0.1";
const B = "10.0.0.2";
const ECHO_PORT = 7;
const NET_PORT = 8;

interface Env {
  a: Stack;
  b: Stack;
  la: MemoryLink;
  lb: MemoryLink;
  /** An established client connection to B's echo port. */
  conn: StackConnection;
  /** A stack allowed one connection, already holding it (the Web face at its connection limit). */
  full: Stack;
  /** A stack whose only link routes 10.0.0.0/24. */
  routed: Stack;
  net: BoundNet;
  wire: Wire;
  /** A Node-face server listening on B:NET_PORT. */
  server: ReturnType<BoundNet["createServer"]>;
}

type How = "throw" | "reject" | "opened" | "error";

interface Row {
  entry: string;
  call: (env: Env) => unknown;
  how: How;
  code: string;
  /** What the message must name: the argument (or, for network failures, the address). */
  names: string;
  /** The same misuse against real node:net, whose code must be the same. */
  node?: () => unknown;
  /** The error comes from node:stream itself (a Node error with the same code), not from tcpwasm. */
  nodeOwn?: boolean;
}

const u8 = new Uint8Array(4);
const sink = () => {};
const seg = { src: A, dst: B, srcPort: 1000, dstPort: 80 };

/** A fresh client socket on the Web face, opened. */
async function webWriter(env: Env) {
  const s = env.a.connect({ hostname: B, port: ECHO_PORT });
  const { writable } = await s.opened;
  return writable.getWriter();
}

const rows: Row[] = [
  // ---- createStack ----
  { entry: "createStack()", call: () => createStack(undefined as never), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "createStack({ addresses: [1] })", call: () => createStack({ addresses: [1 as never] }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.addresses[0]" },
  { entry: "createStack({ addresses: [] })", call: () => createStack({ addresses: [] }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.addresses" },
  { entry: "createStack({ addresses: string })", call: () => createStack({ addresses: "10.0.0.1/24" as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.addresses" },
  { entry: "createStack({ addresses: ['10.0.0.300/24'] })", call: () => createStack({ addresses: ["10.0.0.300/24"] }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.addresses[0]" },
  { entry: "createStack({ addresses: ['10.0.0.1/33'] })", call: () => createStack({ addresses: ["10.0.0.1/33"] }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.addresses[0]" },
  { entry: "createStack({ addresses: ['10.0.0.1/x'] })", call: () => createStack({ addresses: ["10.0.0.1/x"] }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.addresses[0]" },
  { entry: "createStack({ adresses }) (a typo)", call: () => createStack({ adresses: ["10.0.0.1/24"] } as never), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.adresses" },
  { entry: "createStack({ flavor: 'bogus' })", call: () => createStack({ addresses: ["10.0.0.1/24"], flavor: "bogus" as never }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.flavor" },
  { entry: "createStack({ config: { txRegion: 2**31 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { txRegion: 2 ** 31 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.txRegion" },
  { entry: "createStack({ config: { rxRegion: 3 * 2**30 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { rxRegion: 3 * 2 ** 30 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.rxRegion" },
  { entry: "createStack({ config: { controlQueue: 2**30 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { controlQueue: 2 ** 30 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.controlQueue" },
  { entry: "createStack: inverted ephemeral range", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { ephemeralLow: 60000, ephemeralHigh: 50000 } }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "config.ephemeralLow" },
  { entry: "createStack: ephemeralLow above the default high", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { ephemeralLow: 65535 + 1 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.ephemeralLow" },
  { entry: "createStack({ config: { ephemeralLow: 0 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { ephemeralLow: 0 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.ephemeralLow" },
  { entry: "createStack({ config: { bogusKey } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { bogusKey: 1 } as never }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "config.bogusKey" },
  { entry: "createStack({ config: { mtu: '1500' } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { mtu: "1500" as never } }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "config.mtu" },
  { entry: "createStack({ config: { sendBuffer: 100 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { sendBuffer: 100 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.sendBuffer" },
  { entry: "createStack({ config: { maxConnections: 0 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { maxConnections: 0 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.maxConnections" },
  { entry: "createStack({ config: { delayedAckMs: 500 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { delayedAckMs: 500 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.delayedAckMs" },
  { entry: "createStack({ config: { timestamps: 'yes' } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { timestamps: "yes" as never } }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "config.timestamps" },
  { entry: "createStack({ config: { rtoMinMs: NaN } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { rtoMinMs: Number.NaN } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.rtoMinMs" },
  { entry: "createStack({ config: { congestionControl: 'bbr' } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { congestionControl: "bbr" as never } }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "config.congestionControl" },
  { entry: "createStack({ config: { congestionControl: 1 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { congestionControl: 1 as never } }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "config.congestionControl" },
  { entry: "createStack({ config: { memoryLimit: -1 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: { memoryLimit: -1 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.memoryLimit" },
  { entry: "createStack({ config: 42 })", call: () => createStack({ addresses: ["10.0.0.1/24"], config: 42 as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.config" },
  { entry: "createStack({ secret: 16 bytes })", call: () => createStack({ addresses: ["10.0.0.1/24"], secret: new Uint8Array(16) }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.secret" },
  { entry: "createStack({ secret: 'x' })", call: () => createStack({ addresses: ["10.0.0.1/24"], secret: "x" as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.secret" },
  { entry: "createStack({ now: 5 })", call: () => createStack({ addresses: ["10.0.0.1/24"], now: 5 as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.now" },
  { entry: "createStack({ timers: {} })", call: () => createStack({ addresses: ["10.0.0.1/24"], timers: {} as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.timers.setTimeout" },
  { entry: "createStack({ trace: true })", call: () => createStack({ addresses: ["10.0.0.1/24"], trace: true as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.trace" },
  { entry: "createStack({ dns: {} })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: {} }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.dns" },
  { entry: "createStack({ dns: { resolve: 42 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: { resolve: 42 as never } }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.dns.resolve" },
  { entry: "createStack({ dns: { servers: ['dns.example'] } })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: { servers: ["dns.example"] } }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.dns.servers[0]" },
  { entry: "createStack({ dns: { servers: [] } })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: { servers: [] } }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.dns.servers" },
  { entry: "createStack({ dns: { servers, resolve } })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: { servers: ["10.0.0.53"], resolve: async () => [] } }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.dns" },
  { entry: "createStack({ dns: 'x' })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: "x" as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.dns" },
  { entry: "createStack({ dns: { timeoutMs: 0 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: { resolve: async () => [], timeoutMs: 0 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "options.dns.timeoutMs" },
  { entry: "createStack({ dns: { attempts: 1.5 } })", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: { resolve: async () => [], attempts: 1.5 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "options.dns.attempts" },
  { entry: "createStack({ dns: { resolver } }) (a typo)", call: () => createStack({ addresses: ["10.0.0.1/24"], dns: { resolve: async () => [], resolver: 1 } as never }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.dns.resolver" },
  { entry: "createStack({ name: 42 })", call: () => createStack({ addresses: ["10.0.0.1/24"], name: 42 as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.name" },

  // ---- Engine, loadEngine, loadWire ----
  { entry: "Engine.create({ config: { txRegion: 2**31 } })", call: () => Engine.create({ config: { txRegion: 2 ** 31 } }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "config.txRegion" },
  { entry: "Engine.create({ secret: 31 bytes })", call: () => Engine.create({ secret: new Uint8Array(31) }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.secret" },
  { entry: "Engine.create({ flavor: 'fast' })", call: () => Engine.create({ flavor: "fast" as never }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.flavor" },
  { entry: "loadEngine({ flavor: 'bogus' })", call: () => loadEngine({ flavor: "bogus" as never }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.flavor" },
  { entry: "loadEngine(42)", call: () => loadEngine(42 as never), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "loadWire({ flavor: 7 })", call: () => loadWire({ flavor: 7 as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.flavor" },

  // ---- Stack.attach ----
  { entry: "attach(null)", call: (e) => e.a.attach(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "link" },
  { entry: "attach({})", call: (e) => e.a.attach({} as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "link.send" },
  { entry: "attach(link, 42)", call: (e) => e.a.attach(createMemoryLinkPair()[0], 42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "attach(link, { routes: string })", call: (e) => e.a.attach(createMemoryLinkPair()[0], { routes: "10.0.0.0/8" as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.routes" },
  { entry: "attach(link, { routes: ['bogus'] })", call: (e) => e.a.attach(createMemoryLinkPair()[0], { routes: ["bogus"] }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.routes[0]" },
  { entry: "attach(link, { route }) (a typo)", call: (e) => e.a.attach(createMemoryLinkPair()[0], { route: [] } as never), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.route" },
  { entry: "attach(the same link twice)", call: (e) => e.a.attach(e.la), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "link" },
  { entry: "attach({ framing: 'tap' })", call: (e) => e.a.attach({ ...createMemoryLinkPair()[0], send() {}, onReceive() {}, close() {}, framing: "tap" as never }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "link.framing" },
  { entry: "attach(raw-IP link, { mac })", call: (e) => e.a.attach(createMemoryLinkPair()[0], { mac: "02:00:00:00:00:01" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.mac" },
  { entry: "attach(Ethernet link, { mac: group })", call: (e) => e.a.attach(createMemoryLinkPair({ framing: "ethernet" })[0], { mac: "01:00:5e:00:00:01" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.mac" },
  { entry: "attach(Ethernet link, { mac: 42 })", call: (e) => e.a.attach(createMemoryLinkPair({ framing: "ethernet" })[0], { mac: 42 as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.mac" },
  { entry: "attach(Ethernet link, { gateway: off-link })", call: (e) => e.a.attach(createMemoryLinkPair({ framing: "ethernet" })[0], { gateway: "192.0.2.1" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.gateway" },
  { entry: "attach(Ethernet link, { router: 1 })", call: (e) => e.a.attach(createMemoryLinkPair({ framing: "ethernet" })[0], { router: 1 as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.router" },
  { entry: "attach(link, { routes: 9 prefixes })", call: (e) => e.a.attach(createMemoryLinkPair()[0], { routes: Array.from({ length: 9 }, (_, i) => `10.${i}.0.0/16`) }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.routes" },

  // ---- Stack.openConnection ----
  { entry: "openConnection()", call: (e) => e.a.openConnection(undefined as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "openConnection({ remote: 42 })", call: (e) => e.a.openConnection({ remote: 42 as never, remotePort: 80 }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.remote" },
  { entry: "openConnection({ remote: 'example.com' })", call: (e) => e.a.openConnection({ remote: "example.com", remotePort: 80 }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.remote" },
  { entry: "openConnection({ remotePort: 0 })", call: (e) => e.a.openConnection({ remote: B, remotePort: 0 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.remotePort" },
  { entry: "openConnection({ remotePort: 70000 })", call: (e) => e.a.openConnection({ remote: B, remotePort: 70000 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.remotePort" },
  { entry: "openConnection({ remotePort: '80' })", call: (e) => e.a.openConnection({ remote: B, remotePort: "80" as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.remotePort" },
  { entry: "openConnection({ remotePort: 1.5 })", call: (e) => e.a.openConnection({ remote: B, remotePort: 1.5 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.remotePort" },
  { entry: "openConnection({ local: not the stack's })", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, local: "10.0.0.9" }), how: "throw", code: "EADDRNOTAVAIL", names: "options.local" },
  { entry: "openConnection({ local: IPv6 for an IPv4 remote })", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, local: "fd00::1" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.local" },
  { entry: "openConnection({ localPort: -1 })", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, localPort: -1 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.localPort" },
  { entry: "openConnection({ noDelay: 'yes' })", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, noDelay: "yes" as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.noDelay" },
  { entry: "openConnection({ sendBuffer: 10 })", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, sendBuffer: 10 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.sendBuffer" },
  { entry: "openConnection({ keepaliveIdleMs: 0 })", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, keepaliveIdleMs: 0 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.keepaliveIdleMs" },
  { entry: "openConnection({ congestionControl: 'reno' })", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, congestionControl: "reno" as never }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.congestionControl" },
  { entry: "openConnection({ nodelay }) (a typo)", call: (e) => e.a.openConnection({ remote: B, remotePort: ECHO_PORT, nodelay: true } as never), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.nodelay" },
  { entry: "openConnection to a destination no link routes", call: (e) => e.routed.openConnection({ remote: "192.168.7.7", remotePort: ECHO_PORT }), how: "throw", code: "EHOSTUNREACH", names: "192.168.7.7" },
  { entry: "openConnection to an IP version the stack has no address of", call: (e) => e.b.openConnection({ remote: "fd00::1", remotePort: ECHO_PORT }), how: "throw", code: "EADDRNOTAVAIL", names: "IPv6" },

  // ---- Stack.openListener ----
  { entry: "openListener({ port }) without a callback", call: (e) => e.b.openListener({ port: 9 }, undefined as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "onConnection" },
  { entry: "openListener({ port }, 'cb')", call: (e) => e.b.openListener({ port: 9 }, "cb" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "onConnection" },
  { entry: "openListener({ congestionControl: 'CUBIC' })", call: (e) => e.b.openListener({ port: 9, congestionControl: "CUBIC" as never }, sink), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.congestionControl" },
  { entry: "openListener()", call: (e) => e.b.openListener(undefined as never, sink), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "openListener({ port: 0 })", call: (e) => e.b.openListener({ port: 0 }, sink), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.port" },
  { entry: "openListener({ port: '80' })", call: (e) => e.b.openListener({ port: "80" as never }, sink), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.port" },
  { entry: "openListener({ address: not the stack's })", call: (e) => e.b.openListener({ port: 9, address: "10.0.0.9" }, sink), how: "throw", code: "EADDRNOTAVAIL", names: "options.address" },
  { entry: "openListener({ address: 'bogus' })", call: (e) => e.b.openListener({ port: 9, address: "bogus" }, sink), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.address" },
  { entry: "openListener({ backlog: -1 })", call: (e) => e.b.openListener({ port: 9, backlog: -1 }, sink), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.backlog" },
  { entry: "openListener on a port in use", call: (e) => e.b.openListener({ port: ECHO_PORT }, sink), how: "throw", code: "EADDRINUSE", names: "port" },

  // ---- StackConnection ----
  { entry: "conn.write(42)", call: (e) => e.conn.write(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "bytes" },
  { entry: "conn.write('text')", call: (e) => e.conn.write("text" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "bytes" },
  { entry: "conn.write(null)", call: (e) => e.conn.write(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "bytes" },
  { entry: "conn.setKeepAlive('yes')", call: (e) => e.conn.setKeepAlive("yes" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "enable" },
  { entry: "conn.setKeepAlive(true, -5)", call: (e) => e.conn.setKeepAlive(true, -5), how: "throw", code: "ERR_OUT_OF_RANGE", names: "idleMs" },
  { entry: "conn.setUserTimeout(-1)", call: (e) => e.conn.setUserTimeout(-1), how: "throw", code: "ERR_OUT_OF_RANGE", names: "ms" },
  { entry: "conn.setNoDelay('x')", call: (e) => e.conn.setNoDelay("x" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "noDelay" },
  { entry: "conn.setOptions({ bogus: 1 })", call: (e) => e.conn.setOptions({ bogus: 1 } as never), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.bogus" },
  { entry: "conn.setOptions({ congestionControl: 'cubic' }) once open", call: (e) => e.conn.setOptions({ congestionControl: "cubic" }), how: "throw", code: "EINVAL", names: "congestionControl" },
  { entry: "conn.setOptions(null)", call: (e) => e.conn.setOptions(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },

  // ---- the Web face ----
  { entry: "stack.connect()", call: (e) => e.a.connect(undefined as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "connect({ hostname: 42 })", call: (e) => e.a.connect({ hostname: 42 as never, port: ECHO_PORT }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.hostname" },
  { entry: "connect({ hostname }) without a port", call: (e) => e.a.connect({ hostname: B } as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.port" },
  { entry: "connect({ port: 0 })", call: (e) => e.a.connect({ hostname: B, port: 0 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.port" },
  { entry: "connect({ hostname: 'example.com' }) (no resolver)", call: (e) => e.a.connect({ hostname: "example.com", port: 80 }), how: "opened", code: "ENOTFOUND", names: "example.com" },
  { entry: "connect({ hostname: '' })", call: (e) => e.a.connect({ hostname: "", port: 80 }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.hostname" },
  { entry: "connect({ hostname: name, localAddress: 'bogus' })", call: (e) => e.a.connect({ hostname: "example.com", port: 80, localAddress: "bogus" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.localAddress" },
  { entry: "connect({ noDelay: 1 })", call: (e) => e.a.connect({ hostname: B, port: ECHO_PORT, noDelay: 1 as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.noDelay" },
  { entry: "connect({ keepAliveDelay: -1 })", call: (e) => e.a.connect({ hostname: B, port: ECHO_PORT, keepAliveDelay: -1 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.keepAliveDelay" },
  { entry: "connect({ readableHighWaterMark: -1 })", call: (e) => e.a.connect({ hostname: B, port: ECHO_PORT, readableHighWaterMark: -1 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.readableHighWaterMark" },
  { entry: "connect({ receiveBufferSize: 1.5 })", call: (e) => e.a.connect({ hostname: B, port: ECHO_PORT, receiveBufferSize: 1.5 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.receiveBufferSize" },
  { entry: "connect({ host }) (node:net's name)", call: (e) => e.a.connect({ host: B, port: ECHO_PORT } as never), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.host" },
  { entry: "connect({ localAddress: not the stack's })", call: (e) => e.a.connect({ hostname: B, port: ECHO_PORT, localAddress: "10.0.0.9" }), how: "opened", code: "EADDRNOTAVAIL", names: "options.localAddress" },
  { entry: "connect() at the connection limit", call: (e) => e.full.connect({ hostname: B, port: ECHO_PORT }), how: "opened", code: "ENOBUFS", names: "ENOBUFS" },
  { entry: "connect() to a destination no link routes", call: (e) => e.routed.connect({ hostname: "192.168.7.7", port: ECHO_PORT }), how: "opened", code: "EHOSTUNREACH", names: "192.168.7.7" },
  { entry: "stack.listen()", call: (e) => e.b.listen(undefined as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "listen({ port: '7' })", call: (e) => e.b.listen({ port: "7" as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.port" },
  { entry: "listen({ backlog: 1.5 })", call: (e) => e.b.listen({ port: 10, backlog: 1.5 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.backlog" },
  { entry: "listen({ hostname: not the stack's })", call: (e) => e.b.listen({ port: 10, hostname: "10.0.0.9" }), how: "opened", code: "EADDRNOTAVAIL", names: "options.hostname" },
  { entry: "listen on a port in use", call: (e) => e.b.listen({ port: ECHO_PORT }), how: "opened", code: "EADDRINUSE", names: "port" },
  { entry: "writer.write(42)", call: async (e) => (await webWriter(e)).write(42 as never), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "chunk" },
  { entry: "writer.write('text')", call: async (e) => (await webWriter(e)).write("text" as never), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "chunk" },

  // ---- the Node face ----
  { entry: "bindNet(null)", call: () => bindNet(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "stack" },
  { entry: "bindNet({})", call: () => bindNet({} as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "stack" },
  { entry: "createServer(null) (tcpwasm/node)", call: () => createServer(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "stack" },
  { entry: "net.connect()", call: (e) => (e.net.connect as () => unknown)(), how: "throw", code: "ERR_MISSING_ARGS", names: "port", node: () => (realNet.connect as () => unknown)() },
  { entry: "net.connect({ host }) without a port", call: (e) => e.net.connect({ host: B } as never), how: "throw", code: "ERR_MISSING_ARGS", names: "options.port", node: () => realNet.connect({ host: "127.0.0.1" } as never) },
  { entry: "net.connect({ port: -1 })", call: (e) => e.net.connect({ host: B, port: -1 }), how: "throw", code: "ERR_SOCKET_BAD_PORT", names: "options.port", node: () => realNet.connect({ host: "127.0.0.1", port: -1 }) },
  { entry: "net.connect({ port: 70000 })", call: (e) => e.net.connect({ host: B, port: 70000 }), how: "throw", code: "ERR_SOCKET_BAD_PORT", names: "options.port", node: () => realNet.connect({ host: "127.0.0.1", port: 70000 }) },
  { entry: "net.connect({ port: 'x' })", call: (e) => e.net.connect({ host: B, port: "x" as never }), how: "throw", code: "ERR_SOCKET_BAD_PORT", names: "options.port", node: () => realNet.connect({ host: "127.0.0.1", port: "x" as never }) },
  { entry: "net.connect({ port: 1.5 })", call: (e) => e.net.connect({ host: B, port: 1.5 }), how: "throw", code: "ERR_SOCKET_BAD_PORT", names: "options.port", node: () => realNet.connect({ host: "127.0.0.1", port: 1.5 }) },
  { entry: "net.connect({ host: 42 })", call: (e) => e.net.connect({ host: 42 as never, port: NET_PORT }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.host", node: () => realNet.connect({ host: 42 as never, port: 1 }) },
  { entry: "net.connect({ localAddress: 'bogus' })", call: (e) => e.net.connect({ host: B, port: NET_PORT, localAddress: "bogus" }), how: "throw", code: "ERR_INVALID_IP_ADDRESS", names: "options.localAddress", node: () => realNet.connect({ host: "127.0.0.1", port: 1, localAddress: "bogus" }) },
  { entry: "net.connect({ localPort: 'x' })", call: (e) => e.net.connect({ host: B, port: NET_PORT, localPort: "x" as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.localPort", node: () => realNet.connect({ host: "127.0.0.1", port: 1, localPort: "x" as never }) },
  { entry: "net.connect({ timeout: -1 })", call: (e) => e.net.connect({ host: B, port: NET_PORT, timeout: -1 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.timeout", node: () => realNet.connect({ host: "127.0.0.1", port: 1, timeout: -1 }) },
  { entry: "net.connect({ keepAliveInitialDelay: 'x' })", call: (e) => e.net.connect({ host: B, port: NET_PORT, keepAlive: true, keepAliveInitialDelay: "x" as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.keepAliveInitialDelay", node: () => realNet.connect({ host: "127.0.0.1", port: 1, keepAlive: true, keepAliveInitialDelay: "x" as never }) },
  { entry: "net.connect({ family: 5 })", call: (e) => e.net.connect({ host: "example.com", port: NET_PORT, family: 5 }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.family", node: () => realNet.connect({ host: "example.com", port: 1, family: 5 }) },
  { entry: "net.connect({ lookup: 42 })", call: (e) => e.net.connect({ host: "example.com", port: NET_PORT, lookup: 42 as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.lookup", node: () => realNet.connect({ host: "example.com", port: 1, lookup: 42 as never }) },
  { entry: "net.connect({ hints: 'x' })", call: (e) => e.net.connect({ host: "example.com", port: NET_PORT, hints: "x" as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.hints", node: () => realNet.connect({ host: "example.com", port: 1, hints: "x" as never }) },
  { entry: "net.connect({ host: 'example.com' }) (no resolver)", call: (e) => e.net.connect({ host: "example.com", port: NET_PORT }), how: "error", code: "ENOTFOUND", names: "example.com" },
  { entry: "net.connect({ localAddress: not the stack's })", call: (e) => e.net.connect({ host: B, port: NET_PORT, localAddress: "10.0.0.9" }), how: "error", code: "EADDRNOTAVAIL", names: "10.0.0.9" },
  { entry: "socket.setTimeout(-1)", call: (e) => new e.net.Socket().setTimeout(-1), how: "throw", code: "ERR_OUT_OF_RANGE", names: "msecs", node: () => new realNet.Socket().setTimeout(-1) },
  { entry: "socket.setTimeout('x')", call: (e) => new e.net.Socket().setTimeout("x" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "msecs", node: () => new realNet.Socket().setTimeout("x" as never) },
  { entry: "socket.setTimeout(NaN)", call: (e) => new e.net.Socket().setTimeout(Number.NaN), how: "throw", code: "ERR_OUT_OF_RANGE", names: "msecs", node: () => new realNet.Socket().setTimeout(Number.NaN) },
  { entry: "socket.setTimeout(Infinity)", call: (e) => new e.net.Socket().setTimeout(Infinity), how: "throw", code: "ERR_OUT_OF_RANGE", names: "msecs", node: () => new realNet.Socket().setTimeout(Infinity) },
  { entry: "socket.setTimeout(1, 'x')", call: (e) => new e.net.Socket().setTimeout(1, "x" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "callback", node: () => new realNet.Socket().setTimeout(1, "x" as never) },
  { entry: "socket.write(42)", call: (e) => new e.net.Socket().write(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "chunk", nodeOwn: true, node: () => new realNet.Socket().write(42 as never) },
  { entry: "socket.write(new ArrayBuffer(8))", call: (e) => new e.net.Socket().write(new ArrayBuffer(8) as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "chunk", nodeOwn: true, node: () => new realNet.Socket().write(new ArrayBuffer(8) as never) },
  { entry: "socket.end(42)", call: (e) => new e.net.Socket().end(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "chunk", nodeOwn: true, node: () => new realNet.Socket().end(42 as never) },
  { entry: "new Socket(42)", call: (e) => new e.net.Socket(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "net.createServer(42)", call: (e) => e.net.createServer(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options", node: () => realNet.createServer(42 as never) },
  { entry: "server.listen(-1)", call: (e) => e.net.createServer().listen(-1), how: "throw", code: "ERR_SOCKET_BAD_PORT", names: "options.port", node: () => realNet.createServer().listen(-1) },
  { entry: "server.listen(70000)", call: (e) => e.net.createServer().listen(70000), how: "throw", code: "ERR_SOCKET_BAD_PORT", names: "options.port", node: () => realNet.createServer().listen(70000) },
  { entry: "server.listen({ port: 'x' })", call: (e) => e.net.createServer().listen({ port: "x" }), how: "throw", code: "ERR_SOCKET_BAD_PORT", names: "options.port", node: () => realNet.createServer().listen({ port: "x" as never }) },
  { entry: "server.listen({})", call: (e) => e.net.createServer().listen({}), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options", node: () => realNet.createServer().listen({}) },
  { entry: "server.listen({ host: 42 })", call: (e) => e.net.createServer().listen({ port: 11, host: 42 }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.host", node: () => realNet.createServer().listen({ port: 0, host: 42 as never }) },
  { entry: "server.listen() twice", call: (e) => e.server.listen(12), how: "throw", code: "ERR_SERVER_ALREADY_LISTEN", names: "Listen" },
  { entry: "server.getConnections(42)", call: (e) => e.server.getConnections(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "callback", node: () => realNet.createServer().getConnections(42 as never) },
  { entry: "server.listen({ host: not the stack's })", call: (e) => e.net.createServer().listen({ port: 11, host: "10.0.0.9" }), how: "error", code: "EADDRNOTAVAIL", names: "10.0.0.9" },

  // ---- services ----
  { entry: "resolveHost(null, name)", call: () => resolveHost(null as never, "example.com"), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "stack" },
  { entry: "resolveHost(stack, name, 5)", call: (e) => resolveHost(e.a, "example.com", 5 as never), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "family" },
  { entry: "serveDns(null)", call: () => serveDns(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "stack" },
  { entry: "serveDns(stack, { port: 0 })", call: (e) => serveDns(e.b, { port: 0 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.port" },
  { entry: "serveDns(stack, { lookup: 42 })", call: (e) => serveDns(e.b, { port: 5353, lookup: 42 as never }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.lookup" },
  { entry: "serveDns(stack, { maxPendingQueries: 0 })", call: (e) => serveDns(e.b, { maxPendingQueries: 0 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.maxPendingQueries" },
  { entry: "serveDns(stack, { adress }) (a typo)", call: (e) => serveDns(e.b, { adress: B } as never), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.adress" },
  { entry: "serveDns on a TCP port in use", call: (e) => serveDns(e.b, { port: ECHO_PORT }), how: "throw", code: "EADDRINUSE", names: String(ECHO_PORT) },

  { entry: "serveDhcp(null, options)", call: () => serveDhcp(null as never, {} as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "stack" },
  { entry: "serveDhcp(stack) without options", call: (e) => serveDhcp(e.b, undefined as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "serveDhcp(stack, { link: raw IP })", call: (e) => serveDhcp(e.b, { link: e.lb, serverAddress: B, pool: "10.0.0.100-10.0.0.120", subnet: "10.0.0.0/24" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.link" },
  { entry: "serveDhcp(stack, { link: not attached })", call: (e) => serveDhcp(e.b, { link: createMemoryLinkPair({ framing: "ethernet" })[0], serverAddress: B, pool: "10.0.0.100-10.0.0.120", subnet: "10.0.0.0/24" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.link" },
  { entry: "serveDhcp(stack, { pool: 'x' })", call: (e) => serveDhcp(e.b, { link: createMemoryLinkPair({ framing: "ethernet" })[0], serverAddress: B, pool: "x" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.pool" },

  // ---- links ----
  { entry: "createMemoryLinkPair(42)", call: () => createMemoryLinkPair(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "createMemoryLinkPair({ loss: 2 })", call: () => createMemoryLinkPair({ loss: 2 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.loss" },
  { entry: "createMemoryLinkPair({ lossy }) (a typo)", call: () => createMemoryLinkPair({ lossy: 0.1 } as never), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.lossy" },
  { entry: "createMemoryLinkPair({ framing: 'tap' })", call: () => createMemoryLinkPair({ framing: "tap" as never }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.framing" },
  { entry: "createMemoryLinkPair({ clock: 'fast' })", call: () => createMemoryLinkPair({ clock: "fast" as never }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.clock" },
  { entry: "createMemoryLinkPair({ aToB: { delay: '5' } })", call: () => createMemoryLinkPair({ aToB: { delay: "5" as never } }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.aToB.delay" },
  { entry: "createMemoryLinkPair({ corruptBits: 1.5 })", call: () => createMemoryLinkPair({ corruptBits: 1.5 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.corruptBits" },
  { entry: "link.send(42)", call: () => createMemoryLinkPair()[0].send(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "packets" },
  { entry: "link.send([42])", call: () => createMemoryLinkPair()[0].send([42 as never]), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "packets[0]" },
  { entry: "link.onReceive(null)", call: () => createMemoryLinkPair()[0].onReceive(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "handler" },
  { entry: "createUdpLink()", call: () => createUdpLink(undefined as never), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options" },
  { entry: "createUdpLink({})", call: () => createUdpLink({} as never), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.peer" },
  { entry: "createUdpLink({ peer: 'nohost' })", call: () => createUdpLink({ peer: "nohost" }), how: "reject", code: "ERR_INVALID_ARG_VALUE", names: "options.peer" },
  { entry: "createUdpLink({ peer: port 70000 })", call: () => createUdpLink({ peer: "127.0.0.1:70000" }), how: "reject", code: "ERR_OUT_OF_RANGE", names: "options.peer.port" },
  { entry: "createUdpLink({ socket: 5 })", call: () => createUdpLink({ peer: "127.0.0.1:9", socket: 5 as never }), how: "reject", code: "ERR_INVALID_ARG_TYPE", names: "options.socket" },
  { entry: "recordLink(null, sink)", call: () => recordLink(null as never, sink), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "link" },
  { entry: "recordLink(link, 42)", call: () => recordLink(createMemoryLinkPair()[0], 42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "sink" },

  // ---- pcap, ladder ----
  { entry: "new PcapWriter(null)", call: () => new PcapWriter(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "sink" },
  { entry: "new PcapWriter(sink, { snaplen: 0 })", call: () => new PcapWriter(sink, { snaplen: 0 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.snaplen" },
  { entry: "new PcapWriter(sink, { framing: 'tap' })", call: () => new PcapWriter(sink, { framing: "tap" as never }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "options.framing" },
  { entry: "recordLink(raw-IP link, Ethernet writer)", call: () => recordLink(createMemoryLinkPair()[0], new PcapWriter(sink, { framing: "ethernet" })), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "framing" },
  { entry: "pcapWriter.write('x')", call: () => new PcapWriter(sink).write("x" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "packet" },
  { entry: "openPcapFile(42)", call: () => openPcapFile(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "path" },
  { entry: "renderLadder(null, ...)", call: () => renderLadder(null as never, { left: "a", right: "b" }), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "events" },
  { entry: "renderLadder([], {})", call: () => renderLadder([], {} as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "options.left" },
  { entry: "renderLadder([], { width: -3 })", call: () => renderLadder([], { left: "a", right: "b", width: -3 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "options.width" },

  // ---- loadWire's helpers ----
  { entry: "wire.checksum('abc')", call: (e) => e.wire.checksum("abc" as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "bytes" },
  { entry: "wire.checksum(bytes, -1)", call: (e) => e.wire.checksum(u8, -1), how: "throw", code: "ERR_OUT_OF_RANGE", names: "initial" },
  { entry: "wire.parsePacket(new ArrayBuffer(40))", call: (e) => e.wire.parsePacket(new ArrayBuffer(40) as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "bytes" },
  { entry: "wire.encodePacket(null)", call: (e) => e.wire.encodePacket(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "fields" },
  { entry: "wire.encodePacket: mixed IP versions", call: (e) => e.wire.encodePacket({ ...seg, dst: "fd00::1" }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "fields.dst" },
  { entry: "wire.encodePacket({ srcPort: 70000 })", call: (e) => e.wire.encodePacket({ ...seg, srcPort: 70000 }), how: "throw", code: "ERR_OUT_OF_RANGE", names: "fields.srcPort" },
  { entry: "wire.encodePacket({ flags: { bogus } })", call: (e) => e.wire.encodePacket({ ...seg, flags: { syn: true, bogus: true } as never }), how: "throw", code: "ERR_INVALID_ARG_VALUE", names: "fields.flags.bogus" },
  { entry: "parseIpv4(42)", call: () => parseIpv4(42 as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "text" },
  { entry: "formatIpv4(null)", call: () => formatIpv4(null as never), how: "throw", code: "ERR_INVALID_ARG_TYPE", names: "bytes" },
];

/** How a call failed: thrown, rejected, a rejected `opened`, an 'error' event; or not at all. */
async function outcome(run: () => unknown): Promise<{ how: How | "none"; error?: unknown }> {
  let r: unknown;
  try {
    r = run();
  } catch (error) {
    return { how: "throw", error };
  }
  if (r instanceof TcpSocket || r instanceof TcpListener) {
    try {
      await r.opened;
    } catch (error) {
      return { how: "opened", error };
    }
    return { how: "none" };
  }
  if (r instanceof EventEmitter) {
    const error = await new Promise((resolve) => r.once("error", resolve));
    return { how: "error", error };
  }
  if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
    try {
      await r;
    } catch (error) {
      return { how: "reject", error };
    }
  }
  return { how: "none" };
}

function connected(stack: Stack, port: number): Promise<StackConnection> {
  return new Promise((resolve, reject) => {
    const c = stack.openConnection({ remote: B, remotePort: port });
    c.onConnect = () => resolve(c);
    c.onClose = (e) => reject(e ?? new Error("closed before connecting"));
  });
}

/** Writes `text` on a stack connection to B's echo port and resolves with what comes back. */
async function echoOnce(stack: Stack, text: string): Promise<string> {
  const c = await connected(stack, ECHO_PORT);
  return new Promise((resolve) => {
    let got = "";
    c.onData = (chunk) => (got += new TextDecoder().decode(chunk));
    c.onEnd = () => c.end();
    c.onClose = () => resolve(got);
    c.write(new TextEncoder().encode(text));
    c.end();
  });
}

let env: Env;
let echo: StackListener;
let clear = 0;

beforeAll(async () => {
  // The real clock: some rows fail asynchronously, and the Node face's rows compare with node:net.
  const pair = await StackPair.create({ clock: "real", flavor: "auto", config: FAST, addresses: { a: [`${A}/24`, "fd00::1/64"], b: [`${B}/24`] } });
  const { a, b, la, lb } = pair;
  echo = b.openListener({ port: ECHO_PORT }, (c) => {
    c.onData = (chunk) => c.write(chunk);
    c.onEnd = () => c.end();
  });
  const conn = await connected(a, ECHO_PORT);
  const full = await createStack({ addresses: ["10.0.0.3/24"], config: { ...FAST, maxConnections: 1 } });
  full.attach(createMemoryLinkPair()[0]);
  full.openConnection({ remote: B, remotePort: ECHO_PORT });
  const routed = await createStack({ addresses: ["10.0.0.4/24"], config: FAST });
  routed.attach(createMemoryLinkPair()[0], { routes: ["10.0.0.0/24"] });
  const server = bindNet(b).createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(NET_PORT, resolve));
  env = { a, b, la, lb, conn, full, routed, net: bindNet(a), wire: await loadWire({ flavor: "debug" }), server };
});

afterAll(() => {
  console.log(`${clear} of ${rows.length} API misuses clear`);
  env.full.close();
  env.routed.close();
  env.server.close();
  env.a.close();
  env.b.close();
});

describe("API misuse: every wrong call fails clearly", () => {
  it(`has at least 91 distinct rows (${rows.length}), each a different call`, () => {
    expect(rows.length).toBeGreaterThanOrEqual(91);
    expect(new Set(rows.map((r) => r.entry)).size).toBe(rows.length);
  });

  for (const row of rows) {
    it(`${row.entry} -> ${row.how === "throw" ? "" : `${row.how} `}${row.code}, naming ${row.names}`, async () => {
      const r = await outcome(() => row.call(env));
      expect(r.how).toBe(row.how);
      const error = r.error as TcpwasmError;
      if (!row.nodeOwn) expect(error).toBeInstanceOf(TcpwasmError);
      expect(error.code).toBe(row.code);
      expect(error.message).toContain(row.names);
      if (row.node) {
        const n = await outcome(row.node);
        expect(n.how).toBe("throw");
        expect((n.error as NodeJS.ErrnoException).code).toBe(row.code);
      }
      expect(env.a.isClosed || env.b.isClosed).toBe(false);
      clear++;
    });
  }
});

describe("what a careless caller does leaves the stacks working", () => {
  it("write() takes an ArrayBuffer and every ArrayBufferView by its bytes", async () => {
    const c = await connected(env.a, ECHO_PORT);
    const chunks: number[] = [];
    const done = new Promise<void>((resolve) => {
      c.onData = (chunk) => chunks.push(...chunk);
      c.onEnd = () => c.end();
      c.onClose = () => resolve();
    });
    const ab = new Uint8Array([1, 2]).buffer;
    const dv = new DataView(new Uint8Array([9, 3, 4, 9]).buffer, 1, 2);
    const i16 = new Int16Array([0x0605]);
    const f32 = new Float32Array(new Uint8Array([7, 8, 9, 10]).buffer);
    expect([c.write(ab), c.write(dv), c.write(i16), c.write(f32)]).toEqual([2, 2, 2, 4]);
    c.end();
    await done;
    expect(chunks).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("the Web face's writer takes an ArrayBuffer and a DataView", async () => {
    const s = env.a.connect({ hostname: B, port: ECHO_PORT });
    const { readable, writable } = await s.opened;
    const w = writable.getWriter();
    await w.write(new Uint8Array([1, 2]).buffer as never);
    await w.write(new DataView(new Uint8Array([3]).buffer) as never);
    await w.close();
    const got: number[] = [];
    for await (const chunk of readable) got.push(...chunk);
    expect(got).toEqual([1, 2, 3]);
  });

  it("a refused connect() throws nothing synchronously: its socket's closed rejects too", async () => {
    const s = env.full.connect({ hostname: B, port: ECHO_PORT });
    await expect(s.closed).rejects.toMatchObject({ code: "ENOBUFS" });
    expect(() => s.connection).toThrowError(expect.objectContaining({ code: "ENOBUFS" }));
  });

  it("openConnection({ local }) with an address the stack does not own sends no spoofed SYN", async () => {
    const net = new VirtualNet();
    const [mine, peer] = net.linkPair();
    let seen = 0;
    peer.onReceive((packets) => (seen += packets.length));
    const x = await net.stack({ addresses: ["10.0.0.5/24"], config: FAST });
    x.attach(mine);
    expect(() => x.openConnection({ remote: B, remotePort: ECHO_PORT, local: "10.0.0.77" })).toThrowError(
      expect.objectContaining({ code: "EADDRNOTAVAIL" }),
    );
    await net.advance(20);
    expect([seen, x.counters().segmentsOut]).toEqual([0, 0]);
    x.close();
  });

  it("a handler that throws surfaces once as an uncaught exception; the batch and the stack go on", async () => {
    // node:net's behaviour: a throwing 'connection' or 'data' listener is the process's uncaught
    // exception. The stack must not lose or replay the other events of the batch it was dispatching.
    const saved = process.listeners("uncaughtException");
    process.removeAllListeners("uncaughtException");
    const uncaught: unknown[] = [];
    process.on("uncaughtException", (e) => uncaught.push(e));
    try {
      let accepted = 0;
      const listener = env.b.openListener({ port: 20 }, (c) => {
        accepted++;
        c.onData = (chunk) => {
          c.write(chunk);
          if (chunk[0] === 0x21) throw new Error("data handler bug");
        };
        c.onEnd = () => c.end();
        if (accepted === 1) throw new Error("connection handler bug");
      });
      const run = async (payload: string) => {
        const c = await connected(env.a, 20);
        return new Promise<string>((resolve) => {
          let got = "";
          c.onData = (chunk) => (got += new TextDecoder().decode(chunk));
          c.onEnd = () => c.end();
          c.onClose = () => resolve(got);
          c.write(new TextEncoder().encode(payload));
          c.end();
        });
      };
      expect(await run("!first")).toBe("!first");
      expect(await run("second")).toBe("second");
      listener.close();
      expect(accepted).toBe(2);
      expect(uncaught.map((e) => (e as Error).message)).toEqual(["connection handler bug", "data handler bug"]);
    } finally {
      process.removeAllListeners("uncaughtException");
      for (const l of saved) process.on("uncaughtException", l);
    }
  });

  it("after every row, a connection still completes over the stack, the Web face and the Node face", async () => {
    expect(await echoOnce(env.a, "still works")).toBe("still works");
    const s = env.a.connect({ hostname: B, port: ECHO_PORT });
    const { readable, writable } = await s.opened;
    const w = writable.getWriter();
    await w.write(new TextEncoder().encode("web"));
    await w.close();
    let web = "";
    for await (const chunk of readable) web += new TextDecoder().decode(chunk);
    expect(web).toBe("web");
    const socket = env.net.connect({ host: B, port: NET_PORT }) as Socket;
    socket.end("node");
    let node = "";
    for await (const chunk of socket) node += String(chunk);
    expect(node).toBe("node");
    expect(echo.closed).toBe(false);
  });
});

describe("the engine refuses what the host refuses (never an abort)", () => {
  it("engineConfigSet refuses regions past 64 MiB and engineInit an inverted ephemeral range", async () => {
    const { exports: x } = await loadEngine<CoreExports & { engineConfigSet(k: number, v: number): number; engineInit(): number }>({ flavor: "debug" });
    const TX_REGION = 26;
    const RX_REGION = 27;
    const CONTROL_QUEUE = 33;
    const EPHEMERAL_LOW = 29;
    const EPHEMERAL_HIGH = 30;
    expect(x.engineConfigSet(TX_REGION, 2 ** 31)).toBeLessThan(0);
    expect(x.engineConfigSet(RX_REGION, 3 * 2 ** 30)).toBeLessThan(0);
    expect(x.engineConfigSet(CONTROL_QUEUE, 2 ** 30)).toBeLessThan(0);
    expect(x.engineConfigSet(TX_REGION, 1 << 26)).toBe(0);
    expect(x.engineConfigSet(EPHEMERAL_LOW, 60000)).toBe(0);
    expect(x.engineConfigSet(EPHEMERAL_HIGH, 50000)).toBe(0);
    expect(x.engineInit()).toBeLessThan(0);
    expect(x.engineConfigSet(EPHEMERAL_HIGH, 61000)).toBe(0);
    expect(x.engineInit()).toBe(0);
  });
});
