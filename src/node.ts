// tcpwasm/node: the Node-facing entry. Everything from the root, node:net's shape bound to a stack
// (src/faces/node-net.ts), node:dgram's shape (src/faces/node-dgram.ts), the UDP link and the pcap file sink.
export * from "./index.js";
export { bindNet, createServer, connect, connect as createConnection, Socket, Server, NetError, LookupError, type BoundNet, type LookupFunction, type LookupAddress, type SocketConnectOptions, type IpcConnectOptions, type KeepAliveOptions, type OnReadOptions, type SocketConstructorOptions, type ServerOptions, type ListenOptions as NetListenOptions } from "./faces/node-net.js";
export { bindDgram, createSocket as createDgramSocket, Socket as DgramSocket, type BoundDgram, type DgramSocketOptions, type SocketType as DgramSocketType, type RemoteInfo, type AddressInfo as DgramAddressInfo, type DgramMessage } from "./faces/node-dgram.js";
export { createUdpLink, UdpLink, parseEndpoint, type UdpLinkOptions, type UdpLinkStats, type UdpEndpoint } from "./net/udp-link.js";
// Shadows the root's two: the same functions with `ws`'s WebSocket as the default constructor.
export { createWebSocketLink, dialWebSocketStream } from "./net/websocket-node.js";
export { openPcapFile, type PcapFile } from "./tools/pcap-file.js";
export { connectNode, allowPolicy, forwardPort, nodeLookup, dgramNode, type AllowPolicyOptions, type ForwardPortOptions, type PortForward, type NodeGatewayOptions } from "./gateway/node-gateway.js";
export { createNodeGateway } from "./faces/node-gateway-methods.js";
