// UDP sockets on a stack (RFC 768): the internal datagram API both faces are built on (src/faces/
// web-udp.ts for Direct Sockets' UDPSocket, src/faces/node-dgram.ts for node:dgram), as
// src/tcp/connection.ts is for TCP. The engine owns the port table and the regions
// (assembly/engine/udp.ts); this file binds sockets there, hands received datagrams to their handlers
// and queues datagrams to send.
//
//   const sock = stack.openUdp({ localPort: 53 }, (m) => sock.send(answer(m.data), m.remoteAddress, m.remotePort));
//   const client = stack.openUdp({ remoteAddress: "10.0.0.2", remotePort: 53 }, (m) => ...);
//   client.send(query);                      // connected: to its peer; false when dropped (counted)
//   client.onError((e) => ...);              // ECONNREFUSED when the peer's port is closed (ICMP)
//   client.close();
//
// Receiving: the stack's pump drains the engine's receive region once per round (one copy for the
// batch) and calls each socket's handler with a UdpMessage whose data is a view of that copy, the
// handler's to keep. A socket with no local address is bound on every IP version the stack has (one
// engine socket each, on the same port), like a listener on all addresses.
// Sending: send() writes the datagram straight into the engine's send region; the stack's output
// drain builds the whole batch with one engine call. A full region is flushed at once. A datagram
// larger than the path's MTU throws EMSGSIZE: fragments are never sent.
import { TcpwasmError } from "../core/errors.js";
import { formatIpv4, formatIpv6, parseAddress, validateAddress, type AddressBytes } from "../core/address.js";
import { invalidValue, optionsObject, validateBoolean, validateKnownKeys, validatePort, validateUint8Array, validateFunction,
  invalidType } from "../core/validate.js";
import { UDP_RECORD, UDP_RECV_HEADER, UDP_RX_FLAG } from "../core/boundary.js";
import type { Engine } from "../core/engine.js";
import { isLoopback } from "../net/prefix.js";
import type { LocalAddresses } from "../net/addresses.js";
import type { Link } from "../net/link.js";
import { reportHandlerError } from "./handler-error.js";

/** Options of stack.openUdp. */
export interface OpenUdpOptions {
  /** One of the stack's addresses, or "0.0.0.0" / "::" for every address of that version. Default: every address (both versions the stack has), or the wildcard of remoteAddress's version. */
  localAddress?: string;
  /** 0 or absent: a random ephemeral port (RFC 6056). */
  localPort?: number;
  /** Connect at once to this peer (with remotePort): datagrams from elsewhere are not taken. */
  remoteAddress?: string;
  /** The peer's port, with remoteAddress. */
  remotePort?: number;
  /** Share the port with other sockets that ask the same (SO_REUSEADDR), e.g. several DHCP or multicast listeners. */
  reuseAddress?: boolean;
  /** An attached link whose interface sends this socket's frames to a named MAC (send's `mac`): broadcast and DHCP replies. */
  link?: Link;
  /**
   * Gateway mode: the socket also receives every datagram on a link attached with anyDestination
   * that no other socket takes, to any address and port (UdpMessage's localAddress and localPort),
   * and answers from them (send's `from` and `fromPort`). One per IP version.
   */
  catchAll?: boolean;
}

/** One received datagram. */
export interface UdpMessage {
  /** The payload (a view of a copy: the handler's to keep). */
  data: Uint8Array;
  /** The sender's address. */
  remoteAddress: string;
  /** The sender's port. */
  remotePort: number;
  /** The address it was sent to: one of ours, or a broadcast or multicast address (any address for a catch-all socket). */
  localAddress: string;
  /** The port it was sent to: the socket's own (any port for a catch-all socket). */
  localPort: number;
  /** Sent to a broadcast or multicast address. */
  broadcast: boolean;
}

/** Options of StackUdpSocket.send. */
export interface UdpSendOptions {
  /** Send as an Ethernet frame to this MAC ("ff:ff:ff:ff:ff:ff", a DHCP client's chaddr) on the socket's `link`. */
  mac?: string;
  /**
   * The source address: one of the socket's own (a socket bound to every address answering from the
   * one a datagram was sent to), or, on a stack with a link attached with anyDestination, any address
   * a guest sent to (a gateway answering for it). Default: the bound address, else the stack's choice.
   */
  from?: string;
  /** A catch-all socket's source port: the port the datagram being answered went to. Default: the socket's port. */
  fromPort?: number;
}

