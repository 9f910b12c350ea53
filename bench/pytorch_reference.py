#!/usr/bin/env python3
"""PyTorch reference of MetaBioNER's BiLSTM-CNN-CRF, for `npm run bench:engine`.

Same shapes as training/model/tagger.ts: frozen 100-d word vectors, char embedding 30 + Conv1d(30->50, k=3)
with a masked max over characters, BiLSTM 2x128 (gate order i, f, g, o), linear, linear-chain CRF with
start/end scores. AdamW(1e-3, wd 0.01) with global-norm clipping 5.

  bench  --data FILE.json --out OUT.json   time training steps, a FOMAML iteration and Viterbi inference
  check  --case FILE.json --out OUT.json   loss, gradients, Viterbi paths and marginals for given weights
  selfcheck                                CRF log Z and gradients against brute force / finite differences

Run with Debian's interpreter (/usr/bin/python3) and OPENBLAS_NUM_THREADS=1. Exits 3 without torch.
"""
import argparse
import copy
import itertools
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError:
    sys.stderr.write('python3-torch is not installed; apt-get install python3-torch\n')
    sys.exit(3)

WORD_DIM, CHAR_DIM, FILTERS, HIDDEN = 100, 30, 50, 128


class Crf(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.trans = nn.Parameter(torch.empty(n, n).uniform_(-0.1, 0.1))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))

    def log_z(self, em, mask):
        # em [B, T, n]; mask [B, T] bool, prefix of True per row.
        alpha = self.start + em[:, 0]
        for t in range(1, em.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans.unsqueeze(0), dim=1) + em[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def score(self, em, tags, mask):
        B, T, _ = em.shape
        s = self.start[tags[:, 0]] + em[:, 0].gather(1, tags[:, :1]).squeeze(1)
        for t in range(1, T):
            step = self.trans[tags[:, t - 1], tags[:, t]] + em[:, t].gather(1, tags[:, t:t + 1]).squeeze(1)
            s = s + step * mask[:, t]
        last = tags.gather(1, (mask.sum(1).long() - 1).unsqueeze(1)).squeeze(1)
        return s + self.end[last]

    def nll(self, em, tags, mask):
        return (self.log_z(em, mask) - self.score(em, tags, mask)).mean()

    def viterbi(self, em, lengths):
        # Batched over sentences, so that the reference is as fast as PyTorch allows.
        B, T, n = em.shape
        mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)
        score = self.start + em[:, 0]
        back = []
        for t in range(1, T):
            best, arg = (score.unsqueeze(2) + self.trans).max(1)
            score = torch.where(mask[:, t].unsqueeze(1), best + em[:, t], score)
            back.append(arg)
        last = (score + self.end).argmax(1)
        paths = torch.zeros(B, T, dtype=torch.long)
        cur = last
        for t in range(T - 1, -1, -1):
            # Positions past a sentence's end keep pointing at its final tag.
            at_end = lengths - 1 == t
            cur = torch.where(at_end, last, cur)
            paths[:, t] = cur
            if t > 0:
                prev = back[t - 1].gather(1, cur.unsqueeze(1)).squeeze(1)
                cur = torch.where(mask[:, t], prev, cur)
        return [paths[b, :int(lengths[b])].tolist() for b in range(B)]

    def marginals(self, em, L):
        n = em.shape[1]
        alpha = [self.start + em[0]]
        for t in range(1, L):
            alpha.append(torch.logsumexp(alpha[-1].unsqueeze(1) + self.trans, 0) + em[t])
        beta = [self.end]
        for t in range(L - 2, -1, -1):
            beta.insert(0, torch.logsumexp(self.trans + em[t + 1] + beta[0], 1))
        logz = torch.logsumexp(alpha[-1] + self.end, 0)
        return [torch.exp(alpha[t] + beta[t] - logz).tolist() for t in range(L)]


class Tagger(nn.Module):
    def __init__(self, n_chars, n_tags):
        super().__init__()
        self.char_emb = nn.Embedding(n_chars, CHAR_DIM, padding_idx=0)
        self.conv = nn.Conv1d(CHAR_DIM, FILTERS, 3, padding=1)
        self.lstm = nn.LSTM(WORD_DIM + FILTERS, HIDDEN, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * HIDDEN, n_tags)
        self.crf = Crf(n_tags)
        self.drop = nn.Dropout(0.5)

    def emissions(self, words, chars, char_mask, lengths):
        B, T, Lc = chars.shape
        c = self.char_emb(chars.view(B * T, Lc)).transpose(1, 2)           # [BT, 30, Lc]
        c = self.conv(c).masked_fill(~char_mask.view(B * T, 1, Lc), -1e4)  # [BT, 50, Lc]
        c = c.max(2).values.view(B, T, FILTERS)
        x = self.drop(torch.cat([words, c], 2))
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=T)
        return self.out(self.drop(h))

    def loss(self, batch):
        words, chars, char_mask, tags, mask, lengths = batch
        return self.crf.nll(self.emissions(words, chars, char_mask, lengths), tags, mask)


