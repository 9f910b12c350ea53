/**
 * How closely the raw-text tokenizer reproduces each corpus' own tokenization (train splits):
 *   node --import tsx scripts/check-tokenizer.ts   → docs/results/tokenizer.md
 */
import * as path from 'node:path';
import { corporaRoot, listCorpora, loadSplit } from '../training/data/corpora';
import { writeFileAtomic } from '../training/io/atomic';
import { checkAgainstCorpus, naturalJoined, spaceJoined } from '../training/text/tokenizer-check';

const root = corporaRoot();
const rows = listCorpora(root).map((c) => {
  const s = loadSplit(root, c, 'train');
  const a = checkAgainstCorpus(s, spaceJoined);
  const b = checkAgainstCorpus(s, naturalJoined);
  return `| ${c} | ${a.sentences} | ${a.tokens} | ${(100 * a.exactSentences).toFixed(1)} | ${(100 * a.tokenF1).toFixed(2)} | ${(100 * b.exactSentences).toFixed(1)} | ${(100 * b.tokenF1).toFixed(2)} |`;
});
const table = [
  '| corpus | sentences | tokens | space-joined: exact sentences % | space-joined: token F1 % | natural text: exact sentences % | natural text: token F1 % |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
].join('\n');
process.stdout.write(table + '\n');
writeFileAtomic(
  path.join(__dirname, '..', 'docs', 'results', 'tokenizer.md'),
  '# Tokenizer against the corpora\n\n`node --import tsx scripts/check-tokenizer.ts` (train splits). Each corpus sentence is turned back into ' +
    'text twice — tokens joined by single spaces, and "natural" text glued where prose has no space (before `,` `.` `)`, after `(`, ' +
    'around `-` and `/`) — then re-tokenized by `training/text/tokenizer.ts`; a sentence counts as exact when every token matches.\n\n' +
    table +
    '\n',
);
