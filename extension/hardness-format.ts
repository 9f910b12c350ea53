/** Pure helpers of the hardness view (no `vscode` import: tested in plain Node). */
import type { TaskSentence } from '../server/protocol';

/** A sentence as one line with the character ranges of its entities (for the tree item's highlights). */
export function sentenceLabel(s: TaskSentence): { text: string; highlights: [number, number][]; types: string[] } {
  const offsets: number[] = [];
  let text = '';
  s.tokens.forEach((t, i) => {
    if (i) text += ' ';
    offsets.push(text.length);
    text += t;
  });
  const highlights = s.entities.map((e): [number, number] => [offsets[e.start], offsets[e.end - 1] + s.tokens[e.end - 1].length]);
  return { text, highlights, types: [...new Set(s.entities.map((e) => e.type))] };
}

/** The line (0-based) where a sentence's token rows start in a corpus file, if it is there. */
export function findSentenceLine(content: string, tokens: string[]): number | undefined {
  const lines = content.split(/\r?\n/);
  const first = (l: string) => l.split('\t')[0];
  for (let i = 0; i + tokens.length <= lines.length; i++) {
    if (first(lines[i]) !== tokens[0] || (i > 0 && lines[i - 1].trim() !== '')) continue;
    let ok = true;
    for (let k = 1; k < tokens.length && ok; k++) ok = first(lines[i + k]) === tokens[k];
    if (ok) return i;
  }
  return undefined;
}
