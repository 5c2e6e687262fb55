// The Hugging Face `normalizer` section: the Unicode normal forms and Lowercase, alone or in a Sequence.
import type { Fail } from './errors.js';
import { childPath, describeJson, JsonShape } from './json-shape.js';

export type Normalize = (text: string) => string;

/** The normalizing function a `normalizer` section describes, or null for none. */
export function parseNormalizer(json: unknown, fail: Fail, path = 'normalizer'): Normalize | null {
  if (json === null || json === undefined) return null;
  const shape = new JsonShape(fail);
  shape.depth(json, path);
  const steps: Normalize[] = [];
  const visit = (node: unknown, at: string): void => {
    const n = shape.object(node, at);
    switch (n.type) {
      case 'Sequence': {
        const listPath = childPath(at, 'normalizers');
        const children = shape.array(n.normalizers, listPath);
        for (let i = 0; i < children.length; i++) visit(children[i], childPath(listPath, i));
        return;
      }
      case 'NFC':
      case 'NFD':
      case 'NFKC':
      case 'NFKD': {
        const form = n.type;
        steps.push((s) => s.normalize(form));
        return;
      }
      case 'Lowercase':
        steps.push((s) => s.toLowerCase());
        return;
      default:
        fail(`unsupported normalizer ${describeJson(n.type)} at ${at} (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)`);
    }
  };
  visit(json, path);
  if (steps.length === 0) return null;
  return (s) => steps.reduce((acc, f) => f(acc), s);
}
