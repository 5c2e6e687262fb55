import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_ENV, natsConnectionOptions, natsOptionsFromCli } from '../../src/actors/transport-nats-options.js';
import { UserError } from '../../src/engine/errors.js';

describe('natsOptionsFromCli', () => {
  it('is undefined without --nats (the in-process transport)', () => {
    expect(natsOptionsFromCli({})).toBeUndefined();
  });

  it('maps URL(s) and each authentication method', () => {
    expect(natsOptionsFromCli({ nats: 'nats://a:4222,b:4223' })).toEqual({ servers: ['nats://a:4222', 'nats://b:4223'] });
    expect(natsOptionsFromCli({ nats: ['tls://a:4222', 'c'] })).toEqual({ servers: ['tls://a:4222', 'nats://c'] });
    expect(natsOptionsFromCli({ nats: 'a', natsToken: 't0k' })).toEqual({ servers: ['nats://a'], token: 't0k' });
    expect(natsOptionsFromCli({ nats: 'a', natsUser: 'u', natsPassword: 'p' })).toEqual({
      servers: ['nats://a'],
      user: 'u',
      password: 'p',
    });
    expect(natsOptionsFromCli({ nats: 'a', natsNkey: 'seed.nk' })).toEqual({ servers: ['nats://a'], nkeySeedFile: 'seed.nk' });
    expect(natsOptionsFromCli({ nats: 'a', natsCreds: 'u.creds' })).toEqual({ servers: ['nats://a'], credsFile: 'u.creds' });
    expect(natsOptionsFromCli({ nats: 'a', natsTlsCa: 'ca.pem', natsTlsCert: 'c.pem', natsTlsKey: 'k.pem' })).toEqual({
      servers: ['nats://a'],
      tls: { caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' },
    });
  });

  it('takes secrets from the environment when the flag is absent', () => {
    expect(natsOptionsFromCli({ nats: 'a' }, { [NATS_ENV.token]: 'env-tok' })).toEqual({ servers: ['nats://a'], token: 'env-tok' });
    expect(natsOptionsFromCli({ nats: 'a', natsUser: 'u' }, { [NATS_ENV.password]: 'env-pw' })).toEqual({
      servers: ['nats://a'],
      user: 'u',
      password: 'env-pw',
    });
    expect(natsOptionsFromCli({ nats: 'a', natsToken: 'flag' }, { [NATS_ENV.token]: 'env' })?.token).toBe('flag');
  });

  it('rejects inconsistent flags with a UserError naming them', () => {
    const cases: [Parameters<typeof natsOptionsFromCli>[0], RegExp][] = [
      [{ natsToken: 't' }, /--nats-token needs --nats URL/],
      [{ natsTlsCa: 'x' }, /--nats-tls-ca needs --nats URL/],
      [{ nats: ' , ' }, /no server URL/],
      [{ nats: 'http://a:80' }, /scheme http: is not supported/],
      [{ nats: 'nats://u:p@a:4222' }, /not in the URL/],
      [{ nats: 'a', natsPassword: 'p' }, /--nats-password needs --nats-user/],
      [{ nats: 'a', natsUser: 'u' }, /--nats-user u: give its password/],
      [{ nats: 'a', natsToken: 't', natsCreds: 'c' }, /choose one NATS authentication, not --nats-token and --nats-creds/],
      [{ nats: 'a', natsNkey: 'n', natsUser: 'u', natsPassword: 'p' }, /not --nats-user and --nats-nkey/],
      [{ nats: 'a', natsTlsCert: 'c' }, /--nats-tls-cert and --nats-tls-key go together/],
    ];
    for (const [args, re] of cases) {
      expect(() => natsOptionsFromCli(args), JSON.stringify(args)).toThrow(re);
      expect(() => natsOptionsFromCli(args)).toThrow(UserError);
    }
  });
});

describe('natsConnectionOptions', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedhpo-nats-opts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds the client options: servers, authenticator, TLS files read in', async () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    await writeFile(join(dir, 'user.nk'), `${seed}\n`);
    await writeFile(join(dir, 'ca.pem'), 'CA PEM');
    const o = await natsConnectionOptions({ servers: ['a:1'], nkeySeedFile: join(dir, 'user.nk'), tls: { caFile: join(dir, 'ca.pem') } });
    expect(o.servers).toEqual(['nats://a:1']);
    expect(o.tls).toEqual({ ca: 'CA PEM' });
    const auth = o.authenticator as (nonce?: string) => { nkey?: string; sig?: string };
    expect(auth('nonce').nkey).toMatch(/^U[A-Z0-9]{55}$/);
    const token = await natsConnectionOptions({ servers: ['a'], token: 's3cret' });
    expect((token.authenticator as () => unknown)()).toEqual({ auth_token: 's3cret' });
    expect((await natsConnectionOptions({ servers: ['tls://a'] })).tls).toEqual({});
    expect((await natsConnectionOptions({ servers: ['a'] })).authenticator).toBeUndefined();
  });

  it('fails early and clearly on missing or wrong secret files', async () => {
    await writeFile(join(dir, 'junk'), 'not a seed');
    await expect(natsConnectionOptions({ servers: ['a'], nkeySeedFile: join(dir, 'missing') })).rejects.toThrow(
      /missing: cannot read: no such file/,
    );
    await expect(natsConnectionOptions({ servers: ['a'], nkeySeedFile: join(dir, 'junk') })).rejects.toThrow(
      /--nats-nkey .*junk: not an nkey seed/,
    );
    await expect(natsConnectionOptions({ servers: ['a'], credsFile: join(dir, 'junk') })).rejects.toThrow(
      /--nats-creds .*junk: not a NATS credentials file/,
    );
    await expect(natsConnectionOptions({ servers: ['a'], credsFile: dir })).rejects.toThrow(/not a regular file/);
    await expect(natsConnectionOptions({ servers: ['a'], tls: { certFile: join(dir, 'junk') } })).rejects.toThrow(/needs its key file/);
    await expect(natsConnectionOptions({ servers: ['a'], token: 't', user: 'u', password: 'p' })).rejects.toThrow(
      /choose one authentication/,
    );
  });
});