def make_batch(sentences, gen=None, words=None):
    B = len(sentences)
    T = max(len(s['tags']) for s in sentences)
    Lc = max(max(len(c) for c in s['chars']) for s in sentences)
    chars = torch.zeros(B, T, Lc, dtype=torch.long)
    tags = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.bool)
    w = torch.zeros(B, T, WORD_DIM)
    for b, s in enumerate(sentences):
        L = len(s['tags'])
        tags[b, :L] = torch.tensor(s['tags'])
        mask[b, :L] = True
        for t, cs in enumerate(s['chars']):
            chars[b, t, :len(cs)] = torch.tensor(cs)
        w[b, :L] = torch.tensor(s['words']) if words else torch.randn(L, WORD_DIM, generator=gen)
    lengths = mask.sum(1)
    return w, chars, chars > 0, tags, mask, lengths


def train_step(model, opt, batch):
    opt.zero_grad()
    loss = model.loss(batch)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return float(loss)


def median(xs):
    xs = sorted(xs)
    k = len(xs) // 2
    return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2


def bench(args):
    torch.set_num_threads(2)
    torch.manual_seed(1)
    data = json.load(open(args.data))
    sents = data['sentences']
    gen = torch.Generator().manual_seed(1)
    model = Tagger(data['n_chars'], data['n_tags'])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    warm, reps = data['warmup'], data['repeats']
    out = {'backend': 'pytorch-%s-cpu' % torch.__version__, 'threads': torch.get_num_threads(), 'train_step_ms': {}}
    model.train()
    for B in data['batch_sizes']:
        times = []
        for r in range(warm + reps):
            start = (r * B) % (len(sents) - B)
            batch = make_batch(sents[start:start + B], gen)   # built before timing, as on the TF.js side
            t0 = time.perf_counter()
            train_step(model, opt, batch)
            if r >= warm:
                times.append((time.perf_counter() - t0) * 1000)
        out['train_step_ms'][str(B)] = median(times)
    # First-order MAML: 4 tasks x (3 inner SGD steps on 5 support sentences, query gradient on 5), one outer step.
    times = []
    for r in range(warm + (reps + 1) // 2):
        tasks = []
        for k in range(4):
            start = ((r * 4 + k) * 10) % (len(sents) - 10)
            tasks.append((make_batch(sents[start:start + 5], gen), make_batch(sents[start + 5:start + 10], gen)))
        t0 = time.perf_counter()
        meta = copy.deepcopy(model.state_dict())
        grads = [torch.zeros_like(p) for p in model.parameters()]
        for support, query in tasks:
            for _ in range(3):
                model.zero_grad()
                model.loss(support).backward()
                with torch.no_grad():
                    for p in model.parameters():
                        if p.grad is not None:
                            p -= 0.01 * p.grad
            model.zero_grad()
            model.loss(query).backward()
            for g, p in zip(grads, model.parameters()):
                if p.grad is not None:
                    g += 0.25 * p.grad
            model.load_state_dict(meta)
        opt.zero_grad()
        for g, p in zip(grads, model.parameters()):
            p.grad = g
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if r >= warm:
            times.append((time.perf_counter() - t0) * 1000)
    out['meta_iteration_ms'] = median(times)
    model.eval()
    batches = [make_batch(sents[i:i + data['infer_batch']], gen) for i in range(0, len(sents), data['infer_batch'])]
    tokens = sum(len(s['tags']) for s in sents)
    best = 0.0
    with torch.no_grad():
        for rep in range(4):
            t0 = time.perf_counter()
            for words, chars, char_mask, _, _, lengths in batches:
                model.crf.viterbi(model.emissions(words, chars, char_mask, lengths), lengths)
            rate = tokens / (time.perf_counter() - t0)
            if rep > 0:
                best = max(best, rate)   # best of 3 passes after a warm-up pass
    out['infer_tokens_per_s'] = best
    json.dump(out, open(args.out, 'w'))


LAYOUT = ['charEmb', 'charConvW', 'charConvB', 'lstmFwdWx', 'lstmFwdWh', 'lstmFwdB', 'lstmBwdWx', 'lstmBwdWh', 'lstmBwdB', 'outW', 'outB', 'trans', 'start', 'end']


def load_weights(model, w):
    t = lambda k: torch.tensor(w[k], dtype=torch.float32)
    with torch.no_grad():
        model.char_emb.weight.copy_(t('charEmb'))
        model.char_emb.weight[0].zero_()   # padding contributes zeros, as on the TF.js side (which masks it)
        model.conv.weight.copy_(t('charConvW').view(3, CHAR_DIM, FILTERS).permute(2, 1, 0))
        model.conv.bias.copy_(t('charConvB'))
        for d, suffix in (('Fwd', ''), ('Bwd', '_reverse')):
            getattr(model.lstm, 'weight_ih_l0' + suffix).copy_(t('lstm%sWx' % d).T)
            getattr(model.lstm, 'weight_hh_l0' + suffix).copy_(t('lstm%sWh' % d).T)
            getattr(model.lstm, 'bias_ih_l0' + suffix).copy_(t('lstm%sB' % d))
            getattr(model.lstm, 'bias_hh_l0' + suffix).zero_()
        model.out.weight.copy_(t('outW').T)
        model.out.bias.copy_(t('outB'))
        model.crf.trans.copy_(t('trans'))
        model.crf.start.copy_(t('start'))
        model.crf.end.copy_(t('end'))


def grads_in_layout(model):
    g = lambda p: p.grad if p.grad is not None else torch.zeros_like(p)
    out = {
        'charEmb': g(model.char_emb.weight),
        'charConvW': g(model.conv.weight).permute(2, 1, 0).reshape(3 * CHAR_DIM, FILTERS),
        'charConvB': g(model.conv.bias),
        'outW': g(model.out.weight).T, 'outB': g(model.out.bias),
        'trans': g(model.crf.trans), 'start': g(model.crf.start), 'end': g(model.crf.end),
    }
    for d, suffix in (('Fwd', ''), ('Bwd', '_reverse')):
        out['lstm%sWx' % d] = g(getattr(model.lstm, 'weight_ih_l0' + suffix)).T
        out['lstm%sWh' % d] = g(getattr(model.lstm, 'weight_hh_l0' + suffix)).T
        out['lstm%sB' % d] = g(getattr(model.lstm, 'bias_ih_l0' + suffix))
    return {k: v.tolist() for k, v in out.items()}


def check(args):
    case = json.load(open(args.case))
    w = case['weights']
    model = Tagger(len(w['charEmb']), len(w['outB']))
    load_weights(model, w)
    model.eval()   # dropout off; gradients are still computed
    batch = make_batch(case['sentences'], words=True)
    words, chars, char_mask, tags, mask, lengths = batch
    em = model.emissions(words, chars, char_mask, lengths)
    loss = model.crf.nll(em, tags, mask)
    loss.backward()
    with torch.no_grad():
        em = model.emissions(words, chars, char_mask, lengths)
        out = {
            'loss': float(loss),
            'grads': grads_in_layout(model),
            'viterbi': model.crf.viterbi(em, lengths),
            'marginals': [model.crf.marginals(em[b], int(lengths[b])) for b in range(em.shape[0])],
        }
    json.dump(out, open(args.out, 'w'))


def selfcheck(_args):
    torch.manual_seed(0)
    crf = Crf(3).double()
    em = torch.randn(1, 4, 3, dtype=torch.double)
    mask = torch.ones(1, 4, dtype=torch.bool)
    brute = torch.logsumexp(torch.stack([crf.score(em, torch.tensor([p]), mask)[0] for p in itertools.product(range(3), repeat=4)]), 0)
    assert abs(float(crf.log_z(em, mask)[0] - brute)) < 1e-9, 'log Z differs from enumeration'
    tags = torch.tensor([[0, 1, 2, 0]])
    em.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda e: crf.nll(e, tags, mask), (em,)), 'CRF gradient check failed'
    print('selfcheck passed: log Z = brute force, CRF gradients = finite differences')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='mode', required=True)
    b = sub.add_parser('bench')
    b.add_argument('--data', required=True)
    b.add_argument('--out', required=True)
    c = sub.add_parser('check')
    c.add_argument('--case', required=True)
    c.add_argument('--out', required=True)
    sub.add_parser('selfcheck')
    args = p.parse_args()
    {'bench': bench, 'check': check, 'selfcheck': selfcheck}[args.mode](args)


if __name__ == '__main__':
    main()
