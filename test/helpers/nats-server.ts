// A real nats-server process for tests: started on a free port with the config text a test gives,
// stopped, or restarted on the same port (to test reconnection). Tests never mock NATS.
//
//   const server = await NatsServer.start({ maxPayload: 64 * 1024, config: 'authorization { token: "s3cret" }' });
//   ... server.url ...
//   await server.restart();
//   await server.stop();

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
/** The shared development server (DESIGN.md: one runs at 127.0.0.1:4222 on every machine and in CI). */
export const SHARED_NATS_URL = 'nats://127.0.0.1:4222';

export interface NatsServerOptions {
  /** Extra nats-server config text (authorization, accounts, tls, ...), written to the config file. */
  config?: string;
  /** The server's max_payload in bytes (default 1 MiB). */
  maxPayload?: number;
  jetstream?: boolean;
  /** A fixed port; a free one when omitted. */
  port?: number;
  /** Extra command-line arguments. */
  args?: string[];
  /** Extra environment variables (a config may refer to them as $NAME). */
  env?: Record<string, string>;
  /** How long to wait for "Server is ready". */
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether something accepts TCP connections at host:port (within timeoutMs). */
export function isListening(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

export class NatsServer {
  private proc: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly configFile: string,
    private readonly opts: NatsServerOptions,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The server's log so far (stderr), for failure messages. */
  get log(): string {
    return this.stderr;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    if (!existsSync(NATS_SERVER_BIN)) throw new Error(`nats-server not found at ${NATS_SERVER_BIN} (set NATS_SERVER_BIN)`);
    const dir = await mkdtemp(join(tmpdir(), 'fedhpo-nats-'));
    const lines = [
      opts.maxPayload !== undefined ? `max_payload: ${opts.maxPayload}` : '',
      opts.jetstream ? `jetstream { store_dir: "${join(dir, 'js')}" }` : '',
      opts.config ?? '',
    ];
    const configFile = join(dir, 'nats-server.conf');
    await writeFile(configFile, `${lines.filter((l) => l).join('\n')}\n`);
    const server = new NatsServer(opts.port ?? (await freePort()), dir, configFile, opts);
    await server.launch();
    return server;
  }

  /** Stops (SIGTERM, then SIGKILL after 5 s) and waits for the process to exit. Idempotent. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    live.delete(p);
  }

  /** Stops and starts again on the same port with the same config (clients see a server restart). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops and removes the temporary directory. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  private launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-c', this.configFile, ...(this.opts.args ?? [])];
    const p = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...this.opts.env } });
    this.proc = p;
    live.add(p);
    this.stderr = '';
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(`nats-server on port ${this.port}: ${why}\n${this.stderr.split('\n').slice(-10).join('\n')}`));
      };
      const timer = setTimeout(() => fail('not ready in time'), this.opts.readyTimeoutMs ?? 10_000);
      p.stderr!.setEncoding('utf8');
      p.stderr!.on('data', (s: string) => {
        this.stderr += s;
        if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
        if (s.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.once('error', (e) => fail(e.message));
      p.once('exit', (code, signal) => {
        live.delete(p);
        if (!this.stderr.includes('Server is ready')) fail(`exited (${code ?? signal}) before it was ready`);
      });
    });
  }
}

/**
 * A nats-server for a test file that needs no special server: its own on a free port when the binary
 * is there, else the shared one at 127.0.0.1:4222; neither -> an Error with one clear line (tests fail,
 * never skip silently).
 */
export async function natsServerForTests(opts: NatsServerOptions = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  if (existsSync(NATS_SERVER_BIN)) {
    const s = await NatsServer.start(opts);
    return { url: s.url, stop: () => s.dispose() };
  }
  if (await isListening(4222)) return { url: SHARED_NATS_URL, stop: async () => {} };
  throw new Error(`no NATS server for the tests: ${NATS_SERVER_BIN} is missing and nothing listens on 127.0.0.1:4222`);
}
