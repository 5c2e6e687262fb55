// How fedhpo connects to NATS: a small options object (what a config file or the CLI gives), a pure
// mapping from the CLI's --nats* flags onto it, and its translation into the client library's
// connection options (reading the secret files here, so that a bad file fails with a message that
// names the flag instead of a handshake error).

import { credsAuthenticator, nkeyAuthenticator, nkeys, tokenAuthenticator, usernamePasswordAuthenticator } from '@nats-io/transport-node';
import type { Authenticator, NodeConnectionOptions } from '@nats-io/transport-node';
import { UserError } from '../engine/errors.js';
import { readRegularText } from '../engine/files.js';

export interface NatsTlsFiles {
  /** PEM CA bundle to verify the server with (instead of the system's). */
  caFile?: string;
  /** PEM client certificate and its key, for servers that verify clients (both or neither). */
  certFile?: string;
  keyFile?: string;
}

/** At most one of token, user+password, nkeySeedFile and credsFile. */
export interface NatsConnectOptions {
  /** nats://host:port or tls://host:port, one or more (a cluster's seed servers). */
  servers: string[];
  token?: string;
  user?: string;
  password?: string;
  /** A file holding an nkey user seed (SU...). */
  nkeySeedFile?: string;
  /** A .creds file (user JWT + seed), as `nsc` writes it. */
  credsFile?: string;
  /** TLS is required when this is set or a server URL is tls://. */
  tls?: NatsTlsFiles;
}

/** The CLI flags (yargs camel-cases --nats-token to natsToken, and so on). */
export interface NatsCliArgs {
  nats?: string | string[];
  natsToken?: string;
  natsUser?: string;
  natsPassword?: string;
  natsNkey?: string;
  natsCreds?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
}

/** Secrets may come from the environment instead of the command line (where `ps` shows them). */
export const NATS_ENV = { token: 'FEDHPO_NATS_TOKEN', password: 'FEDHPO_NATS_PASSWORD' } as const;

/**
 * Maps the CLI flags onto NatsConnectOptions; undefined when --nats is absent (the in-process
 * transport). Pure: `env` is passed in. Throws UserError naming the flag for any inconsistency.
 */
export function natsOptionsFromCli(
  args: NatsCliArgs,
  env: Readonly<Record<string, string | undefined>> = {},
): NatsConnectOptions | undefined {
  const urls = (Array.isArray(args.nats) ? args.nats : args.nats === undefined ? [] : [args.nats])
    .flatMap((u) => u.split(','))
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  const given = (Object.keys(args) as (keyof NatsCliArgs)[]).filter((k) => k !== 'nats' && args[k] !== undefined);
  if (urls.length === 0) {
    if (args.nats !== undefined) throw new UserError('--nats: no server URL given');
    if (given.length > 0) throw new UserError(`${flag(given[0]!)} needs --nats URL`);
    return undefined;
  }
  const servers = urls.map(normalizeServerUrl);
  const token = args.natsToken ?? env[NATS_ENV.token];
  const password = args.natsPassword ?? (args.natsUser !== undefined ? env[NATS_ENV.password] : undefined);
  if (args.natsPassword !== undefined && args.natsUser === undefined) throw new UserError('--nats-password needs --nats-user');
  if (args.natsUser !== undefined && password === undefined) {
    throw new UserError(`--nats-user ${args.natsUser}: give its password with --nats-password or ${NATS_ENV.password}`);
  }
  const methods = [
    token !== undefined && '--nats-token',
    args.natsUser !== undefined && '--nats-user',
    args.natsNkey !== undefined && '--nats-nkey',
    args.natsCreds !== undefined && '--nats-creds',
  ].filter((m): m is string => m !== false);
  if (methods.length > 1) throw new UserError(`choose one NATS authentication, not ${methods.join(' and ')}`);
  if ((args.natsTlsCert === undefined) !== (args.natsTlsKey === undefined))
    throw new UserError('--nats-tls-cert and --nats-tls-key go together');
  const tlsGiven = args.natsTlsCa !== undefined || args.natsTlsCert !== undefined;
  const opts: NatsConnectOptions = { servers };
  if (token !== undefined) opts.token = token;
  if (args.natsUser !== undefined) {
    opts.user = args.natsUser;
    opts.password = password;
  }
  if (args.natsNkey !== undefined) opts.nkeySeedFile = args.natsNkey;
  if (args.natsCreds !== undefined) opts.credsFile = args.natsCreds;
  if (tlsGiven) {
    opts.tls = {};
    if (args.natsTlsCa !== undefined) opts.tls.caFile = args.natsTlsCa;
    if (args.natsTlsCert !== undefined) opts.tls.certFile = args.natsTlsCert;
    if (args.natsTlsKey !== undefined) opts.tls.keyFile = args.natsTlsKey;
  }
  return opts;
}

