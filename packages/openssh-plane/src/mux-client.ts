import { connect } from 'node:net';
import {
  BodyReader,
  encodePacket,
  MUX_C_ALIVE_CHECK,
  MUX_C_CLOSE_FWD,
  MUX_C_OPEN_FWD,
  MUX_C_TERMINATE,
  MUX_FWD_LOCAL,
  MUX_MSG_HELLO,
  MUX_S_ALIVE,
  MUX_S_FAILURE,
  MUX_S_OK,
  MUX_S_PERMISSION_DENIED,
  MUX_S_REMOTE_PORT,
  MUX_VERSION,
  type MuxField,
  type MuxPacket,
  PacketReader,
} from './mux-protocol.ts';

/** A request the master refused (MUX_S_FAILURE or MUX_S_PERMISSION_DENIED), with the master's reason. */
export class MuxRefused extends Error {
  override name = 'MuxRefused';
}

/** A local forward as the master knows it: listen address and port here, target as seen from the remote. */
export interface MuxForward {
  listenHost: string;
  listenPort: number;
  connectHost: string;
  connectPort: number;
}

const REQUEST_TIMEOUT_MS = 5000;

/**
 * Talks to one ControlMaster over its control socket. Each request is its own short connection (hello, request,
 * reply, close), as `ssh -O` does: a few hundred microseconds, and no state to lose when the master restarts. They go
 * one at a time: the master's listen backlog is 64, and 500 forwards closed at once met EAGAIN on connect (their
 * listeners then stayed in the master).
 */
export class MuxClient {
  readonly socketPath: string;
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** The master's pid (MUX_C_ALIVE_CHECK). */
  async alive(timeoutMs = REQUEST_TIMEOUT_MS): Promise<number> {
    const reply = await this.#request(MUX_C_ALIVE_CHECK, [], timeoutMs);
    if (reply.type !== MUX_S_ALIVE) throw unexpected(reply);
    const r = new BodyReader(reply.body);
    r.uint32();
    return r.uint32();
  }

  /** Asks the master to listen on `listenHost:listenPort` and carry each connection to the target. */
  async openForward(f: MuxForward): Promise<void> {
    const reply = await this.#request(MUX_C_OPEN_FWD, fwdFields(f));
    // MUX_S_REMOTE_PORT answers only remote forwards with a dynamic port; a local one is MUX_S_OK
    if (reply.type !== MUX_S_OK && reply.type !== MUX_S_REMOTE_PORT) throw unexpected(reply);
  }

  /** Stops the master's listener of a forward (`ssh -O cancel`); connections already open go on. */
  async closeForward(f: MuxForward): Promise<void> {
    const reply = await this.#request(MUX_C_CLOSE_FWD, fwdFields(f));
    if (reply.type !== MUX_S_OK) throw unexpected(reply);
  }

  /** Asks the master to exit (`ssh -O exit`). */
  async terminate(): Promise<void> {
    const reply = await this.#request(MUX_C_TERMINATE, []);
    if (reply.type !== MUX_S_OK) throw unexpected(reply);
  }

  #request(type: number, fields: MuxField[], timeoutMs = REQUEST_TIMEOUT_MS): Promise<MuxPacket> {
    const run = this.#queue.then(() => this.#exchange(type, fields, timeoutMs));
    this.#queue = run.catch(() => {});
    return run;
  }

  #exchange(type: number, fields: MuxField[], timeoutMs: number): Promise<MuxPacket> {
    const id = this.#nextId++;
    return new Promise<MuxPacket>((resolve, reject) => {
      const sock = connect(this.socketPath);
      const reader = new PacketReader();
      let helloSeen = false;
      const done = (err: Error | undefined, reply?: MuxPacket) => {
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(reply as MuxPacket);
      };
      const timer = setTimeout(
        () => done(new Error(`mux: no answer from the ControlMaster within ${timeoutMs} ms`)),
        timeoutMs,
      );
      sock.on('error', (err) => done(new Error(`mux: ${err.message}`)));
      sock.on('close', () => done(new Error('mux: the ControlMaster closed the control connection')));
      sock.on('connect', () => {
        sock.write(Buffer.concat([encodePacket(MUX_MSG_HELLO, [MUX_VERSION]), encodePacket(type, [id, ...fields])]));
      });
      sock.on('data', (chunk: Buffer) => {
        let packets: MuxPacket[];
        try {
          packets = reader.push(chunk);
        } catch (err) {
          done(err as Error);
          return;
        }
        for (const p of packets) {
          if (!helloSeen) {
            if (p.type !== MUX_MSG_HELLO) return done(new Error(`mux: expected a hello, got 0x${p.type.toString(16)}`));
            const version = new BodyReader(p.body).uint32();
            if (version !== MUX_VERSION) return done(new Error(`mux: the ControlMaster speaks version ${version}`));
            helloSeen = true;
            continue;
          }
          const replyId = new BodyReader(p.body).uint32();
          if (replyId !== id) return done(new Error(`mux: answer to request ${replyId}, expected ${id}`));
          return done(undefined, p);
        }
      });
    });
  }
}

function fwdFields(f: MuxForward): MuxField[] {
  return [MUX_FWD_LOCAL, f.listenHost, f.listenPort, f.connectHost, f.connectPort];
}

function unexpected(p: MuxPacket): Error {
  if (p.type === MUX_S_FAILURE || p.type === MUX_S_PERMISSION_DENIED) {
    const r = new BodyReader(p.body);
    r.uint32();
    return new MuxRefused(r.string());
  }
  return new Error(`mux: unexpected answer 0x${p.type.toString(16)}`);
}
