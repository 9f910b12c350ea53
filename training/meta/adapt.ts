import * as tf from '@tensorflow/tfjs';
import { entityTypes } from '../data/tagging-scheme';
import type { Sentence } from '../data/types';
import { NerModel } from '../model/ner-model';
import { groupOf, initDecoder, TaggerShape, toVariables } from '../model/tagger';
import { TagSet } from '../model/vocab';
import { allowedMask } from '../train/labels';
import { AdamW, DEFAULT_ADAMW } from '../train/optimizer';
import { supervisedStep } from '../train/step';
import { Rng } from '../util/random';

export interface AdaptOptions {
  /** Passes over the support sentences. */
  epochs: number;
  /** Support sentences per step (all of them when there are fewer). */
  batchSize: number;
  /** Upper bound on the steps of all epochs together (large K), 0 = none. */
  maxSteps: number;
  lr: number;
  dropout: number;
  seed: number;
  /** Entity types of the new decoder (default: those the support sentences use). */
  types?: string[];
}

export const DEFAULT_ADAPT: AdaptOptions = { epochs: 30, batchSize: 10, maxSteps: 0, lr: 1e-3, dropout: 0.5, seed: 1 };

/**
 * Heterogeneous adaptation (meta-testing): a copy of the model's encoder θ, a new randomly initialised
 * decoder φ over the target's entity types, both trained on the K support sentences. The source model is
 * left untouched. `from` may be a meta-trained model or a freshly initialised one (the no-meta baseline).
 */
export function adaptFewShot(from: NerModel, support: readonly Sentence[], options: Partial<AdaptOptions> = {}): NerModel {
  const o = { ...DEFAULT_ADAPT, ...options };
  const types = o.types ?? entityTypes(support);
  if (support.length === 0) throw new Error('adaptation needs at least one annotated sentence');
  if (types.length === 0) throw new Error('the support sentences hold no entity: nothing to adapt to');
  const rng = new Rng(o.seed);
  const tagSet = new TagSet(types);
  const shape: TaggerShape = { ...from.shape, numTags: tagSet.size, numDomains: 0 };
  const values: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(from.params)) if (groupOf(name) === 'enc') values[name] = tf.clone(v);
  Object.assign(values, initDecoder(shape, tagSet.size, rng));
  const params = toVariables(values);
  const model = new NerModel(shape, tagSet, from.chars, from.words, params, {
    name: `${from.info.name}+adapted`,
    created: new Date().toISOString(),
    trainedOn: [...from.info.trainedOn, `${support.length} support sentences`],
    hyper: { ...o, types },
  });
  const optimizer = new AdamW(params, { ...DEFAULT_ADAMW });
  try {
    const items = support.map((sentence) => ({ sentence, annotatedTypes: types, corpus: 'support' }));
    // Fixed mini-batches (featurized once); their order is shuffled every epoch.
    const batches = [];
    for (let i = 0; i < items.length; i += o.batchSize) {
      const part = items.slice(i, i + o.batchSize);
      const batch = model.featurizer.batch(part.map((it) => it.sentence.tokens));
      batches.push({ batch, allowed: allowedMask(part, tagSet, batch) });
    }
    let steps = 0;
    const limit = o.maxSteps > 0 ? o.maxSteps : Infinity;
    for (let e = 0; e < o.epochs && steps < limit; e++) {
      for (const b of rng.shuffle([...batches])) {
        if (steps++ >= limit) break;
        supervisedStep(params, shape, b.batch, b.allowed, optimizer, o.lr, o.dropout, rng);
      }
    }
  } finally {
    optimizer.dispose();
  }
  return model;
}
