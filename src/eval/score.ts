// One generated answer against its task reference.
import type { Reference } from '../data/tasks/types.js';
import { scoreNumber } from './extract.js';
import { scoreCode, scoreScript, type SandboxOptions } from './sandbox.js';
import { exactMatch, firstAnswerSpan, tokenF1 } from './text-metrics.js';

/**
 * Score in [0, 1]: `number` → 1 when the GSM8K-extracted number matches; `code` → pass@1 of the
 * extracted function in the sandbox; `text` → exact match or token F1 (per `metric`) of the answer
 * span — the first line, or up to the first blank line when a reference answer spans lines
 * (firstAnswerSpan) — against any reference answer; `script` → pass@1 of prefix + output against
 * the record's JavaScript test code (scoreScript).
 */
export async function scoreOutput(output: string, ref: Reference, sandbox?: SandboxOptions): Promise<number> {
  switch (ref.kind) {
    case 'number':
      return scoreNumber(output, ref.value);
    case 'code':
      return scoreCode(output, ref, sandbox);
    case 'script':
      return scoreScript(output, ref, sandbox);
    case 'none':
      throw new Error('scoreOutput: a record without a scored answer (loss and token accuracy only)');
    case 'text': {
      const span = firstAnswerSpan(
        output,
        ref.answers.some((a) => a.includes('\n')),
      );
      return ref.metric === 'exact' ? exactMatch(span, ref.answers) : tokenF1(span, ref.answers);
    }
  }
}
