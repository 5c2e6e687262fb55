// A 50 MB record capped at a sequence length costs what a short record does (issue 8, defect 9: it was
// tokenized in full first, up to 20 s and 3.4 GB per record). Its own file, so that this process's
// peak RSS reflects this test alone.
import { describe, expect, it } from 'vitest';
import { encodeExample } from '../../src/data/batching.js';
import { loadTokenizer } from '../../src/data/tokenizer-io.js';
import { ByteTokenizer, type Tokenizer } from '../../src/data/tokenizer.js';

const MB = 2 ** 20;
const SIZE = 50 * MB;
const SEQ_LEN = 512;

/** A flat string of `bytes` UTF-8 bytes repeating `unit` (built through a Buffer, so no rope is left to flatten later). */
function repeated(unit: string, bytes: number): string {
  return Buffer.alloc(bytes, unit).toString('utf8');
}

describe('a 50 MB record under --seq-len', () => {
  it('encodes to the capped length quickly and without large memory', async () => {
    const bpe = await loadTokenizer('models/fedhpo-base');
    const records = {
      prose: repeated('The quick brown fox jumps over the lazy dog, 42 times. ', SIZE),
      'one long word': repeated('x', SIZE),
      whitespace: repeated(' \n', SIZE),
      'multi-byte': repeated('日本語のテキスト😀', SIZE),
    };
    const tokenizers: [string, Tokenizer][] = [
      ['bpe', bpe],
      ['bytes', new ByteTokenizer()],
    ];
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    for (const [tokName, tok] of tokenizers) {
      for (const [name, text] of Object.entries(records)) {
        for (const [prompt, target] of [
          [text, 'ok'],
          ['Q: ', text],
        ] as const) {
          const { ids, labels } = encodeExample(tok, { prompt, target, meta: {} }, SEQ_LEN);
          expect(ids.length, `${tokName} ${name}`).toBe(SEQ_LEN + 1);
          expect(labels.length).toBe(SEQ_LEN);
          // The ids spell the start of the record (the last may end inside a multi-byte character).
          const decoded = tok.decode(ids).replace(/\uFFFD$/, '');
          const start = prompt === text ? decoded : decoded.slice(prompt.length);
          expect(text.startsWith(start) && start.length > 0, `${tokName} ${name}`).toBe(true);
        }
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const peakGrowth = process.resourceUsage().maxRSS * 1024 - rssBefore;
    // Full tokenization took ~20 s and GBs per record; bounded it is milliseconds and kilobytes.
    expect(seconds).toBeLessThan(10);
    expect(peakGrowth).toBeLessThan(200 * MB);
  });
});
