// Vendor patch S5 (ssh2@1.17.0 cipher allocPacket): see docs/vendor-patches.md.
import { randomFillSync } from 'node:crypto';
import type { Client } from 'ssh2';

/*
 * ssh2 fills each outbound packet's 4-19 padding bytes with its own randomFillSync call: about 3 us per call
 * here, 6.8 % of a bulk upload's CPU (one call per 32 KiB packet). The same CSPRNG bytes come from a 64 KiB
 * pool refilled by one call instead, each byte used once. (Cutting packets from 1 MiB slabs was tried too:
 * slower, as fresh mmap'd slabs fault their pages in while malloc hands back warm 32 KiB chunks.)
 */
const POOL_BYTES = 64 * 1024;
let pool = Buffer.alloc(0);
let poolUsed = 0;

function fillPadding(packet: Buffer, offset: number, length: number): void {
  if (poolUsed + length > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    poolUsed = 0;
  }
  pool.copy(packet, offset, poolUsed, poolUsed + length);
  poolUsed += length;
}

/**
 * The exact allocPacket ssh2 1.x has in its cipher classes (whitespace removed), with the block size and
 * the trailer it reserves as groups. Only a method that matches is replaced, so a changed ssh2 keeps its own.
 */
export const ALLOC_PACKET =
  /^allocPacket\(payloadLen\)\{letpktLen=4\+1\+payloadLen;letpadLen=(\d+)-\(\(pktLen-4\)&\(\1-1\)\);if\(padLen<4\)padLen\+=\1;pktLen\+=padLen;constpacket=Buffer\.allocUnsafe\(pktLen(?:\+(\d+)(?:\/\*\w+\*\/)?)?\);writeUInt32BE\(packet,pktLen-4,0\);packet\[4\]=padLen;randomFillSync\(packet,5\+payloadLen,padLen\);returnpacket;\}$/;

const patched = new WeakSet<object>();

interface CipherInternals {
  allocPacket(payloadLen: number): Buffer;
}

/**
 * Switches the outbound cipher class of a ready client (and so every connection and rekey using that class:
 * aes*-gcm and chacha20-poly1305) to pooled padding. Returns whether the cipher now uses it (false: ssh2 code this does not recognise, left alone).
 */
export function poolCipherPackets(client: Client): boolean {
  const cipher = (client as unknown as { _protocol?: { _cipher?: CipherInternals } })._protocol?._cipher;
  if (!cipher || typeof cipher.allocPacket !== 'function') return false;
  const proto = Object.getPrototypeOf(cipher) as CipherInternals;
  if (patched.has(proto)) return true;
  const m = ALLOC_PACKET.exec(proto.allocPacket.toString().replace(/\s+/g, ''));
  if (!m) return false;
  const block = Number(m[1]);
  const trailer = Number(m[2] ?? 0);
  proto.allocPacket = function allocPacket(payloadLen: number): Buffer {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = block - ((pktLen - 4) & (block - 1));
    if (padLen < 4) padLen += block;
    pktLen += padLen;
    const packet = Buffer.allocUnsafe(pktLen + trailer);
    packet.writeUInt32BE(pktLen - 4, 0);
    packet[4] = padLen;
    fillPadding(packet, 5 + payloadLen, padLen);
    return packet;
  };
  patched.add(proto);
  return true;
}
