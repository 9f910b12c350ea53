/**
 * Task hardness (MetaBioNER, Eq. 2): each task's share of the batch's loss, γᵢ = Lᵢ / Σⱼ Lⱼ, computed per
 * parameter group from that group's objective (θ: L = L_lab + λ·L_cls, φ: L_lab, ω: L_cls). Hard tasks weigh
 * more in the outer update; a task with zero loss gets weight 0 and so moves nothing. If every task has zero
 * loss there is nothing to learn from the batch and all weights are 0.
 */
export function hardnessWeights(losses: readonly number[]): number[] {
  for (const l of losses) if (!(l >= 0) || !Number.isFinite(l)) throw new Error(`task losses must be finite and non-negative, got ${l}`);
  const total = losses.reduce((a, b) => a + b, 0);
  return losses.map((l) => (total > 0 ? l / total : 0));
}

export interface TaskHardness {
  /** γ^θ from L = L_lab + λ·L_cls. */
  theta: number[];
  /** γ^φ from L_lab. */
  phi: number[];
  /** γ^ω from L_cls. */
  omega: number[];
}

export function taskHardness(labelLosses: readonly number[], criticLosses: readonly number[], lambda: number): TaskHardness {
  return {
    theta: hardnessWeights(labelLosses.map((l, i) => l + lambda * (criticLosses[i] ?? 0))),
    phi: hardnessWeights(labelLosses),
    omega: hardnessWeights(criticLosses),
  };
}

/** The uniform weights of the baselines (MetaNER, MAML, MetaBioNER-NEs): 1/n each. */
export function uniformWeights(n: number): number[] {
  return Array.from({ length: n }, () => 1 / n);
}