const OPEN_UDP_KEYS: ReadonlySet<string> = new Set(["localAddress", "localPort", "remoteAddress", "remotePort", "reuseAddress", "link", "catchAll"]);
const SEND_KEYS: ReadonlySet<string> = new Set(["mac", "from", "fromPort"]);

/** IP + UDP headers: 28 bytes over IPv4 (no options), 48 over IPv6 (no extension headers). */
const HEADERS = { 4: 28, 6: 48 } as const;

/** Bind attempts for a socket on both IP versions with an ephemeral port, when the second version's port is taken. */
const DUAL_BIND_TRIES = 16;

/** @internal What a stack gives its UDP sockets (src/tcp/stack.ts implements it). */
export interface UdpHost {
  /** The stack's engine. */
  readonly engine: Engine;
  /** The stack's own addresses. */
  readonly local: LocalAddresses;
  /** Throws ERR_SOCKET_CLOSED on a closed stack. */
  checkOpen(): void;
  /** Queues the output drain. */
  wantOutput(): void;
  /** Sends the engine's output now (the send region filled up). */
  flushNow(): void;
  /** The MTU of the path to `bytes`: 65535 for our own and loopback addresses, 0 when no link routes it. */
  pathMtu(version: 4 | 6, bytes: Uint8Array): number;
  /** The interface index of an attached link, or -1. */
  interfaceOf(link: Link): number;
  /** The IP MTU of interface `ifIndex`. */
  interfaceMtu(ifIndex: number): number;
  /** Counts a datagram dropped for want of a route. */
  countNoRoute(): void;
  /** `holder` keeps a Node process alive, or no longer does (lifetime.ts). */
  hold(holder: object, holds: boolean): void;
  /** Whether a link is attached with anyDestination (the stack answers for any address). */
  anyDestination(): boolean;
}

function formatAddress(version: 4 | 6, bytes: Uint8Array): string {
  return version === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}

function parseMac(text: unknown, name: string): Uint8Array {
  if (typeof text !== "string") invalidType(name, "of type string", text);
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) invalidValue(name, text, "must be a MAC address like 02:00:00:00:00:01");
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Text for address bytes, remembering the last one: a burst of datagrams usually shares its peer. */
class AddressText {
  #bytes = new Uint8Array(16);
  #len = 0;
  #text = "";
  text(version: 4 | 6, src: Uint8Array, at: number): string {
    const n = version === 4 ? 4 : 16;
    const b = this.#bytes;
    if (n === this.#len) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (b[i] !== src[at + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#text;
    }
    for (let i = 0; i < n; i++) b[i] = src[at + i]!;
    this.#len = n;
    this.#text = formatAddress(version, src.subarray(at, at + n));
    return this.#text;
  }
}

/** A bound UDP socket on a stack. Made by stack.openUdp. */
export class StackUdpSocket {
  /** The bound address: one of ours, or the wildcard ("0.0.0.0", "::"; "::" for both versions). */
  readonly localAddress: string;
  /** The bound port. */
  readonly localPort: number;
  /** @internal Opened with catchAll (gateway mode). */
  catchAll = false;
  /** The peer's address when connected. */
  remoteAddress: string | undefined;
  /** The peer's port when connected. */
  remotePort: number | undefined;
  #closed = false;
  #refed = true;
  #onError: ((error: TcpwasmError) => void) | undefined;
  #onClose: ((error: TcpwasmError | undefined) => void) | undefined;
  readonly #sockets: UdpSockets;
  /** Engine socket ids by IP version (0: none). */
  readonly #ids: { 4: number; 6: number };
  /** Specific bound addresses by IP version (undefined: the wildcard). */
  readonly #bound: { 4: Uint8Array | undefined; 6: Uint8Array | undefined };
  #remote: AddressBytes | undefined;
  readonly #ifIndex: number;
  /** The last destination's text and bytes, and the last path's source address and MTU: a socket usually sends to few peers. */
  #lastDestText = "";
  #lastDest: AddressBytes | undefined;
  #pathFor: AddressBytes | undefined;
  #pathSource: Uint8Array | undefined;
  #pathMtu = 0;
  /** The handler for received datagrams. */
  onMessage: (message: UdpMessage) => void;

