/**
 * Word normalisation and character n-gram hashing shared by embedding training and lookup.
 *
 * Words are lower-cased and every digit becomes 0 before they are embedded: the corpora are small
 * (~3M tokens), so folding case and numbers gives rarer forms ("IL-2", "Il-6") enough contexts, and the
 * char-CNN beside the embeddings still sees the original spelling, case and digits.
 */
export function normalizeWord(word: string): string {
  return word.toLowerCase().replace(/\d/g, '0');
}

/** FNV-1a over UTF-16 code units. */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Bucket ids of the character n-grams (minN..maxN code points) of `<word>`, as fastText does. */
export function ngramBuckets(normalized: string, minN: number, maxN: number, buckets: number): number[] {
  const cps = [...`<${normalized}>`];
  const out: number[] = [];
  for (let n = minN; n <= maxN; n++) {
    for (let i = 0; i + n <= cps.length; i++) {
      // The whole word with its brackets is the word's own vector, not an n-gram.
      if (n === cps.length) continue;
      out.push(hash(cps.slice(i, i + n).join('')) % buckets);
    }
  }
  return out;
}
