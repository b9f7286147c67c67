/**
 * Frame type bytes. 0x00-0x0F: data and control; 0x10-0x1F: transport negotiation;
 * 0x20-0x7F reserved for future use; 0x80-0xFF reserved for experiments (never shipped).
 */
export const MessageType = {
  UdpPacket: 0x00,
  Ping: 0x01,
  Pong: 0x02,
  ScanRequest: 0x03,
  ScanResponse: 0x04,
  StartUdpForward: 0x05,
  StopUdpForward: 0x06,
  LogBatch: 0x07,
  WatchRequest: 0x08,
  ScanDelta: 0x09,
  AgentHello: 0x0a,
  Shutdown: 0x0b,
  DataPathRequest: 0x0c,
  DataPathOffer: 0x0d,
  TransportOffer: 0x10,
  TransportAccept: 0x11,
} as const;

/** A known frame type byte. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const names = new Map<number, string>(Object.entries(MessageType).map(([k, v]) => [v, k]));

/** Human name of a type byte, for logs and errors (`0x2a` when unknown). */
export function messageTypeName(type: number): string {
  return names.get(type) ?? `0x${type.toString(16).padStart(2, '0')}`;
}

/** Whether a type byte is one this version understands. */
export function isKnownMessageType(type: number): type is MessageType {
  return names.has(type);
}
