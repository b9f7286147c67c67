export { ByteReader } from './byte-reader.ts';
export { ByteWriter, utf8Bytes, utf8Truncated } from './byte-writer.ts';
export { EncodeError, ErrorCode, PortLinkerError, ProtocolError } from './errors.ts';
export {
  decodeJsonPayload,
  EXEC_UPGRADE,
  type ExecExit,
  ExecFrame,
  type ExecOpen,
  type ExecStarted,
  encodeFrame,
  encodeJsonFrame,
} from './exec-stream.ts';
export { DEFAULT_MAX_FRAME_LENGTH, FRAME_HEADER_SIZE, type Frame, WIRE_PROTOCOL_VERSION } from './frame.ts';
export { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.ts';
export {
  canonicalIp,
  formatIPv4,
  formatIPv6,
  ipBytes,
  ipFamily,
  isForwardableAddress,
  parseIPv4,
  parseIPv6,
} from './ip-address.ts';
export { type LogEvent, LogLevel, type LogLevelName } from './log-event.ts';
export { MessageDecoder } from './message-decoder.ts';
export { isKnownMessageType, MessageType, messageTypeName } from './message-type.ts';
export {
  type AgentInfo,
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageOf,
  type UnknownMessage,
} from './messages.ts';
export {
  MUX_HEADER_SIZE,
  MUX_MAX_CONTROL,
  MUX_MAX_DATA,
  MuxFrame,
  type MuxFrameType,
  type MuxHandlers,
  MuxParser,
  muxControl,
  muxHeader,
  muxOpenPayload,
  readMuxOpen,
  u32Payload,
} from './mux-frame.ts';
export { type ListeningSocket, readScanList, type SocketProtocol, socketKey, writeScanList } from './scan-list.ts';
export {
  TRANSPORT_OFFER_VERSION,
  type TransportEntry,
  TransportKind,
  type TransportName,
} from './transport-offer.ts';
