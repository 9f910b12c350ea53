import { listCorpora, loadSplit } from '../../training/data/corpora';
import { entityTypes, spansFromTags } from '../../training/data/tagging-scheme';
import type { Sentence } from '../../training/data/types';
import { fomamlIteration, MetaTask, TaskPart } from '../../training/meta/fomaml';
import { GENERIC_TYPE, untyped } from '../../training/meta/meta-train';
import { domainOf, FewShotTask, sampleTask } from '../../training/meta/tasks';
import type { NerModel } from '../../training/model/ner-model';
import { allowedMask } from '../../training/train/labels';
import { AdamW } from '../../training/train/optimizer';
import { pick } from '../../training/train/step';
import { Rng } from '../../training/util/random';
import type { HardnessParams, HardnessResult, TaskSentence } from '../protocol';

export const HARDNESS_DEFAULTS = { k: 5, tasks: 4, innerSteps: 3, seed: 1 };

/**
 * Task hardness as the meta-training loop computes it (MetaBioNER Algorithm 2 and Eq. 2): sample few-shot
 * tasks, take `innerSteps` SGD steps on each support set from the model's weights, measure the query label
 * (and critic) loss at those adapted weights, and weigh the tasks by their share of the loss. One call of
 * the library's first-order iteration with an outer learning rate of 0, so the model does not move.
 *
 * A meta-trained model (one generic "Entity" type) sees the tasks untyped, as in meta-training. A typed model
 * sees the types it knows; entities of other types count as unannotated, so they neither help nor hurt.
 */
export function computeHardness(model: NerModel, corporaRoot: string, params: HardnessParams): HardnessResult {
  const o = { ...HARDNESS_DEFAULTS, ...Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) };
  const names = params.corpora?.length ? params.corpora : listCorpora(corporaRoot);
  if (names.length === 0) throw new Error(`no corpora in ${corporaRoot} (a corpus is a folder with train.tsv, devel.tsv and test.tsv)`);
  const corpora = Object.fromEntries(names.map((c) => [c, loadSplit(corporaRoot, c, 'train')]));
  const corpusTypes = Object.fromEntries(names.map((c) => [c, entityTypes(corpora[c])]));
  const rng = new Rng(o.seed);
  const sampled: FewShotTask[] = [];
  for (let i = 0; i < o.tasks; i++) {
    const corpus = names[rng.int(names.length)];
    sampled.push(sampleTask(corpus, corpora[corpus], o.k, rng));
  }
  const generic = model.types.length === 1 && model.types[0] === GENERIC_TYPE;
  const known = new Set(model.types);
  const domainId = (corpus: string) => model.domains.indexOf(domainOf(corpus) ?? corpus);
  const part = (sentences: Sentence[], corpus: string): TaskPart => {
    const items = sentences.map((s) => ({
      sentence: generic ? untyped(s) : { ...s, tags: s.tags.map((t) => (t !== 'O' && known.has(t.slice(2)) ? t : 'O')) },
      annotatedTypes: generic ? [GENERIC_TYPE] : corpusTypes[corpus].filter((t) => known.has(t)),
      corpus,
    }));
    const batch = model.featurizer.batch(sentences.map((s) => s.tokens));
    return { batch, allowed: allowedMask(items, model.tagSet, batch), domains: new Int32Array(sentences.length).fill(domainId(corpus)) };
  };
  const tasks: MetaTask[] = sampled.map((t) => ({ support: part(t.support, t.corpus), query: part(t.query, t.corpus) }));
  const hyper = model.info.hyper as { lambda?: number; innerLr?: number };
  const withCritic = model.shape.numDomains > 0 && sampled.every((t) => domainId(t.corpus) >= 0);
  const lambda = withCritic ? (hyper.lambda ?? 1) : 0;
  const wrt = pick(model.params, lambda > 0 ? ['enc.', 'dec.', 'critic.'] : ['enc.', 'dec.']);
  const outer = new AdamW(wrt);
  try {
    const r = fomamlIteration(model.params, wrt, model.shape, tasks, outer, { innerSteps: o.innerSteps, innerLr: hyper.innerLr ?? 0.01, outerLr: 0, dropout: 0, lambda, weighting: 'hardness' }, rng);
    const view = (s: Sentence): TaskSentence => ({ tokens: s.tokens, entities: spansFromTags(s.tags) });
    return {
      model: model.info.name,
      lambda,
      tasks: sampled.map((t, i) => ({
        corpus: t.corpus,
        domain: domainOf(t.corpus) ?? t.corpus,
        support: t.support.map(view),
        query: t.query.map(view),
        labelLoss: r.queryLabelLosses[i],
        criticLoss: r.queryCriticLosses[i],
        gamma: { theta: r.weights.theta[i], phi: r.weights.phi[i], omega: r.weights.omega[i] },
      })),
    };
  } finally {
    outer.dispose();
  }
}
