// tcpwasm/node: the Node-facing entry (node:net's shape bound to a stack comes here).
export * from "./index.js";
export { createUdpLink, UdpLink, parseEndpoint, type UdpLinkOptions, type UdpLinkStats, type UdpEndpoint } from "./link/udp.js";
export { openPcapFile, type PcapFile } from "./pcap-file.js";
