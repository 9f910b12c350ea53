import typeConfig from '../config/unified-types.json';
import type { Sentence } from '../data/types';

/** Source type → target type, or null to drop the type (its tokens become O). */
export type TypeMap = Readonly<Record<string, string | null>>;

/** The per-corpus renaming of training/config/unified-types.json. */
export const UNIFIED_TYPE_MAPS: Readonly<Record<string, TypeMap>> = typeConfig.corpora;

/** The type a corpus' type becomes (null = dropped). */
export function mapType(type: string, map: TypeMap = {}): string | null {
  return Object.prototype.hasOwnProperty.call(map, type) ? map[type] : type;
}

/**
 * Renames (or drops) entity types in a sentence's IOB2 tags. Two adjacent entities that end up with one type
 * stay two entities: the second keeps its B- tag.
 */
export function mapSentenceTypes(s: Sentence, map: TypeMap): Sentence {
  return {
    ...s,
    tags: s.tags.map((tag) => {
      if (tag === 'O') return tag;
      const target = mapType(tag.slice(2), map);
      return target === null ? 'O' : `${tag.slice(0, 2)}${target}`;
    }),
  };
}

/** The types a corpus annotates after renaming (deduplicated, dropped ones removed). */
export function mappedTypes(types: readonly string[], map: TypeMap = {}): string[] {
  return [...new Set(types.map((t) => mapType(t, map)).filter((t): t is string => t !== null))];
}
