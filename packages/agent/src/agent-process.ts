import type { Duplex, Readable, Writable } from 'node:stream';
import { MessageDecoder, ProtocolError } from '@port-linker/proto';
import { detectScanner, type Scanner } from '@port-linker/scanner';
import packageJson from '../package.json' with { type: 'json' };
import { Agent } from './agent.ts';
import { type AgentFeature, defaultFeatures } from './agent-feature.ts';
import { type AgentOptions, parseAgentArgs } from './agent-options.ts';
import { FrameSink } from './frame-sink.ts';
import { LogBuffer } from './log-buffer.ts';
import { OutputSwitch } from './output-switch.ts';
import { quicLoader } from './quic-loader.ts';
import { socketTableSignature } from './socket-table-signature.ts';
import type { QuicLoader } from './transport-feature.ts';

/** Version of this agent build (the package version). */
export const AGENT_VERSION: string = packageJson.version;

/** The process around the agent; `process` in production, plain streams in tests. */
export interface AgentIo {
  argv: readonly string[];
  stdin: Readable;
  stdout: Writable;
  /** Only for one fatal line before a crash exit; never for logs. */
  stderr: Writable;
  exit(code: number): void;
  /** Subscribes to termination signals (SIGTERM, SIGHUP, SIGINT); optional in tests. */
  onSignal?(handler: (signal: string) => void): void;
  /** Overrides scanner detection (tests). */
  scanner?: () => Promise<Scanner>;
  /** Overrides the socket-table signature (tests; `null` disables it). */
  signature?: (() => string | undefined) | null;
  features?: AgentFeature[];
  /** Loads QUIC (tests inject one); default: from `--quic-bundle/--quic-addon` or `--quic-embedded`, else none. */
  quic?: QuicLoader;
}

/** Upper bound on the final flush before exiting (a stuck pipe must not keep an orphan alive). */
const EXIT_FLUSH_MS = 1000;

/**
 * Runs the agent on stdio until stdin closes, the host goes silent, a Shutdown arrives, a signal
 * comes, or stdout breaks; then releases everything, flushes the last logs and calls `io.exit`.
 * Resolves with the exit code. Exit codes: 0 normal stop, 1 protocol error or crash, 2 bad usage.
 */
export async function runAgent(io: AgentIo): Promise<number> {
  let options: AgentOptions;
  try {
    options = parseAgentArgs(io.argv);
  } catch (err) {
    io.stderr.write(`port-linker-agent: ${(err as Error).message}\n`);
    io.exit(2);
    return 2;
  }
  if (options.version) {
    const info = {
      version: AGENT_VERSION,
      node: process.versions.node,
      platform: process.platform,
      arch: process.arch,
    };
    io.stdout.write(`${JSON.stringify(info)}\n`);
    io.exit(0);
    return 0;
  }

  let agent: Agent | undefined;
  let exitCode = 0;
  const sink = new FrameSink(io.stdout, (err) => void agent?.stop(`stdout failed: ${err.message}`));
  const output = new OutputSwitch(sink);
  const logs = new LogBuffer(
    options.logLevel,
    (events) => output.send({ type: 'LogBatch', events }),
    () => !output.congested,
  );
  const log = logs.log.bind(logs);

  let scanner: Scanner | undefined;
  try {
    scanner = await (io.scanner ?? (() => detectScanner({ log: (level, msg) => log(level, 'agent.scanner', msg) })))();
  } catch (err) {
    log('warn', 'agent.scanner', `no scanner: ${(err as Error).message}; scans answer empty lists`);
  }

  const transports = {
    attach(_kind: string, stream: Duplex) {
      const decoder = new MessageDecoder();
      output.use(
        new FrameSink(stream, (err) => log('warn', 'agent.transport', `transport write failed: ${err.message}`)),
      );
      stream.on('data', (chunk: Buffer) => {
        agent?.heard();
        try {
          for (const m of decoder.push(chunk)) agent?.receive(m);
        } catch (err) {
          log('error', 'agent.transport', `closing the transport: ${(err as Error).message}`);
          stream.destroy();
        }
        logs.flush();
      });
    },
    detach() {
      output.use(undefined);
    },
  };
  agent = new Agent({
    output,
    log,
    scanner,
    silenceTimeoutMs: options.silenceTimeoutMs,
    features: io.features ?? defaultFeatures(transports, io.quic ?? quicLoader(options.quic)),
    signature: io.signature === null ? undefined : (io.signature ?? socketTableSignature()),
    info: { version: AGENT_VERSION, platform: process.platform, arch: process.arch, pid: process.pid },
  });
  const running = agent;
  running.start();

  const decoder = new MessageDecoder();
  io.stdin.on('data', (chunk: Buffer) => {
    running.heard();
    let messages: ReturnType<MessageDecoder['push']>;
    try {
      messages = decoder.push(chunk);
    } catch (err) {
      exitCode = 1;
      log('error', 'agent', `closing: ${(err as Error).message}`);
      void running.stop(`protocol error from the host: ${(err as Error).message}`);
      return;
    }
    for (const m of messages) running.receive(m);
    logs.flush();
  });
  io.stdin.on('end', () => {
    try {
      decoder.end();
    } catch (err) {
      if (err instanceof ProtocolError) log('warn', 'agent', `stdin ended inside a frame: ${err.message}`);
    }
    void running.stop('stdin closed (the SSH channel is gone)');
  });
  io.stdin.on('close', () => void running.stop('stdin closed (the SSH channel is gone)'));
  io.stdin.on('error', (err) => void running.stop(`stdin failed: ${err.message}`));
  io.onSignal?.((signal) => void running.stop(`received ${signal}`));

  const reason = await running.stopped;
  logs.flush();
  logs.dispose();
  io.stdin.pause();
  await output.current.flushed(EXIT_FLUSH_MS);
  output.current.close();
  sink.close();
  if (exitCode !== 0) io.stderr.write(`port-linker-agent: ${reason}\n`);
  io.exit(exitCode);
  return exitCode;
}
