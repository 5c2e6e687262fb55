// NATS decentralized auth material made offline (no `nsc` needed): an operator, an account and a user
// as signed JWTs, the server config that trusts them, and a .creds file for the user.

import { randomBytes } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';

type KeyPair = ReturnType<typeof nkeys.createUser>;

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function signJwt(claims: Record<string, unknown>, issuer: KeyPair): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const body = b64url(
    JSON.stringify({ jti: randomBytes(16).toString('hex').toUpperCase(), iat: Math.floor(Date.now() / 1000), ...claims }),
  );
  return `${header}.${body}.${b64url(issuer.sign(new TextEncoder().encode(`${header}.${body}`)))}`;
}

export interface OperatorSetup {
  /** nats-server config text trusting the operator, with the account preloaded. */
  serverConfig: string;
  /** A .creds file's text for one user of the account. */
  creds: string;
  userPublicKey: string;
}

/** Operator -> account (no limits) -> user (no permission limits), for `resolver: MEMORY`. */
export function operatorSetup(userName = 'fedhpo-user'): OperatorSetup {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const user = nkeys.createUser();
  const opPub = operator.getPublicKey();
  const accPub = account.getPublicKey();
  const operatorJwt = signJwt({ iss: opPub, sub: opPub, name: 'fedhpo-test-operator', nats: { type: 'operator', version: 2 } }, operator);
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const accountJwt = signJwt(
    {
      iss: opPub,
      sub: accPub,
      name: 'fedhpo-test-account',
      nats: { limits: unlimited, default_permissions: { pub: {}, sub: {} }, type: 'account', version: 2 },
    },
    operator,
  );
  const userJwt = signJwt(
    {
      iss: accPub,
      sub: user.getPublicKey(),
      name: userName,
      nats: { pub: {}, sub: {}, subs: -1, data: -1, payload: -1, type: 'user', version: 2 },
    },
    account,
  );
  const serverConfig = [`operator: "${operatorJwt}"`, 'resolver: MEMORY', `resolver_preload: {`, `  ${accPub}: "${accountJwt}"`, '}'].join(
    '\n',
  );
  const creds = [
    '-----BEGIN NATS USER JWT-----',
    userJwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    text(user.getSeed()),
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
  return { serverConfig, creds, userPublicKey: user.getPublicKey() };
}
