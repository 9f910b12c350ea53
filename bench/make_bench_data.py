#!/usr/bin/env python3
"""Builds the input of `pytorch_reference.py bench` from a CoNLL-style corpus file.

  make_bench_data.py CORPUS.tsv N_SENTENCES OUT.json [--max-word-chars 30]

CORPUS.tsv: one `TOKEN<TAB>TAG` per line, a blank line between sentences (NCBI-disease style). Takes the
first N sentences in file order. Tags: O -> 0, B-<type> -> 1, I-<type> -> 2 (one entity type; a second type
is an error). Characters: Unicode code points, the vocabulary built from the characters of those N sentences,
sorted by count (descending) then code point, ids from 1 (0 is padding); words are cut to --max-word-chars
characters (30 = the TF.js featurizer's DEFAULT_SHAPE.maxWordChars; 0 keeps whole words). Deterministic:
same file and arguments, byte-identical output. Standard library only.
"""
import argparse
import collections
import json
import sys


def read_sentences(path, limit):
    sentences, cur = [], []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\r\n')
            if not line.strip():
                if cur:
                    sentences.append(cur)
                    cur = []
                    if len(sentences) == limit:
                        return sentences
                continue
            parts = line.split('\t')
            if len(parts) != 2 or not parts[0]:
                raise SystemExit('%s:%d: expected TOKEN<TAB>TAG, got %r' % (path, lineno, line))
            cur.append((parts[0], parts[1]))
    if cur:
        sentences.append(cur)
    return sentences[:limit]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('corpus')
    p.add_argument('n_sentences', type=int)
    p.add_argument('out')
    p.add_argument('--max-word-chars', type=int, default=30)
    p.add_argument('--batch-sizes', default='5,10,32')
    p.add_argument('--infer-batch', type=int, default=64)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--repeats', type=int, default=20)
    args = p.parse_args()
    if args.n_sentences < 1:
        raise SystemExit('n_sentences must be >= 1')

    sentences = read_sentences(args.corpus, args.n_sentences)
    if len(sentences) < args.n_sentences:
        sys.stderr.write('note: %s has only %d sentences\n' % (args.corpus, len(sentences)))
    types = sorted({tag[2:] for s in sentences for _, tag in s if tag != 'O'})
    if len(types) > 1:
        raise SystemExit('more than one entity type in %s: %s' % (args.corpus, ', '.join(types)))
    name = types[0] if types else 'ENTITY'   # no entity in these sentences: the type's name is unknown
    tag_ids = {'O': 0, 'B-' + name: 1, 'I-' + name: 2}

    cut = (lambda w: w[:args.max_word_chars]) if args.max_word_chars > 0 else (lambda w: w)
    counts = collections.Counter(ch for s in sentences for tok, _ in s for ch in cut(tok))
    chars = sorted(counts, key=lambda ch: (-counts[ch], ord(ch)))
    char_ids = {ch: i + 1 for i, ch in enumerate(chars)}

    out = []
    for i, s in enumerate(sentences):
        try:
            tags = [tag_ids[tag] for _, tag in s]
        except KeyError as e:
            raise SystemExit('sentence %d: unknown tag %s (expected O, B-<type>, I-<type>)' % (i, e))
        out.append({'chars': [[char_ids[ch] for ch in cut(tok)] for tok, _ in s], 'tags': tags})

    data = {
        'source': '/'.join(args.corpus.replace('\\', '/').split('/')[-2:]),
        'tag_names': ['O', 'B-' + name, 'I-' + name],
        'n_tags': 3,
        'char_vocab': chars,   # char_vocab[k] has id k + 1
        'n_chars': len(chars) + 1,
        'max_word_chars': args.max_word_chars,
        'batch_sizes': [int(b) for b in args.batch_sizes.split(',')],
        'infer_batch': args.infer_batch,
        'warmup': args.warmup,
        'repeats': args.repeats,
        'tokens': sum(len(s) for s in sentences),
        'sentences': out,
    }
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(data, f, ensure_ascii=False, separators=(',', ':'))
        f.write('\n')
    sys.stderr.write('%d sentences, %d tokens, %d chars (+ padding) -> %s\n'
                     % (len(out), data['tokens'], len(chars), args.out))


if __name__ == '__main__':
    main()
