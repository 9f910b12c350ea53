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

/** IOB2 tag set over entity types: O first, then B-/I- per type in the given order. */
export class TagSet {
  readonly tags: string[];
  private readonly index: Map<string, number>;

  constructor(readonly types: string[]) {
    this.tags = ['O', ...types.flatMap((t) => [`B-${t}`, `I-${t}`])];
    this.index = new Map(this.tags.map((t, i) => [t, i]));
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
