import type { Sentence, TokenSpan } from './types';

/**
 * Entities of an IOB2 tag sequence. Like conlleval, a chunk also starts at an `I-X` that follows `O` or
 * another type; with `strict`, such an `I-X` belongs to no entity.
 */
export function spansFromTags(tags: readonly string[], opts: { strict?: boolean } = {}): TokenSpan[] {
  const spans: TokenSpan[] = [];
  let cur: TokenSpan | null = null;
  const close = (end: number) => {
    if (cur) {
      cur.end = end;
      spans.push(cur);
      cur = null;
    }
  };
  tags.forEach((tag, i) => {
    if (tag === 'O') return close(i);
    const prefix = tag[0];
    const type = tag.slice(2);
    const continues = cur !== null && cur.type === type && (prefix === 'I' || prefix === 'E');
    if (continues) return;
    close(i);
    if (prefix === 'I' && opts.strict) return;
    cur = { type, start: i, end: i + 1 };
  });
  close(tags.length);
  return spans;
}

export function tagsFromSpans(spans: readonly TokenSpan[], length: number): string[] {
  const tags = new Array<string>(length).fill('O');
  for (const s of spans) {
    tags[s.start] = `B-${s.type}`;
    for (let i = s.start + 1; i < s.end; i++) tags[i] = `I-${s.type}`;
  }
  return tags;
}

/** `I-X` that does not continue an `X` entity becomes `B-X`, as IOB1 → IOB2 conversion does. */
export function repairIob2(tags: readonly string[]): string[] {
  return tags.map((t, i) => {
    if (!t.startsWith('I-')) return t;
    const prev = i > 0 ? tags[i - 1] : 'O';
    return prev !== 'O' && prev.slice(2) === t.slice(2) ? t : `B-${t.slice(2)}`;
  });
}

export function iob2ToBioes(tags: readonly string[]): string[] {
  const out = new Array<string>(tags.length).fill('O');
  for (const s of spansFromTags(tags)) {
    if (s.end - s.start === 1) out[s.start] = `S-${s.type}`;
    else {
      out[s.start] = `B-${s.type}`;
      for (let i = s.start + 1; i < s.end - 1; i++) out[i] = `I-${s.type}`;
      out[s.end - 1] = `E-${s.type}`;
    }
  }
  return out;
}

/** BIOES back to IOB2; a malformed sequence is read leniently (every B-/S- starts an entity). */
export function bioesToIob2(tags: readonly string[]): string[] {
  return tags.map((t, i) => {
    if (t === 'O') return 'O';
    const type = t.slice(2);
    switch (t[0]) {
      case 'B':
      case 'S':
        return `B-${type}`;
      case 'I':
      case 'E': {
        const prev = i > 0 ? tags[i - 1] : 'O';
        const continues = (prev[0] === 'B' || prev[0] === 'I') && prev.slice(2) === type;
        return continues ? `I-${type}` : `B-${type}`;
      }
      default:
        throw new Error(`"${t}" is not a BIOES tag`);
    }
  });
}

/** Entity types used in the sentences, in order of first appearance. */
export function entityTypes(sentences: readonly Pick<Sentence, 'tags'>[]): string[] {
  const seen = new Set<string>();
  for (const s of sentences) for (const t of s.tags) if (t !== 'O') seen.add(t.slice(2));
  return [...seen];
}
