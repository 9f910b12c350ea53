import domainConfig from '../config/domains.json';
import type { Sentence } from '../data/types';
import type { Rng } from '../util/random';

/** Domain name → corpus names, from training/config/domains.json. */
export const DOMAINS: Readonly<Record<string, readonly string[]>> = domainConfig.domains;

export function domainOf(corpus: string, domains: Readonly<Record<string, readonly string[]>> = DOMAINS): string | undefined {
  return Object.keys(domains).find((d) => domains[d].includes(corpus));
}

/**
 * Corpora that meta-training may use when `target` is the held-out domain: every available corpus of the other
 * domains. The target's corpora never enter meta-training.
 */
export function metaTrainingCorpora(target: string, available: readonly string[], domains: Readonly<Record<string, readonly string[]>> = DOMAINS): string[] {
  if (!domains[target]) throw new Error(`unknown target domain "${target}"; domains: ${Object.keys(domains).join(', ')}`);
  return Object.entries(domains)
    .filter(([d]) => d !== target)
    .flatMap(([, corpora]) => corpora.filter((c) => available.includes(c)));
}

export interface FewShotTask {
  corpus: string;
  support: Sentence[];
  query: Sentence[];
}

export const hasEntity = (s: Sentence): boolean => s.tags.some((t) => t !== 'O');

/**
 * A task of K support and K query sentences from one corpus, disjoint (distinct sentence indices). With
 * `supportWithEntities` (the "-NEs" variant) every support sentence contains an entity.
 */
export function sampleTask(corpus: string, sentences: readonly Sentence[], k: number, rng: Rng, opts: { supportWithEntities?: boolean } = {}): FewShotTask {
  const pool = [...sentences.keys()];
  const supportPool = opts.supportWithEntities ? pool.filter((i) => hasEntity(sentences[i])) : pool;
  if (supportPool.length < k) throw new Error(`${corpus}: only ${supportPool.length} eligible support sentences for K = ${k}`);
  const support = rng.sample(supportPool.length, k).map((j) => supportPool[j]);
  const taken = new Set(support);
  const rest = pool.filter((i) => !taken.has(i));
  if (rest.length < k) throw new Error(`${corpus}: only ${rest.length} sentences left for a query set of ${k}`);
  const query = rng.sample(rest.length, k).map((j) => rest[j]);
  return { corpus, support: support.map((i) => sentences[i]), query: query.map((i) => sentences[i]) };
}
