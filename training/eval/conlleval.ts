/**
 * A port of the CoNLL shared-task scorer `conlleval` (Erik Tjong Kim Sang's perl script): chunks are read
 * from the gold and guessed tag columns with its startOfChunk/endOfChunk rules (IOB1, IOB2 and IOBES), a
 * guessed chunk is correct when it has the same type, start and end as a gold chunk, and precision, recall
 * and F1 are micro-averaged over chunks. Scores here are fractions (0–1); `formatReport` prints the script's
 * percentages.
 */

export interface TypeScores {
  precision: number;
  recall: number;
  f1: number;
  /** Gold chunks of the type. */
  foundCorrect: number;
  /** Guessed chunks of the type. */
  foundGuessed: number;
  correct: number;
}

export interface ConllevalResult extends TypeScores {
  tokens: number;
  correctTags: number;
  tokenAccuracy: number;
  perType: Record<string, TypeScores>;
}

export interface ConllevalOptions {
  /**
   * Strict IOB2: an `I-X` that does not continue an `X` chunk is read as `O` (in gold and guesses), so a
   * tagger that emits invalid sequences is not credited with chunks conlleval would repair for it.
   */
  strictIob2?: boolean;
}

function split(tag: string): [string, string] {
  const m = /^([^-]*)-(.*)$/.exec(tag);
  return m ? [m[1], m[2]] : [tag, ''];
}

function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  return (
    (prevTag === 'B' && tag === 'B') ||
    (prevTag === 'B' && tag === 'O') ||
    (prevTag === 'I' && tag === 'B') ||
    (prevTag === 'I' && tag === 'O') ||
    (prevTag === 'E' && tag === 'E') ||
    (prevTag === 'E' && tag === 'I') ||
    (prevTag === 'E' && tag === 'O') ||
    (prevTag !== 'O' && prevTag !== '.' && prevType !== type) ||
    prevTag === ']' ||
    prevTag === '['
  );
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  return (
    (prevTag === 'B' && tag === 'B') ||
    (prevTag === 'I' && tag === 'B') ||
    (prevTag === 'O' && tag === 'B') ||
    (prevTag === 'O' && tag === 'I') ||
    (prevTag === 'E' && tag === 'E') ||
    (prevTag === 'E' && tag === 'I') ||
    (prevTag === 'O' && tag === 'E') ||
    (tag !== 'O' && tag !== '.' && prevType !== type) ||
    tag === '[' ||
    tag === ']'
  );
}

/** Strict IOB2 reading: `I-X` that continues no `X` chunk becomes `O`. */
export function strictIob2(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    if (t.startsWith('I-')) {
      const prev = out.length ? out[out.length - 1] : 'O';
      out.push(prev !== 'O' && (prev.startsWith('B-') || prev.startsWith('I-')) && prev.slice(2) === t.slice(2) ? t : 'O');
    } else out.push(t);
  }
  return out;
}

function scores(correct: number, guessed: number, gold: number): Pick<TypeScores, 'precision' | 'recall' | 'f1'> {
  const precision = guessed > 0 ? correct / guessed : 0;
  const recall = gold > 0 ? correct / gold : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

/** Scores guessed tag sequences against gold ones, sentence by sentence (sentence ends are chunk ends). */
export function evaluate(gold: readonly (readonly string[])[], guessed: readonly (readonly string[])[], opts: ConllevalOptions = {}): ConllevalResult {
  if (gold.length !== guessed.length) throw new Error(`${gold.length} gold sentences but ${guessed.length} guessed`);
  let correctChunk = 0;
  let foundCorrect = 0;
  let foundGuessed = 0;
  let correctTags = 0;
  let tokens = 0;
  const perCorrect = new Map<string, number>();
  const perFoundCorrect = new Map<string, number>();
  const perFoundGuessed = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

  let lastCorrect = 'O';
  let lastCorrectType = '';
  let lastGuessed = 'O';
  let lastGuessedType = '';
  let inCorrect = false;

  const step = (correctTag: string, guessedTag: string, counted: boolean) => {
    const [correct, correctType] = split(correctTag);
    const [guess, guessedType] = split(guessedTag);
    const endC = endOfChunk(lastCorrect, correct, lastCorrectType, correctType);
    const endG = endOfChunk(lastGuessed, guess, lastGuessedType, guessedType);
    if (inCorrect) {
      if (endC && endG && lastGuessedType === lastCorrectType) {
        inCorrect = false;
        correctChunk++;
        inc(perCorrect, lastCorrectType);
      } else if (endC !== endG || guessedType !== correctType) {
        inCorrect = false;
      }
    }
    const startC = startOfChunk(lastCorrect, correct, lastCorrectType, correctType);
    const startG = startOfChunk(lastGuessed, guess, lastGuessedType, guessedType);
    if (startC && startG && guessedType === correctType) inCorrect = true;
    if (startC) {
      foundCorrect++;
      inc(perFoundCorrect, correctType);
    }
    if (startG) {
      foundGuessed++;
      inc(perFoundGuessed, guessedType);
    }
    if (counted) {
      if (correct === guess && guessedType === correctType) correctTags++;
      tokens++;
    }
    lastCorrect = correct;
    lastCorrectType = correctType;
    lastGuessed = guess;
    lastGuessedType = guessedType;
  };

  gold.forEach((g0, s) => {
    const p0 = guessed[s];
    if (g0.length !== p0.length) throw new Error(`sentence ${s + 1}: ${g0.length} gold tags but ${p0.length} guessed`);
    const g = opts.strictIob2 ? strictIob2(g0) : g0;
    const p = opts.strictIob2 ? strictIob2(p0) : p0;
    for (let i = 0; i < g.length; i++) step(g[i], p[i], true);
    // conlleval reads the empty line between sentences as a boundary token tagged O in both columns.
    step('O', 'O', false);
  });
  if (inCorrect) {
    correctChunk++;
    inc(perCorrect, lastCorrectType);
  }

  const perType: Record<string, TypeScores> = {};
  const types = [...new Set([...perFoundCorrect.keys(), ...perFoundGuessed.keys()])].sort();
  for (const t of types) {
    const c = perCorrect.get(t) ?? 0;
    const fg = perFoundGuessed.get(t) ?? 0;
    const fc = perFoundCorrect.get(t) ?? 0;
    perType[t] = { ...scores(c, fg, fc), foundCorrect: fc, foundGuessed: fg, correct: c };
  }
  return {
    ...scores(correctChunk, foundGuessed, foundCorrect),
    foundCorrect,
    foundGuessed,
    correct: correctChunk,
    tokens,
    correctTags,
    tokenAccuracy: tokens > 0 ? correctTags / tokens : 0,
    perType,
  };
}

const pct = (x: number) => (100 * x).toFixed(2).padStart(6);

/** The report conlleval prints. */
export function formatReport(r: ConllevalResult): string {
  const lines = [
    `processed ${r.tokens} tokens with ${r.foundCorrect} phrases; found: ${r.foundGuessed} phrases; correct: ${r.correct}.`,
    `accuracy: ${pct(r.tokenAccuracy)}%; precision: ${pct(r.precision)}%; recall: ${pct(r.recall)}%; FB1: ${pct(r.f1)}`,
  ];
  for (const [t, s] of Object.entries(r.perType)) {
    lines.push(`${t.padStart(17)}: precision: ${pct(s.precision)}%; recall: ${pct(s.recall)}%; FB1: ${pct(s.f1)}  ${s.foundGuessed}`);
  }
  return lines.join('\n');
}
