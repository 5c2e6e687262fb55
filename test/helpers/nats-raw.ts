// Publishing to a nats-server as an attacker would: a plain client connection (no fedhpo transport,
// so any headers can be forged) or raw protocol bytes over TCP (anything at all).

import { Socket } from 'node:net';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';

export async function plainConnection(url: string, opts: { user?: string; pass?: string; token?: string } = {}): Promise<NatsConnection> {
  return connect({ servers: url, reconnect: false, ...opts });
}

/** Publishes `payload` on `subject` with exactly these headers from a plain connection. */
export function publishWithHeaders(nc: NatsConnection, subject: string, payload: Uint8Array, hdrs: [string, string][]): void {
  const h = headers();
  for (const [k, v] of hdrs) h.append(k, v);
  nc.publish(subject, payload, { headers: h });
}

/**
 * Sends HPUB frames with arbitrary header blocks (not even "NATS/1.0") over a raw TCP connection, then
 * waits for the server's PONG so that the frames have been processed.
 */
export async function rawHpub(port: number, frames: { subject: string; headerBlock: string; payload: string }[]): Promise<void> {
  const s = new Socket();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.connect(port, '127.0.0.1', () => resolve());
  });
  let seen = '';
  const pong = new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('PONG')) resolve();
      if (seen.includes('-ERR')) reject(new Error(`server refused raw frames: ${seen.slice(seen.indexOf('-ERR'))}`));
    });
  });
  let out = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n';
  for (const f of frames) {
    const hlen = Buffer.byteLength(f.headerBlock, 'latin1');
    out += `HPUB ${f.subject} ${hlen} ${hlen + Buffer.byteLength(f.payload, 'latin1')}\r\n${f.headerBlock}${f.payload}\r\n`;
  }
  s.write(Buffer.from(`${out}PING\r\n`, 'latin1'));
  try {
    await pong;
  } finally {
    s.destroy();
  }
}