  /** @internal Use stack.openUdp. */
  constructor(sockets: UdpSockets, ids: { 4: number; 6: number }, bound: { 4: Uint8Array | undefined; 6: Uint8Array | undefined },
    localAddress: string, localPort: number, ifIndex: number, onMessage: (message: UdpMessage) => void) {
    this.#sockets = sockets;
    this.#ids = ids;
    this.#bound = bound;
    this.localAddress = localAddress;
    this.localPort = localPort;
    this.#ifIndex = ifIndex;
    this.onMessage = onMessage;
  }

  /** True once close() was called (or the stack closed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal The engine socket ids. */
  get ids(): number[] {
    return [this.#ids[4], this.#ids[6]].filter((id) => id !== 0);
  }

  /** The IP versions this socket speaks. */
  get versions(): Array<4 | 6> {
    return ([4, 6] as const).filter((v) => this.#ids[v] !== 0);
  }

  /**
   * Connects to `address`:`port`: send() without a destination goes there, and only datagrams from
   * there are taken.
   * @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_RUNNING when closed, ERR_SOCKET_DGRAM_IS_CONNECTED when connected, EINVAL for an address of an IP version the socket does not speak, argument errors.
   */
  connect(address: string, port: number): void {
    this.#checkOpen();
    if (this.#remote) throw new TcpwasmError("ERR_SOCKET_DGRAM_IS_CONNECTED", "the socket is already connected");
    const r = validateAddress(address, "address");
    validatePort(port, "port");
    const id = this.#ids[r.version];
    if (id === 0) throw new TcpwasmError("EINVAL", `the socket has no IPv${r.version} binding (bound to ${this.localAddress})`);
    this.#sockets.engine.udpConnect(id, r.bytes, port);
    this.#remote = r;
    this.remoteAddress = formatAddress(r.version, r.bytes);
    this.remotePort = port;
  }

  /**
   * Forgets the peer: datagrams from anyone are taken again.
   * @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_RUNNING when closed, ERR_SOCKET_DGRAM_NOT_CONNECTED when not connected.
   */
  disconnect(): void {
    this.#checkOpen();
    if (!this.#remote) throw new TcpwasmError("ERR_SOCKET_DGRAM_NOT_CONNECTED", "the socket is not connected");
    this.#sockets.engine.udpConnect(this.#ids[this.#remote.version], undefined, 0);
    this.#remote = undefined;
    this.remoteAddress = undefined;
    this.remotePort = undefined;
  }

  /**
   * Queues one datagram: to the connected peer (no address), or to `address`:`port`. Returns false
   * when it is dropped (no route: counted in the stack's noRoute).
   * @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_RUNNING when closed, ERR_SOCKET_DGRAM_IS_CONNECTED (an address on a connected socket), ERR_SOCKET_DGRAM_NOT_CONNECTED (none on an unconnected one), EMSGSIZE (larger than one packet on the path), EINVAL (an IP version the socket does not speak), argument errors.
   */
  send(data: Uint8Array, address?: string, port?: number, options?: UdpSendOptions): boolean {
    this.#checkOpen();
    validateUint8Array(data, "data");
    let dest: AddressBytes;
    let destPort: number;
    if (address === undefined && port === undefined) {
      if (!this.#remote) throw new TcpwasmError("ERR_SOCKET_DGRAM_NOT_CONNECTED", "no destination: the socket is not connected");
      dest = this.#remote;
      destPort = this.remotePort!;
    } else {
      if (this.#remote) throw new TcpwasmError("ERR_SOCKET_DGRAM_IS_CONNECTED", "a connected socket sends to its peer only");
      if (address === this.#lastDestText && this.#lastDest) dest = this.#lastDest;
      else {
        dest = validateAddress(address, "address");
        this.#lastDestText = address!;
        this.#lastDest = dest;
      }
      validatePort(port, "port");
      destPort = port;
    }
    let mac: Uint8Array | undefined;
    let from: Uint8Array | undefined;
    let fromPort = 0;
    if (options !== undefined) {
      const o = optionsObject(options, "options");
      validateKnownKeys(o as Record<string, unknown>, "options", SEND_KEYS);
      if (o.mac !== undefined) {
        mac = parseMac(o.mac, "options.mac");
        if (this.#ifIndex < 0) invalidValue("options.mac", o.mac, "needs a socket opened with a `link` to send frames on");
      }
      if (o.from !== undefined) from = this.#source(o.from, dest.version);
      if (o.fromPort !== undefined) {
        validatePort(o.fromPort, "options.fromPort");
        if (!this.catchAll) invalidValue("options.fromPort", o.fromPort, "needs a socket opened with catchAll");
        fromPort = o.fromPort;
      }
    }
    const version = dest.version;
    const id = this.#ids[version];
    if (id === 0) throw new TcpwasmError("EINVAL", `the socket has no IPv${version} binding (bound to ${this.localAddress})`);
    let source: Uint8Array;
    let mtu: number;
    if (dest === this.#pathFor && !mac) {
      source = from ?? this.#pathSource!;
      mtu = this.#pathMtu;
    } else if (from) {
      source = from;
      mtu = mac ? this.#sockets.host.interfaceMtu(this.#ifIndex) : this.#sockets.host.pathMtu(version, dest.bytes);
    } else {
      source = this.#bound[version] ?? this.#sockets.sourceFor(version, dest.bytes);
      mtu = mac ? this.#sockets.host.interfaceMtu(this.#ifIndex) : this.#sockets.host.pathMtu(version, dest.bytes);
      // Remembered only for a routed path: a link attached later may route what had no route.
      if (!mac && mtu !== 0) {
        this.#pathFor = dest;
        this.#pathSource = source;
        this.#pathMtu = mtu;
      }
    }
    if (!mac && mtu === 0) {
      this.#sockets.host.countNoRoute();
      return false;
    }
    if (data.length + HEADERS[version] > mtu) {
      throw new TcpwasmError("EMSGSIZE", `a datagram of ${data.length} bytes does not fit the path's MTU of ${mtu} (${HEADERS[version]} bytes of headers; fragments are not sent)`);
    }
    return this.#sockets.queue(id, version, source, dest.bytes, destPort, data, this.#ifIndex, mac, fromPort);
  }

  /** A send's `from`, checked: an address of `version` the socket may send from (UdpSendOptions.from). */
  #source(text: unknown, version: 4 | 6): Uint8Array {
    const a = validateAddress(text, "options.from");
    if (a.version !== version) invalidValue("options.from", text, `must be an IPv${version} address like the destination`);
    const bound = this.#bound[version];
    if (bound && !bound.every((b, i) => b === a.bytes[i])) {
      throw new TcpwasmError("EADDRNOTAVAIL", `${text as string} is not the address the socket is bound to (${this.localAddress})`);
    }
    // An address the stack does not own would be a spoofed source, unless it stands in for every destination.
    if (!bound && !this.#sockets.host.anyDestination()) this.#sockets.host.local.own(a.version, a.bytes, text as string, "options.from");
    return a.bytes;
  }

  /** Sets the handler for ICMP errors about this socket's datagrams (ECONNREFUSED, connected sockets only). */
  onError(handler: (error: TcpwasmError) => void): void {
    validateFunction(handler, "handler");
    this.#onError = handler;
  }

  /**
   * Sets the handler called once when the socket closes: by close() (no error) or because the stack
   * closed (ERR_SOCKET_CLOSED).
   */
  onClose(handler: (error: TcpwasmError | undefined) => void): void {
    validateFunction(handler, "handler");
    this.#onClose = handler;
  }

  /** Closes the socket: its port is free again. A second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sockets.forget(this);
    this.#sockets.host.hold(this, false);
    this.#onClose?.(undefined);
  }

  /** An open socket keeps a Node process alive, as node:dgram's do (the default). */
  ref(): void {
    this.#refed = true;
    if (!this.#closed) this.#sockets.host.hold(this, true);
  }

  /** The socket no longer keeps a Node process alive. */
  unref(): void {
    this.#refed = false;
    this.#sockets.host.hold(this, false);
  }

  /** Whether the socket keeps a Node process alive (ref, the default, or unref). */
  get refed(): boolean {
    return this.#refed;
  }

  /** @internal An ICMP error for engine socket `id`. */
  error(error: TcpwasmError): void {
    this.#onError?.(error);
  }

  /** @internal The stack closed. */
  markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose?.(new TcpwasmError("ERR_SOCKET_CLOSED", "the stack was closed"));
  }

  #checkOpen(): void {
    if (this.#closed) throw new TcpwasmError("ERR_SOCKET_DGRAM_NOT_RUNNING", "the socket is closed");
  }
}

/** @internal A stack's UDP sockets: binding, the receive drain, the send queue. */
export class UdpSockets {
  readonly #byId = new Map<number, StackUdpSocket>();
  readonly #src = new AddressText();
  readonly #dst = new AddressText();
  readonly host: UdpHost;

  constructor(host: UdpHost) {
    this.host = host;
  }

  get engine(): Engine {
    return this.host.engine;
  }

  /**
   * stack.openUdp.
   * @throws TcpwasmError argument errors, EADDRNOTAVAIL (an address not ours), EADDRINUSE, ENOBUFS, ERR_SOCKET_CLOSED.
   */
  open(options: OpenUdpOptions | undefined, onMessage: (message: UdpMessage) => void): StackUdpSocket {
    const o = optionsObject(options, "options");
    validateKnownKeys(o as Record<string, unknown>, "options", OPEN_UDP_KEYS);
    validateFunction(onMessage, "onMessage");
    const local = o.localAddress === undefined ? undefined : validateAddress(o.localAddress, "options.localAddress");
    if (o.localPort !== undefined) validatePort(o.localPort, "options.localPort", true);
    const remote = o.remoteAddress === undefined ? undefined : validateAddress(o.remoteAddress, "options.remoteAddress");
    if ((o.remoteAddress === undefined) !== (o.remotePort === undefined)) {
      invalidValue(o.remoteAddress === undefined ? "options.remotePort" : "options.remoteAddress", o.remoteAddress ?? o.remotePort, "needs options.remoteAddress and options.remotePort together");
    }
    if (o.remotePort !== undefined) validatePort(o.remotePort, "options.remotePort");
    if (o.reuseAddress !== undefined) validateBoolean(o.reuseAddress, "options.reuseAddress");
    if (o.catchAll !== undefined) validateBoolean(o.catchAll, "options.catchAll");
    if (local && remote && local.version !== remote.version) {
      invalidValue("options.localAddress", o.localAddress, `must be an IPv${remote.version} address like options.remoteAddress`);
    }
    let ifIndex = -1;
    if (o.link !== undefined) {
      ifIndex = this.host.interfaceOf(o.link);
      if (ifIndex < 0) invalidValue("options.link", o.link, "must be a link attached to this stack");
      // Frames to a named MAC need Ethernet framing on that link.
      if (o.link.framing !== "ethernet") invalidValue("options.link", o.link, 'must be an Ethernet link (framing "ethernet")');
    }
    this.host.checkOpen();
    const wildcard = local !== undefined && local.bytes.every((b) => b === 0);
    let bound: Uint8Array | undefined;
    let localText: string;
    if (local && !wildcard) {
      const own = this.host.local.own(local.version, local.bytes, o.localAddress!, "options.localAddress");
      bound = parseAddress(own)!.bytes;
      localText = own;
    } else localText = local ? formatAddress(local.version, local.bytes) : "";
    let versions: Array<4 | 6>;
    if (local) versions = [local.version];
    else if (remote) versions = [remote.version];
    else versions = ([4, 6] as const).filter((v) => this.host.local.has(v));
    if (versions.length === 0) versions = [4];
    if (!local) localText = remote ? (remote.version === 4 ? "0.0.0.0" : "::") : versions.includes(6) ? "::" : "0.0.0.0";
    const ids = this.#bind(versions, bound, o.localPort ?? 0, o.reuseAddress ?? false);
    const port = this.engine.udpLocalPort(ids[versions[0]!]);
    const socket = new StackUdpSocket(this, ids, { 4: versions[0] === 4 ? bound : undefined, 6: versions[0] === 6 ? bound : undefined },
      localText, port, ifIndex, onMessage);
    for (const id of socket.ids) this.#byId.set(id, socket);
    this.host.hold(socket, true);
    if (o.catchAll) {
      socket.catchAll = true;
      for (const id of socket.ids) this.engine.udpSetCatchAll(id, true);
    }
    if (remote) {
      try {
        socket.connect(o.remoteAddress!, o.remotePort!);
      } catch (error) {
        socket.close();
        throw error;
      }
    }
    return socket;
  }

  /** Binds one engine socket per version on one port; an ephemeral port is retried when another version holds it. */
  #bind(versions: Array<4 | 6>, bound: Uint8Array | undefined, port: number, reuse: boolean): { 4: number; 6: number } {
    for (let attempt = 0; ; attempt++) {
      const ids = { 4: 0, 6: 0 };
      let p = port;
      try {
        for (const v of versions) {
          ids[v] = this.engine.udpBind(v, bound, p, reuse);
          if (p === 0) p = this.engine.udpLocalPort(ids[v]);
        }
        return ids;
      } catch (error) {
        for (const v of versions) if (ids[v] !== 0) this.engine.udpClose(ids[v]);
        const retry = port === 0 && attempt < DUAL_BIND_TRIES && error instanceof TcpwasmError && error.code === "EADDRINUSE";
        if (!retry) throw error;
      }
    }
  }

  /** @internal The source address bytes facing `remote`. */
  sourceFor(version: 4 | 6, remote: Uint8Array): Uint8Array {
    if (isLoopback(version, remote, 0)) return remote;
    return parseAddress(this.host.local.sourceFor(version, remote))!.bytes;
  }

  /** @internal Queues one datagram in the engine's send region (flushing it first when full). */
  queue(id: number, version: 4 | 6, source: Uint8Array, destination: Uint8Array, port: number, data: Uint8Array, ifIndex: number,
    mac: Uint8Array | undefined, sourcePort = 0): boolean {
    const e = this.engine;
    if (!e.udpQueue(id, version, source, destination, port, data, ifIndex, mac, sourcePort)) {
      this.host.flushNow();
      if (!e.udpQueue(id, version, source, destination, port, data, ifIndex, mac, sourcePort)) {
        throw new TcpwasmError("EMSGSIZE", `a datagram of ${data.length} bytes does not fit the engine's UDP send region`);
      }
    }
    this.host.wantOutput();
    return true;
  }

  /** @internal Builds the queued datagrams into the engine's output; `drain` takes the output when it fills. */
  flush(drain: () => void): void {
    if (this.engine.udpQueued !== 0) this.engine.udpFlush(drain);
  }

  /** @internal */
  forget(socket: StackUdpSocket): void {
    for (const id of socket.ids) {
      this.#byId.delete(id);
      try {
        this.engine.udpClose(id);
      } catch {
        // Already gone with the engine.
      }
    }
  }

  /** @internal Hands every received datagram to its socket's handler; whether there were any. */
  deliver(): boolean {
    return this.engine.udpReceive(this.#visit) !== 0;
  }

  readonly #visit = (socketId: number, bytes: Uint8Array, at: number, len: number): void => {
    const socket = this.#byId.get(socketId);
    if (socket === undefined || socket.closed) return;
    const version = bytes[at + UDP_RECORD.ipVersion] as 4 | 6;
    const flags = bytes[at + UDP_RECORD.flags]!;
    const message: UdpMessage = {
      data: bytes.subarray(at + UDP_RECV_HEADER, at + UDP_RECV_HEADER + len),
      remoteAddress: this.#src.text(version, bytes, at + UDP_RECORD.srcAddress),
      remotePort: bytes[at + UDP_RECORD.srcPort]! | (bytes[at + UDP_RECORD.srcPort + 1]! << 8),
      localAddress: this.#dst.text(version, bytes, at + UDP_RECORD.dstAddress),
      localPort: bytes[at + UDP_RECORD.dstPort]! | (bytes[at + UDP_RECORD.dstPort + 1]! << 8),
      broadcast: (flags & (UDP_RX_FLAG.broadcast | UDP_RX_FLAG.multicast)) !== 0,
    };
    try {
      socket.onMessage(message);
    } catch (error) {
      reportHandlerError(error);
    }
  };

  /** @internal A udpError event. */
  error(id: number, error: TcpwasmError): void {
    const socket = this.#byId.get(id);
    if (socket === undefined || socket.closed) return;
    try {
      socket.error(error);
    } catch (e) {
      reportHandlerError(e);
    }
  }

  /** @internal The stack closed: every socket is closed, without an error. */
  closeAll(): void {
    const sockets = new Set(this.#byId.values());
    this.#byId.clear();
    for (const socket of sockets) {
      for (const id of socket.ids) {
        try {
          this.engine.udpClose(id);
        } catch {
          // Already gone.
        }
      }
      try {
        socket.markClosed();
      } catch (error) {
        reportHandlerError(error);
      }
    }
  }
}
