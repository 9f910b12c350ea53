import { bioesToIob2, iob2ToBioes } from '../data/tagging-scheme';

/** Characters the char-CNN knows. Id 0 pads words to a common length; id 1 stands for any unseen character. */
export class CharVocab {
  static readonly PAD = 0;
  static readonly UNK = 1;
  private readonly index: Map<string, number>;

  constructor(readonly chars: string[]) {
    this.index = new Map(chars.map((c, i) => [c, i]));
  }

  static build(tokens: Iterable<string>, minCount = 1): CharVocab {
    const counts = new Map<string, number>();
    for (const tok of tokens) for (const ch of tok) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const kept = [...counts.entries()].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new CharVocab(['<pad>', '<unk>', ...kept.map(([ch]) => ch)]);
  }

  get size(): number {
    return this.chars.length;
  }

  idOf(ch: string): number {
    return this.index.get(ch) ?? CharVocab.UNK;
  }
}

export class UnknownLabelError extends Error {
  constructor(readonly label: string, readonly known: readonly string[]) {
    super(`Unknown label "${label}": this model knows ${known.join(', ')}`);
    this.name = 'UnknownLabelError';
  }
}

/**
 * How a tagger's CRF spells entities: IOB2 (B- begins, I- continues) or BIOES (also E- ends a multi-token entity
 * and S- is a single-token one, so the CRF sees where entities end). Corpora and predictions stay IOB2; only the
 * tagger's own tag ids use the scheme.
 */
export type TagScheme = 'iob2' | 'bioes';
export const TAG_SCHEMES: readonly TagScheme[] = ['iob2', 'bioes'];

/** Tag set over entity types: O first, then B-/I- (IOB2) or B-/I-/E-/S- (BIOES) per type in the given order. */
export class TagSet {
  readonly tags: string[];
  private readonly index: Map<string, number>;

  constructor(
    readonly types: string[],
    readonly scheme: TagScheme = 'iob2',
  ) {
    if (!TAG_SCHEMES.includes(scheme)) throw new Error(`unknown tagging scheme "${String(scheme)}" (known: ${TAG_SCHEMES.join(', ')})`);
    this.tags = ['O', ...types.flatMap((t) => this.entityTags(t))];
    this.index = new Map(this.tags.map((t, i) => [t, i]));
  }

  /** Every tag of one type in this scheme. */
  entityTags(type: string): string[] {
    return this.scheme === 'bioes' ? [`B-${type}`, `I-${type}`, `E-${type}`, `S-${type}`] : [`B-${type}`, `I-${type}`];
  }

  /** Tag ids of an IOB2 sequence in this scheme. */
  encode(iob2: readonly string[]): number[] {
    return (this.scheme === 'bioes' ? iob2ToBioes(iob2) : iob2).map((t) => this.id(t));
  }

  /** An IOB2 sequence from this scheme's tag ids. */
  decode(ids: readonly number[]): string[] {
    const tags = ids.map((j) => this.tags[j]);
    return this.scheme === 'bioes' ? bioesToIob2(tags) : tags;
  }

  get size(): number {
    return this.tags.length;
  }

  id(tag: string): number {
    const i = this.index.get(tag);
    if (i === undefined) throw new UnknownLabelError(tag, this.tags);
    return i;
  }

  has(tag: string): boolean {
    return this.index.has(tag);
  }

  /** Tag id of `B-type` / `I-type`. */
  begin(type: string): number {
    return this.id(`B-${type}`);
  }

  inside(type: string): number {
    return this.id(`I-${type}`);
  }
}
