import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io/atomic';
import { Featurizer, WordVectors } from '../model/features';
import { saveModel } from '../model/model-io';
import { CONVENTION_VIEWS, ModelInfo, NerModel } from '../model/ner-model';
import type { TaggerShape, Variables } from '../model/tagger';
import type { CharVocab, TagSet } from '../model/vocab';
import { conventionName, globalName, Layout, viewOf } from './sharing';

/** Parameter names of a single tagger with this shape (the view names every corpus sees). */
export function viewNames(shape: Pick<TaggerShape, 'layers'>): string[] {
  const names = ['enc.charEmb', 'enc.charConv.W', 'enc.charConv.b'];
  for (let l = 0; l < shape.layers; l++) for (const dir of ['fwd', 'bwd']) for (const w of ['Wx', 'Wh', 'b']) names.push(`enc.lstm${l}.${dir}.${w}`);
  return [...names, 'dec.out.W', 'dec.out.b', 'dec.crf.trans', 'dec.crf.start', 'dec.crf.end'];
}

/** A multi-task tagger: shared and private parameters, and one tag set per corpus (one for all when unified). */
export class MultiTaskModel {
  readonly featurizer: Featurizer;

  constructor(
    readonly layout: Layout,
    /** Shape of the encoder; numTags is per corpus (see tagSets). */
    readonly shape: TaggerShape,
    readonly tagSets: Readonly<Record<string, TagSet>>,
    readonly chars: CharVocab,
    readonly words: WordVectors,
    readonly params: Variables,
    public info: ModelInfo,
  ) {
    this.featurizer = new Featurizer(words, chars, shape.maxWordChars);
  }

  /**
   * Corpus `c`'s tagger over the shared variables; do not dispose it (the variables are this model's). With
   * `convention` (a unified model with conventions), it tags in that corpus' annotation convention.
   */
  modelFor(corpus: string, convention = false): NerModel {
    const tagSet = this.tagSets[corpus];
    if (!tagSet) throw new Error(`${corpus} is not one of this model's corpora (${this.layout.corpora.join(', ')})`);
    const view = convention ? Object.fromEntries(this.conventionView(corpus).map(([v, g]) => [v, this.params[g]])) : viewOf(this.params, this.layout, corpus, viewNames(this.shape));
    return new NerModel({ ...this.shape, numTags: tagSet.size }, tagSet, this.chars, this.words, view, { ...this.info, name: this.layout.sharing === 'unified' ? this.info.name : `${this.info.name}/${corpus}` });
  }

  /** [view name, parameter name] pairs of corpus `c`'s convention (its own emission layer). */
  conventionView(corpus: string): [string, string][] {
    if (!this.layout.conventions) throw new Error('this model has no per-corpus conventions');
    return viewNames(this.shape).map((v): [string, string] => [v, conventionName(this.layout, corpus, v)]);
  }

  /** Names of the parameters corpus `c`'s batches update. */
  parametersOf(corpus: string): string[] {
    return viewNames(this.shape).map((v) => globalName(this.layout, corpus, v));
  }

  /**
   * A unified model is saved as one ordinary model directory; a multi-head one as one model directory per
   * corpus (shared weights repeated) under `dir`, with `multitask.json` saying how they relate.
   */
  save(dir: string): void {
    if (this.layout.sharing === 'unified') {
      const generic = this.modelFor(this.layout.corpora[0]);
      if (!this.layout.conventions) return saveModel(generic, dir);
      // One model: the generic emission layer under the ordinary names, each convention's beside it (NerModel.convention).
      const own = Object.fromEntries(this.layout.corpora.flatMap((c) => CONVENTION_VIEWS.map((v) => [conventionName(this.layout, c, v), this.params[conventionName(this.layout, c, v)]])));
      const info = { ...generic.info, conventions: this.layout.corpora };
      saveModel(new NerModel(generic.shape, generic.tagSet, generic.chars, generic.words, { ...generic.params, ...own }, info), dir);
      return;
    }
    fs.mkdirSync(dir, { recursive: true });
    for (const c of this.layout.corpora) saveModel(this.modelFor(c), path.join(dir, c));
    writeFileAtomic(path.join(dir, 'multitask.json'), JSON.stringify({ layout: this.layout, info: this.info, models: this.layout.corpora }, null, 1) + '\n');
  }

  get parameterCount(): number {
    return Object.values(this.params).reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
  }
}

/** Copies of the parameters (e.g. as the start of a later stage), owned by the caller. */
export function cloneParams(params: Variables): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(params).map(([n, v]) => [n, tf.clone(v)]));
}
