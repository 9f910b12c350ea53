import { CONVENTION_VIEWS, conventionParam } from '../model/ner-model';
import type { Variables } from '../model/tagger';

/**
 * How corpora share the tagger:
 * - `heads`: one encoder for all, one CRF decoder per corpus (MT-BERT's multi-decoder recipe);
 * - `hierarchical`: the lower `sharedLayers` BiLSTM layers (and the character CNN) shared, upper layers and
 *   CRF per corpus (MTL-LS, slicing rate = sharedLayers / layers);
 * - `unified`: everything shared, one CRF over the union of types (partial-label loss).
 */
export type Sharing = 'heads' | 'hierarchical' | 'unified';
export const SHARINGS: readonly Sharing[] = ['heads', 'hierarchical', 'unified'];

export interface Layout {
  sharing: Sharing;
  corpora: string[];
  layers: number;
  /** BiLSTM layers shared by every corpus (the lowest ones); `layers` for heads and unified. */
  sharedLayers: number;
  /** Unified only: each corpus also has its own emission layer (its annotation convention), see conventionName. */
  conventions?: boolean;
}

/** Shared layers for a slicing rate k/n (0 = only the embeddings shared, 1 = every layer). */
export function sharedLayersFor(slicingRate: number, layers: number): number {
  if (!(slicingRate >= 0 && slicingRate <= 1)) throw new Error(`slicing rate must be in [0, 1], got ${slicingRate}`);
  return Math.round(slicingRate * layers);
}

/**
 * The parameter a corpus' single-tagger view name (`enc.lstm2.fwd.Wx`, `dec.crf.trans`, …) stands for in the
 * multi-task model: private copies are named `enc.@<corpus>.…` and `dec.@<corpus>.…`.
 */
export function globalName(layout: Layout, corpus: string, view: string): string {
  if (view.startsWith('dec.')) return layout.sharing === 'unified' ? view : `dec.@${corpus}.${view.slice(4)}`;
  const layer = /^enc\.lstm(\d+)\./.exec(view);
  if (layer && Number(layer[1]) >= layout.sharedLayers) return `enc.@${corpus}.${view.slice(4)}`;
  return view;
}

/**
 * The parameter a view name stands for when the unified tagger tags in `corpus`' convention: its own emission
 * layer `dec.@<corpus>.out.…` (corpora disagree on what a mention is: LINNAEUS tags "patients" as a species,
 * S800 never does), everything else as in globalName.
 */
export function conventionName(layout: Layout, corpus: string, view: string): string {
  return layout.conventions && CONVENTION_VIEWS.includes(view) ? conventionParam(corpus, view) : globalName(layout, corpus, view);
}

/** True when only `corpus` reads the parameter. */
export function isPrivate(name: string, corpus: string): boolean {
  return name.startsWith(`enc.@${corpus}.`) || name.startsWith(`dec.@${corpus}.`);
}

/**
 * The corpus' tagger as a plain single-model parameter record (same variables, view names), so that the
 * ordinary encoder, loss, decoder and model I/O work on it unchanged.
 */
export function viewOf(params: Variables, layout: Layout, corpus: string, viewNames: readonly string[]): Variables {
  const view: Variables = {};
  for (const v of viewNames) {
    const g = globalName(layout, corpus, v);
    if (!params[g]) throw new Error(`multi-task model lacks ${g} (view ${v} of ${corpus})`);
    view[v] = params[g];
  }
  return view;
}