function flag(key: keyof NatsCliArgs): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** host:port, nats://host:port or tls://host:port; other schemes (ws://) need another client. */
export function normalizeServerUrl(url: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `nats://${url}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new UserError(`--nats ${url}: not a server URL (want nats://host:port)`);
  }
  if (u.protocol !== 'nats:' && u.protocol !== 'tls:')
    throw new UserError(`--nats ${url}: scheme ${u.protocol} is not supported (want nats:// or tls://)`);
  if (u.hostname === '') throw new UserError(`--nats ${url}: no host`);
  // The client would silently ignore credentials in the URL; say where they go instead.
  if (u.username !== '' || u.password !== '')
    throw new UserError(`--nats: put credentials in --nats-user/--nats-password or --nats-token, not in the URL`);
  return withScheme;
}

/** Secret files are small; anything bigger is the wrong file. */
const SECRET_FILE_LIMIT = { maxBytes: 1024 * 1024 };

/** A secret file's text; a UserError naming the flag it came from (`--nats-creds /x: not a regular file`). */
async function readSecret(file: string, flag: string): Promise<string> {
  try {
    return await readRegularText(file, SECRET_FILE_LIMIT);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${flag}: ${e.message}`);
    throw e;
  }
}

/** Translates NatsConnectOptions into the client's options, reading and checking the named files. */
export async function natsConnectionOptions(opts: NatsConnectOptions): Promise<NodeConnectionOptions> {
  if (opts.servers.length === 0) throw new UserError('NATS: no server URL given');
  const out: NodeConnectionOptions = { servers: opts.servers.map(normalizeServerUrl) };
  const auth: Authenticator[] = [];
  if (opts.token !== undefined) auth.push(tokenAuthenticator(opts.token));
  if (opts.user !== undefined) auth.push(usernamePasswordAuthenticator(opts.user, opts.password ?? ''));
  if (opts.nkeySeedFile !== undefined) {
    const seed = (await readSecret(opts.nkeySeedFile, '--nats-nkey')).trim();
    try {
      nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
    } catch {
      throw new UserError(`--nats-nkey ${opts.nkeySeedFile}: not an nkey seed (want one line starting with SU)`);
    }
    auth.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  if (opts.credsFile !== undefined) {
    const creds = await readSecret(opts.credsFile, '--nats-creds');
    if (!creds.includes('BEGIN NATS USER JWT') || !creds.includes('BEGIN USER NKEY SEED')) {
      throw new UserError(`--nats-creds ${opts.credsFile}: not a NATS credentials file (want a user JWT and a user nkey seed)`);
    }
    auth.push(credsAuthenticator(new TextEncoder().encode(creds)));
  }
  if (auth.length > 1) throw new UserError('NATS: choose one authentication (token, user+password, nkey or creds)');
  if (auth.length === 1) out.authenticator = auth[0];
  const tlsUrl = opts.servers.some((s) => /^tls:\/\//i.test(s));
  if (opts.tls || tlsUrl) {
    const t = opts.tls ?? {};
    if ((t.certFile === undefined) !== (t.keyFile === undefined))
      throw new UserError('NATS TLS: a client certificate needs its key file and vice versa');
    out.tls = {};
    if (t.caFile !== undefined) out.tls.ca = await readSecret(t.caFile, '--nats-tls-ca');
    if (t.certFile !== undefined) out.tls.cert = await readSecret(t.certFile, '--nats-tls-cert');
    if (t.keyFile !== undefined) out.tls.key = await readSecret(t.keyFile, '--nats-tls-key');
  }
  return out;
}
