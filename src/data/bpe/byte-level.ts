// GPT-2's byte <-> printable-character mapping: inside a byte-level BPE vocabulary every byte of the
// UTF-8 text is spelled with one printable character (space is 'Ġ', newline 'Ċ').

export const UTF8 = new TextEncoder();

/** GPT-2's bytes_to_unicode: byte b is written as the character BYTE_TO_CHAR[b] inside tokens. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out: string[] = new Array<string>(256);
  bs.forEach((b, i) => {
    out[b] = String.fromCodePoint(cs[i]!);
  });
  return out;
})();

/** The inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The byte-level spelling of a string: its UTF-8 bytes, each written with BYTE_TO_CHAR. */
export function toByteLevel(text: string): string {
  let s = '';
  for (const b of UTF8.encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}

/** The bytes a vocab token stands for: its byte-level spelling read back, or else its UTF-8 text. */
export function tokenBytes(token: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return UTF8.encode(token);
    bytes.push(b);
  }
  return Uint8Array.from(bytes);
}
