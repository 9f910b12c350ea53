import type { Sentence } from '../data/types';
import type { Batch } from '../model/features';
import { TagSet } from '../model/vocab';

/** A training sentence with the entity types its corpus annotates (the rest are unknown, not absent). */
export interface LabelledSentence {
  sentence: Sentence;
  annotatedTypes: readonly string[];
  /** Which corpus it came from (for batching by corpus and for the critic). */
  corpus: string;
}

/**
 * Allowed-tag mask of a batch, layout [B, T, n]. A token tagged with an entity allows only that tag. A token
 * tagged `O` allows `O` and, for every type its corpus does not annotate, that type's `B-`/`I-` tags: the
 * corpus says nothing about those types, so the loss must not teach the model they are absent.
 * With every type annotated this is the ordinary one-hot supervision.
 */
export function allowedMask(items: readonly LabelledSentence[], tagSet: TagSet, batch: Batch): Uint8Array {
  const n = tagSet.size;
  const { T } = batch;
  const allowed = new Uint8Array(items.length * T * n);
  items.forEach((item, b) => {
    const unannotated = tagSet.types.filter((t) => !item.annotatedTypes.includes(t));
    const openIds = unannotated.flatMap((t) => tagSet.entityTags(t).map((tag) => tagSet.id(tag)));
    const O = tagSet.id('O');
    tagSet.encode(item.sentence.tags).forEach((id, t) => {
      const base = (b * T + t) * n;
      allowed[base + id] = 1;
      if (id === O) for (const j of openIds) allowed[base + j] = 1;
    });
  });
  return allowed;
}
