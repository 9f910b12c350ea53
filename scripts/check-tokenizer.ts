/**
 * How closely the raw-text tokenizer and sentence splitter reproduce each corpus (train splits):
 *   node --import tsx scripts/check-tokenizer.ts            prints the tables
 *   node --import tsx scripts/check-tokenizer.ts --write    also puts them into docs/results/tokenizer.md
 * Corpora come from $METABIONER_CORPORA, else ../shared/corpora.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { corporaRoot, listCorpora, loadSplit } from '../training/data/corpora';
import { writeFileAtomic } from '../training/io/atomic';
import { packageRoot } from '../training/io/paths';
import { checkAgainstCorpus, checkSentenceSplitting, unreproducedTokens } from '../training/text/tokenizer-check';

const pct = (x: number, digits = 2) => (100 * x).toFixed(digits);
const root = corporaRoot();
const corpora = listCorpora(root);
if (corpora.length === 0) {
  process.stderr.write(`no corpora under ${root} (set METABIONER_CORPORA)\n`);
  process.exit(1);
}

const tokenRows: string[] = [];
const sentenceRows: string[] = [];
const misses: string[] = [];
for (const corpus of corpora) {
  const sentences = loadSplit(root, corpus, 'train');
  const spaces = checkAgainstCorpus(sentences, 'spaces');
  const natural = checkAgainstCorpus(sentences, 'natural');
  const split = checkSentenceSplitting(sentences);
  tokenRows.push(
    `| ${corpus} | ${spaces.sentences} | ${spaces.tokens} | ${pct(spaces.exactSentences, 1)} | ${pct(spaces.tokenAgreement)} | ${pct(natural.exactSentences, 1)} | ${pct(natural.tokenAgreement)} |`,
  );
  sentenceRows.push(
    `| ${corpus} | ${split.boundaries} | ${pct(split.precision, 1)} | ${pct(split.recall, 1)} | ${pct(split.recallAfterPunctuation, 1)} | ${pct(split.f1, 1)} | ${pct(split.exactSentences, 1)} |`,
  );
  const top = unreproducedTokens(sentences, 'natural', 12);
  if (top.length) misses.push(`- ${corpus}: ${top.map(([t, n]) => `\`${t}\` ${n}`).join(', ')}`);
}

const tables = [
  'Tokens (`checkAgainstCorpus`): each corpus sentence rebuilt as text, re-tokenized, compared span by span.',
  '',
  '| corpus | sentences | tokens | spaces: exact sentences % | spaces: token agreement (F1) % | natural: exact sentences % | natural: token agreement (F1) % |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...tokenRows,
  '',
  'Sentences (`checkSentenceSplitting`): runs of 50 consecutive corpus sentences rebuilt as natural text joined by single spaces, split again.',
  '',
  '| corpus | boundaries | precision % | recall % | recall after `.` `?` `!` % | F1 % | exact sentences % |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...sentenceRows,
  '',
  'Corpus tokens most often not reproduced (natural text):',
  '',
  ...(misses.length ? misses : ['- none']),
].join('\n');

process.stdout.write(tables + '\n');

if (process.argv.includes('--write')) {
  const doc = path.join(packageRoot(), 'docs', 'results', 'tokenizer.md');
  const begin = '<!-- tables: scripts/check-tokenizer.ts -->';
  const end = '<!-- /tables -->';
  const old = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8') : '';
  const a = old.indexOf(begin);
  const b = old.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${doc} has no "${begin}" … "${end}" section to fill`);
  writeFileAtomic(doc, old.slice(0, a + begin.length) + '\n' + tables + '\n' + old.slice(b));
  process.stdout.write(`wrote ${doc}\n`);
}
