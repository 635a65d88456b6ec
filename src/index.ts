// tcpwasm: the browser-safe root entry. Web-platform APIs only: nothing here may import a Node built-in.
export { loadEngine, simdSupported, MemoryViews } from "./core/loader.js";
export type { Flavor, CoreExports, LoadedEngine, LoadOptions, WasmSource } from "./core/loader.js";
export { loadWire, formatIpv4, formatIpv6, parseIpv4, parseIpv6, REASON_NAMES, reasonName, type Wire, type ParsedPacket, type ParseError, type PacketFields, type ParseOptions, type TcpFlags, type TcpOptions, type TcpTimestamps, type ReasonName } from "./core/wire.js";
export { DEFAULT_MTU, type Link, type PacketHandler, type ReceiveOptions } from "./net/link.js";
export { createWebSocketLink, WebSocketLink, type WebSocketLike, type WebSocketConstructor, type WebSocketLinkOptions, type WebSocketLinkStats, type WebSocketLinkCloseInfo, type WebSocketLinkState, type WebSocketReconnectOptions } from "./net/websocket-link.js";
export { dialWebSocketStream, streamUrl, type WebSocketStream, type WebSocketStreamOptions } from "./net/websocket-stream.js";
export { createMemoryLinkPair, MemoryLink, type LinkFaults, type DirectionOptions, type MemoryLinkOptions, type MemoryLinkStats } from "./net/memory-link.js";
export { createDhcpServer, type DhcpServerOptions } from "./net/dhcp-server.js";
export type { DhcpServer, DhcpReply, DhcpLease, DhcpLeaseState, DhcpServerCounters } from "./net/dhcp-pool.js";
export type { DhcpRefusal } from "./net/dhcp-message.js";
export { PcapWriter, recordLink, LINKTYPE_RAW, LINKTYPE_ETHERNET, type PcapSink, type PcapOptions } from "./tools/pcap.js";
// createStack and createGateway tie the faces' methods (stack.connect, ...) to the stacks they make, so that
// a bundler drops the stack and the faces from a page that makes none (src/faces/stack-methods.ts).
export { createStack, createGateway } from "./faces/stack-methods.js";
export { Stack, StackConnection, StackListener, StackUdpSocket, type OpenUdpOptions, type UdpMessage, type UdpSendOptions, type StackOptions, type StackDnsOptions, type StackTimers, type OpenConnectionOptions, type OpenListenerOptions, type AttachOptions, type StackCounters, HeldConnection, type Refusal, type OpenForwarderOptions } from "./tcp/stack.js";
// Gateway mode and the guests' network: the forwarder (TCP to any destination, spliced to a duplex
// or Web Streams), port forwarding into the stack's network, and a learning Ethernet bridge.
export { serveForwarder, refusalFor, type Forwarder, type ForwarderOptions, type ForwarderCounters, type ForwardInfo, type ForwardDecision, type ForwardPolicy, type FarSide } from "./gateway/forwarder.js";
export { splice, type DuplexLike, type StreamPair, type SpliceResult } from "./gateway/splice.js";
export { forwardConnection, type ForwardTarget } from "./gateway/port-forward.js";
export type { Gateway, GatewayOptions } from "./gateway/gateway.js";
export { serveUdpForwarder, type UdpForwarder, type UdpForwarderOptions, type UdpForwarderCounters, type UdpFar, type UdpPolicy } from "./gateway/udp-forward.js";
export { createBridge, Bridge, type BridgeOptions, type BridgePortOptions, type BridgeCounters } from "./net/bridge.js";
export { TcpwasmError, AbortError, type ErrorCode } from "./core/errors.js";
// The stack's own name resolution (StackOptions.dns), as its connects use it.
export { resolveHost, ResolveError, dnsClientCounters, type AddressFamily } from "./services/resolve-host.js";
export type { DnsClientCounters } from "./services/dns-client.js";
// A DNS responder bound to a stack's UDP and TCP port 53, for a gateway's guests.
export { serveDns, type ServeDnsOptions, type DnsService, type DnsServiceCounters } from "./services/serve-dns.js";
// A DHCP server bound to a stack's Ethernet link (UDP port 67), for a gateway's guests.
export { serveDhcp, type ServeDhcpOptions, type DhcpService } from "./services/serve-dhcp.js";
// DNS as sans-I/O host modules (RFC 1035, 3596, 6891, 7766): a responder a gateway runs for its guests,
// the resolver core for the stack's own connects, and the two-octet framing of DNS over TCP (dns-tcp).
export { createDnsResponder, type DnsResponder, type DnsResponderCounters, type DnsResponderOptions, type DnsHandleOptions, type DnsLookup, type DnsLookupAddress } from "./net/dns-responder.js";
export { createDnsResolver, type DnsResolver, type DnsResolverOptions, type DnsQuery, type DnsResult, type DnsCachedResult, type DnsAddress, type DnsAddressType } from "./net/dns-resolver.js";
export { frameDnsTcp, DnsTcpReader } from "./net/dns-tcp.js";
export type { TraceEvent, SegmentTrace, StateTrace, TcpState } from "./core/trace.js";
export { UDPSocket, bindWebUdp, type BoundWebUdp, type UDPSocketOptions, type UDPMessage, type UDPSocketOpenInfo } from "./faces/web-udp.js";
export { TcpSocket, TcpListener, bindWeb, type BoundWeb, type SocketOptions, type SocketOpenInfo, type ListenOptions, type ListenerOpenInfo } from "./faces/web.js";
export { TCP_STATES, TcpFlag, flagNames, type SegmentOptionsTrace } from "./core/trace.js";
export { renderLadder, renderLadders, type LadderOptions } from "./tools/ladder.js";
// The engine driver itself, for hosts that want packets, events and deadlines without sockets.
export { Engine, type EngineCounters, type EngineOptions } from "./core/engine.js";
export { ConfigKey, ConnOption, COUNTER_NAMES } from "./core/boundary.js";
export type { EngineConfig, ConnectionOptions, CongestionControl } from "./core/settings.js";
export type { EngineEvent } from "./core/events.js";
export type { ConnectionStatus } from "./core/status.js";
