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
import { extendDecoder } from './extend-decoder';

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
  /** Entity types the support sentences annotate (default: those they use). */
  types?: string[];
  /**
   * `replace`: the paper's heterogeneous setting, a new decoder over the support's types only. `extend`: the
   * decoder grows by the support's new types and keeps every type the model knew (see extendDecoder); the loss is
   * partial-label — a support token tagged O is "none of the support's types", not "no entity" — so types the
   * support does not annotate are not unlearned, and labels of known types correct them.
   */
  mode: 'replace' | 'extend';
  /** Train the encoder copy too (else only the decoder: nothing the other types rely on moves). */
  adaptEncoder: boolean;
  /**
   * `extend`: only the decoder weights of the types the support annotates (their emission columns, biases, start
   * and end scores, and every transition into or out of their tags) learn; those of O and of the other known types
   * stay as they were. Five sentences are too few to move weights that every other type relies on: trained, they
   * drift (measured: NCBI-disease F1 0.83 → 0.60 after adapting a species-like type on 5 sentences), frozen, they
   * cannot.
   */
  freezeOthers: boolean;
}

/** Meta-testing (the paper's protocol): a new decoder, encoder and decoder trained. */
export const DEFAULT_ADAPT: AdaptOptions = { epochs: 30, batchSize: 10, maxSteps: 0, lr: 1e-3, dropout: 0.5, seed: 1, mode: 'replace', adaptEncoder: true, freezeOthers: true };

/**
 * What a user of the editor gets ("Few-shot adapt on selection", `metabioner adapt`): the model keeps its types
 * and learns the labelled ones in its decoder only. Measured on 5 S800 sentences relabelled as a new type, with
 * the shipped model: the new type's test F1 0.39 / 0.59 (two support samples; replace mode 0.13) while NCBI-disease,
 * BC5CDR-chem and BC2GM moved by −1.3 / 0 / −4.4 and −9.1 / −0.2 / −5.4 points (the new type, a copy of Species,
 * takes some of their tokens); training the encoder too dropped NCBI-disease to 0.18.
 */
export const DEFAULT_EXTEND: AdaptOptions = { ...DEFAULT_ADAPT, mode: 'extend', adaptEncoder: false, freezeOthers: true, lr: 0.05, epochs: 30 };

/** 1 where a decoder weight concerns a tag of `types` (and so may learn), 0 elsewhere. */
function decoderMasks(tagSet: TagSet, types: readonly string[], prefix = 'dec'): Record<string, tf.Tensor> {
  const n = tagSet.size;
  const learns = tagSet.tags.map((t) => t !== 'O' && types.includes(t.slice(2)));
  const cols = Float32Array.from(learns, (l) => (l ? 1 : 0));
  const pairs = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pairs[i * n + j] = learns[i] || learns[j] ? 1 : 0;
  return {
    [`${prefix}.out.W`]: tf.tensor2d(cols, [1, n]),
    [`${prefix}.out.b`]: tf.tensor1d(cols),
    [`${prefix}.crf.trans`]: tf.tensor2d(pairs, [n, n]),
    [`${prefix}.crf.start`]: tf.tensor1d(cols),
    [`${prefix}.crf.end`]: tf.tensor1d(cols),
  };
}

/**
 * Few-shot adaptation on the support sentences, on a copy of the model (the source is left untouched): a copy of
 * the encoder θ and a decoder φ either new over the support's types (`replace`, meta-testing) or grown from the
 * model's by the support's new types (`extend`). `from` may be a meta-trained model, a multi-task one or a freshly
 * initialised one (the no-meta baseline).
 */
export function adaptFewShot(from: NerModel, support: readonly Sentence[], options: Partial<AdaptOptions> = {}): NerModel {
  const o = { ...DEFAULT_ADAPT, ...options };
  const annotated = o.types ?? entityTypes(support);
  if (support.length === 0) throw new Error('adaptation needs at least one annotated sentence');
  if (annotated.length === 0) throw new Error('the support sentences hold no entity: nothing to adapt to');
  const rng = new Rng(o.seed);
  const types = o.mode === 'extend' ? [...from.types, ...annotated.filter((t) => !from.types.includes(t))] : annotated;
  // An extended model spells entities as the model it grows from; a new decoder uses IOB2 like the meta-learners.
  const tagSet = new TagSet(types, o.mode === 'extend' ? from.tagSet.scheme : 'iob2');
  const shape: TaggerShape = { ...from.shape, numTags: tagSet.size, numDomains: 0 };
  const values: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(from.params)) if (groupOf(name) === 'enc') values[name] = tf.clone(v);
  Object.assign(values, o.mode === 'extend' ? extendDecoder(from.params, from.tagSet, tagSet, rng) : initDecoder(shape, tagSet.size, rng));
  const params = toVariables(values);
  const added = types.filter((t) => !from.types.includes(t));
  const model = new NerModel(shape, tagSet, from.chars, from.words, params, {
    name: o.mode === 'extend' ? `${from.info.name}+${added.length ? added.join('+') : 'corrected'}` : `${from.info.name}+adapted`,
    created: new Date().toISOString(),
    trainedOn: [...from.info.trainedOn, `${support.length} support sentences`],
    hyper: { ...o, types: annotated },
  });
  // Frozen weights must not shrink either: no decay when some stay as they were.
  const optimizer = new AdamW(params, { ...DEFAULT_ADAMW, weightDecay: o.mode === 'extend' && o.freezeOthers ? 0 : DEFAULT_ADAMW.weightDecay });
  const masks = o.mode === 'extend' && o.freezeOthers ? decoderMasks(tagSet, annotated) : undefined;
  try {
    const items = support.map((sentence) => ({ sentence, annotatedTypes: annotated, corpus: 'support' }));
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
        supervisedStep(params, shape, b.batch, b.allowed, optimizer, o.lr, o.dropout, rng, o.adaptEncoder ? ['enc.', 'dec.'] : ['dec.'], masks);
      }
    }
  } finally {
    optimizer.dispose();
    if (masks) for (const m of Object.values(masks)) m.dispose();
  }
  return model;
}
