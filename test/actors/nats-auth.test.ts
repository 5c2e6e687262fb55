// Each way to authenticate, against a nats-server that demands it: the right secret connects and
// carries messages, a missing or wrong one fails at connect with a one-line UserError.

import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { NatsConnectOptions } from '../../src/actors/transport-nats-options.js';
import { NatsTransport } from '../../src/actors/transport-nats.js';
import { UserError } from '../../src/engine/errors.js';
import { operatorSetup } from '../helpers/nats-creds.js';
import { NatsServer, type NatsServerOptions } from '../helpers/nats-server.js';
import { Inbox } from './transport-conformance.js';

const servers: NatsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

async function start(opts: NatsServerOptions): Promise<NatsServer> {
  const s = await NatsServer.start(opts);
  servers.push(s);
  return s;
}

/** Connects with `conn`, sends one message to itself, closes. */
async function roundTrip(conn: Omit<NatsConnectOptions, 'servers'>, server: NatsServer): Promise<string> {
  const t = await NatsTransport.connect({ connection: { servers: [server.url], ...conn } });
  try {
    const inbox = new Inbox();
    t.subscribe('auth.check', inbox.handler);
    await t.flush();
    t.publish('auth.check', new TextEncoder().encode('hello'));
    return new TextDecoder().decode((await inbox.waitFor(1))[0]!.payload);
  } finally {
    await t.close();
  }
}

async function refused(conn: Omit<NatsConnectOptions, 'servers'>, server: NatsServer, connectTimeoutMs = 3000): Promise<UserError> {
  const e = await NatsTransport.connect({ connection: { servers: [server.url], ...conn }, connectTimeoutMs }).then(
    () => {
      throw new Error('connected, expected a refusal');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  expect((e as Error).message).not.toContain('\n');
  return e as UserError;
}

const hasOpenssl = ((): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('NATS authentication options', () => {
  it('token', async () => {
    const s = await start({ config: 'authorization { token: "t0ken-s3cret" }' });
    expect(await roundTrip({ token: 't0ken-s3cret' }, s)).toBe('hello');
    expect((await refused({ token: 'wrong' }, s)).message).toMatch(/cannot connect: .*[Aa]uthorization/);
    await refused({}, s);
  });

  it('user and password', async () => {
    const s = await start({ config: 'authorization { users: [ { user: alice, password: "pa55" } ] }' });
    expect(await roundTrip({ user: 'alice', password: 'pa55' }, s)).toBe('hello');
    await refused({ user: 'alice', password: 'nope' }, s);
  });

  it('nkey seed file', async () => {
    const user = nkeys.createUser();
    const s = await start({ config: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }` });
    const seedFile = join(s.dir, 'user.nk');
    await writeFile(seedFile, new TextDecoder().decode(user.getSeed()));
    expect(await roundTrip({ nkeySeedFile: seedFile }, s)).toBe('hello');
    const otherFile = join(s.dir, 'other.nk');
    await writeFile(otherFile, new TextDecoder().decode(nkeys.createUser().getSeed()));
    await refused({ nkeySeedFile: otherFile }, s);
  });

  it('creds file (operator -> account -> user JWTs made offline)', async () => {
    const trusted = operatorSetup();
    const s = await start({ config: trusted.serverConfig });
    const credsFile = join(s.dir, 'user.creds');
    await writeFile(credsFile, trusted.creds);
    expect(await roundTrip({ credsFile }, s)).toBe('hello');
    // A user of an account the server does not trust.
    const strangerFile = join(s.dir, 'stranger.creds');
    await writeFile(strangerFile, operatorSetup().creds);
    await refused({ credsFile: strangerFile }, s);
  });

  it.skipIf(!hasOpenssl)('TLS with a private CA and client certificates (needs openssl)', async () => {
    const s0 = await start({}); // only for its temporary directory
    const d = s0.dir;
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: d, stdio: 'ignore' });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=fedhpo-test-ca');
    // DNS:localhost too: for a server given by IP the client sends no SNI name and Node then checks 'localhost'.
    for (const [name, ext] of [
      ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'],
      ['client', 'extendedKeyUsage=clientAuth\n'],
    ] as const) {
      await writeFile(join(d, `${name}.ext`), ext);
      ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=fedhpo-test-${name}`);
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      );
    }
    const s = await start({
      config: `tls { cert_file: "${d}/server.pem", key_file: "${d}/server.key", ca_file: "${d}/ca.pem", verify: true, timeout: 2 }`,
    });
    const tls = { caFile: join(d, 'ca.pem'), certFile: join(d, 'client.pem'), keyFile: join(d, 'client.key') };
    expect(await roundTrip({ tls }, s)).toBe('hello');
    // Without a client certificate the server drops the connection after the handshake: the client times out.
    await refused({ tls: { caFile: tls.caFile } }, s, 1000);
    expect((await refused({ tls: { certFile: tls.certFile, keyFile: tls.keyFile } }, s)).message).toMatch(/unable to verify/); // server's CA not trusted
  });
});
