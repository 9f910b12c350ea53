#!/usr/bin/env python3
"""PyTorch reference of MetaBioNER's BiLSTM-CNN-CRF, for `npm run bench:engine` and the equivalence test.

Model (the TF.js tagger, training/model/tagger.ts, follows the same spec): frozen 100-d word vectors;
char embedding [C, 30] with row 0 (padding) zero, Conv1d(30 -> 50, kernel 3, padding 1) and a max over the
word's real character positions; [word 100, char 50] -> dropout 0.5 -> BiLSTM 1 layer x 128 per direction
(gate order i, f, g, o), run over each sentence's real length (pack_padded_sequence) -> dropout 0.5 ->
Linear(256 -> n) -> linear-chain CRF with trans[i, j] (tag i then tag j), start[n], end[n]; loss = mean
over the batch of log Z - gold score. AdamW(lr 1e-3, weight decay 0.01), global-norm clipping at 5.

  bench     --data FILE.json --out OUT.json   time training steps, a FOMAML iteration, Viterbi inference
  check     --case FILE.json --out OUT.json   loss, gradients, Viterbi paths, marginals for given weights
  selfcheck                                   random case through `check`; CRF vs brute force, gradients
                                              vs finite differences (double precision); exit 1 on failure

bench in:   {"n_tags", "n_chars", "sentences": [{"chars": [[ids] per token], "tags": [ids]}], "batch_sizes",
            "infer_batch", "warmup", "repeats"}  (word vectors: seeded N(0,1); bench/make_bench_data.py writes it)
bench out:  {"backend", "threads", "train_step_ms": {"5": ms, ...}, "meta_iteration_ms", "infer_tokens_per_s"
            (best of 3 passes after a warm-up pass), "infer_stat", "sentences", "tokens", "openblas_threads"}
check in:   {"weights": {charEmb [C,30], charConvW [90,50] (row k*30+c, col f = conv.weight[f,c,k]), charConvB,
            lstmFwdWx [150,512], lstmFwdWh [128,512], lstmFwdB [512] (= b_ih + b_hh), lstmBwd* likewise, outW [256,n],
            outB, trans [n,n], start, end}, "sentences": [{"words": [[100 floats]], "chars", "tags"}]}
check out:  {"loss": mean NLL, "grads": {same names and shapes}, "viterbi": [[tags]], "marginals": [[[p per tag]]]}
Char ids: 0 is padding only (a real char with id 0 is rejected); chars of a word are used up to its length.

Run with Debian's interpreter: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/pytorch_reference.py ...
(OPENBLAS_NUM_THREADS defaults to 1 here if unset; torch uses 2 threads). Exits 3 when torch is missing.
"""
import os

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')   # must be set before torch loads OpenBLAS

import argparse
import itertools
import json
import math
import statistics
import sys
import tempfile
import time

try:
    import torch
    import torch.nn as nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError:
    sys.stderr.write('python3-torch is not installed; apt-get install python3-torch '
                     '(and run this script with /usr/bin/python3)\n')
    sys.exit(3)

WORD_DIM, CHAR_DIM, FILTERS, HIDDEN, WINDOW = 100, 30, 50, 128, 3
# torch's intra-op threads; bench:engine's parallel section also runs it with 1.
THREADS = int(os.environ.get('METABIONER_TORCH_THREADS', '2'))


class Crf(nn.Module):
    """Linear-chain CRF. Emissions em [B, T, n]; mask [B, T] bool, a prefix of True per row (length >= 1)."""

    def __init__(self, n):
        super().__init__()
        self.trans = nn.Parameter(torch.empty(n, n).uniform_(-0.1, 0.1))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))

    def log_z(self, em, mask):
        # Forward algorithm in log space. Past a sentence's end alpha is carried unchanged, so the final
        # alpha is the one at its last real token, and `end` is added exactly once there.
        alpha = self.start + em[:, 0]
        for t in range(1, em.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans, dim=1) + em[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def score(self, em, tags, mask):
        # start[y0] + em[0, y0] + sum_{t < L} (trans[y_{t-1}, y_t] + em[t, y_t]) + end[y_{L-1}].
        s = self.start[tags[:, 0]] + em[:, 0].gather(1, tags[:, :1]).squeeze(1)
        for t in range(1, em.shape[1]):
            step = self.trans[tags[:, t - 1], tags[:, t]] + em[:, t].gather(1, tags[:, t:t + 1]).squeeze(1)
            s = s + torch.where(mask[:, t], step, torch.zeros_like(step))
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return s + self.end[last]

    def nll(self, em, tags, mask):
        return (self.log_z(em, mask) - self.score(em, tags, mask)).mean()

    def viterbi(self, em, lengths):
        """Best path per sentence over its real length; batched over sentences."""
        B, T, _ = em.shape
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
            cur = torch.where(lengths - 1 == t, last, cur)   # each sentence's backtrack starts at its own end
            paths[:, t] = cur
            if t > 0:
                prev = back[t - 1].gather(1, cur.unsqueeze(1)).squeeze(1)
                cur = torch.where(mask[:, t], prev, cur)
        return [paths[b, :int(lengths[b])].tolist() for b in range(B)]

    def marginals(self, em, L):
        """p(y_t = j) of one sentence (em [T, n], real length L) by forward-backward: [L, n]."""
        alpha = [self.start + em[0]]
        for t in range(1, L):
            alpha.append(torch.logsumexp(alpha[-1].unsqueeze(1) + self.trans, 0) + em[t])
        beta = [self.end]
        for t in range(L - 2, -1, -1):
            beta.insert(0, torch.logsumexp(self.trans + em[t + 1] + beta[0], 1))
        logz = torch.logsumexp(alpha[-1] + self.end, 0)
        return torch.stack([torch.exp(alpha[t] + beta[t] - logz) for t in range(L)])


class Tagger(nn.Module):
    def __init__(self, n_chars, n_tags):
        super().__init__()
        self.char_emb = nn.Embedding(n_chars, CHAR_DIM, padding_idx=0)
        self.conv = nn.Conv1d(CHAR_DIM, FILTERS, WINDOW, padding=WINDOW // 2)
        self.lstm = nn.LSTM(WORD_DIM + FILTERS, HIDDEN, num_layers=1, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * HIDDEN, n_tags)
        self.crf = Crf(n_tags)
        self.drop = nn.Dropout(0.5)

    def char_features(self, chars, char_mask):
        # chars [B, T, Lc] (0 = padding), char_mask [B, T, Lc] = position j < the word's length -> [B, T, 50].
        B, T, Lc = chars.shape
        c = self.conv(self.char_emb(chars.view(B * T, Lc)).transpose(1, 2))          # [BT, 50, Lc]
        c = c.masked_fill(~char_mask.view(B * T, 1, Lc), float('-inf')).max(2).values   # grad -> first arg-max
        # Padding tokens (past a sentence's end) have no characters: 0 instead of -inf. They never reach the
        # LSTM (packed sequence), but -inf would turn into NaN under dropout.
        c = c.masked_fill(~char_mask.any(2).view(B * T, 1), 0.0)
        return c.view(B, T, FILTERS)

    def emissions(self, words, chars, char_mask, lengths):
        B, T, _ = words.shape
        x = self.drop(torch.cat([words, self.char_features(chars, char_mask)], 2))
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=T)   # [B, T, fwd|bwd]
        return self.out(self.drop(h))

    def loss(self, batch):
        words, chars, char_mask, tags, mask, lengths = batch
        return self.crf.nll(self.emissions(words, chars, char_mask, lengths), tags, mask)


def make_batch(sentences, n_chars, n_tags, gen=None, dtype=torch.float32):
    """Pads sentences to T tokens and words to Lc chars. Word vectors come from s['words'] when gen is None,
    else from gen (a seeded torch.Generator), N(0, 1)."""
    B = len(sentences)
    for i, s in enumerate(sentences):
        L = len(s['tags'])
        if L == 0 or len(s['chars']) != L or (gen is None and len(s['words']) != L):
            raise ValueError('sentence %d: empty, or chars/words/tags of different lengths' % i)
        if any(not 0 <= t < n_tags for t in s['tags']):
            raise ValueError('sentence %d: tag id out of [0, %d)' % (i, n_tags))
        if any(not 1 <= c < n_chars for cs in s['chars'] for c in cs):
            raise ValueError('sentence %d: char id out of [1, %d) (0 is padding)' % (i, n_chars))
    T = max(len(s['tags']) for s in sentences)
    Lc = max(1, max(len(cs) for s in sentences for cs in s['chars']))
    chars = torch.zeros(B, T, Lc, dtype=torch.long)
    char_mask = torch.zeros(B, T, Lc, dtype=torch.bool)
    tags = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.bool)
    words = torch.zeros(B, T, WORD_DIM, dtype=dtype)
    for b, s in enumerate(sentences):
        L = len(s['tags'])
        tags[b, :L] = torch.tensor(s['tags'])
        mask[b, :L] = True
        for t, cs in enumerate(s['chars']):
            chars[b, t, :len(cs)] = torch.tensor(cs, dtype=torch.long)
            char_mask[b, t, :len(cs)] = True
        if gen is None:
            words[b, :L] = torch.tensor(s['words'], dtype=dtype)
        else:
            words[b, :L] = torch.randn(L, WORD_DIM, generator=gen).to(dtype)
    return words, chars, char_mask, tags, mask, mask.sum(1)


def train_step(model, opt, batch):
    opt.zero_grad()
    loss = model.loss(batch)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return float(loss)


def fomaml_iteration(model, opt, tasks, inner_steps=3, inner_lr=0.01):
    """First-order MAML: per task, from the meta-weights, `inner_steps` plain SGD steps on the support batch,
    then the query gradient at the adapted weights; meta-gradient = mean of the query gradients; restore the
    meta-weights; one clipped AdamW step."""
    params = list(model.parameters())
    meta = [p.detach().clone() for p in params]
    acc = [torch.zeros_like(p) for p in params]
    for support, query in tasks:
        for _ in range(inner_steps):
            model.zero_grad(set_to_none=True)
            model.loss(support).backward()
            with torch.no_grad():
                for p in params:
                    if p.grad is not None:
                        p.sub_(p.grad, alpha=inner_lr)
        model.zero_grad(set_to_none=True)
        model.loss(query).backward()
        with torch.no_grad():
            for a, p, m in zip(acc, params, meta):
                if p.grad is not None:
                    a.add_(p.grad, alpha=1.0 / len(tasks))
                p.copy_(m)
    opt.zero_grad(set_to_none=True)
    for a, p in zip(acc, params):
        p.grad = a
    nn.utils.clip_grad_norm_(params, 5.0)
    opt.step()


def bench(args):
    torch.set_num_threads(THREADS)
    torch.manual_seed(1)
    with open(args.data) as f:
        data = json.load(f)
    sents, C, n = data['sentences'], data['n_chars'], data['n_tags']
    warm, reps = int(data.get('warmup', 3)), int(data.get('repeats', 20))
    infer_batch = int(data.get('infer_batch', 64))
    need = max(max(data['batch_sizes']), 10) + 1
    if len(sents) < need:
        raise SystemExit('bench needs at least %d sentences, got %d' % (need, len(sents)))
    gen = torch.Generator().manual_seed(1)
    model = Tagger(C, n)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    out = {'backend': 'pytorch-%s-cpu' % torch.__version__, 'threads': torch.get_num_threads(),
           'openblas_threads': os.environ.get('OPENBLAS_NUM_THREADS'), 'train_step_ms': {}}
    model.train()
    for B in data['batch_sizes']:
        times = []
        for r in range(warm + reps):
            start = (r * B) % (len(sents) - B)   # consecutive batches, wrapping around
            batch = make_batch(sents[start:start + B], C, n, gen)   # built outside the timed region
            t0 = time.perf_counter()
            train_step(model, opt, batch)
            if r >= warm:
                times.append((time.perf_counter() - t0) * 1000)
        out['train_step_ms'][str(B)] = statistics.median(times)

    times = []
    for r in range(warm + reps):
        tasks = []
        for k in range(4):
            start = ((r * 4 + k) * 10) % (len(sents) - 10)
            tasks.append((make_batch(sents[start:start + 5], C, n, gen),
                          make_batch(sents[start + 5:start + 10], C, n, gen)))
        t0 = time.perf_counter()
        fomaml_iteration(model, opt, tasks)
        if r >= warm:
            times.append((time.perf_counter() - t0) * 1000)
    out['meta_iteration_ms'] = statistics.median(times)

    model.eval()
    batches = [make_batch(sents[i:i + infer_batch], C, n, gen) for i in range(0, len(sents), infer_batch)]
    tokens = sum(len(s['tags']) for s in sents)
    rates = []
    with torch.no_grad():
        for _ in range(4):
            t0 = time.perf_counter()
            for words, chars, char_mask, _, _, lengths in batches:
                model.crf.viterbi(model.emissions(words, chars, char_mask, lengths), lengths)
            rates.append(tokens / (time.perf_counter() - t0))
    out['infer_tokens_per_s'] = max(rates[1:])
    out['infer_stat'] = 'best of 3 full passes after 1 warm-up pass (median %.0f)' % statistics.median(rates[1:])
    out['sentences'], out['tokens'] = len(sents), tokens
    with open(args.out, 'w') as f:
        json.dump(out, f)


def load_weights(model, w):
    dtype = model.out.weight.dtype
    t = lambda k: torch.tensor(w[k], dtype=dtype)
    with torch.no_grad():
        model.char_emb.weight.copy_(t('charEmb'))
        model.char_emb.weight[0].zero_()   # padding row: zero whatever the file says
        # charConvW row k*30 + c, column f  <->  conv.weight[f, c, k]
        model.conv.weight.copy_(t('charConvW').view(WINDOW, CHAR_DIM, FILTERS).permute(2, 1, 0))
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
    """Gradients in the exchange layout. lstm*B gets d/d(bias_ih): the gradient of the summed bias."""
    g = lambda p: p.grad if p.grad is not None else torch.zeros_like(p)
    out = {
        'charEmb': g(model.char_emb.weight),
        'charConvW': g(model.conv.weight).permute(2, 1, 0).reshape(WINDOW * CHAR_DIM, FILTERS),
        'charConvB': g(model.conv.bias),
        'outW': g(model.out.weight).T, 'outB': g(model.out.bias),
        'trans': g(model.crf.trans), 'start': g(model.crf.start), 'end': g(model.crf.end),
    }
    for d, suffix in (('Fwd', ''), ('Bwd', '_reverse')):
        out['lstm%sWx' % d] = g(getattr(model.lstm, 'weight_ih_l0' + suffix)).T
        out['lstm%sWh' % d] = g(getattr(model.lstm, 'weight_hh_l0' + suffix)).T
        out['lstm%sB' % d] = g(getattr(model.lstm, 'bias_ih_l0' + suffix))
    return out


def run_check(case, dtype=torch.float32):
    """Loss, gradients (layout dict of tensors), Viterbi paths and marginals of a case, dropout off."""
    w = case['weights']
    C, n = len(w['charEmb']), len(w['outB'])
    model = Tagger(C, n).to(dtype)
    load_weights(model, w)
    model.eval()   # dropout off; gradients are still computed
    words, chars, char_mask, tags, mask, lengths = make_batch(case['sentences'], C, n, dtype=dtype)
    em = model.emissions(words, chars, char_mask, lengths)
    loss = model.crf.nll(em, tags, mask)
    loss.backward()
    em = em.detach()
    with torch.no_grad():
        return {
            'loss': float(loss),
            'grads': grads_in_layout(model),
            'viterbi': model.crf.viterbi(em, lengths),
            'marginals': [model.crf.marginals(em[b], int(lengths[b])) for b in range(em.shape[0])],
            'emissions': em, 'lengths': lengths, 'model': model,
        }


def check(args):
    torch.set_num_threads(THREADS)
    with open(args.case) as f:
        case = json.load(f)
    r = run_check(case)
    out = {'loss': r['loss'], 'grads': {k: v.tolist() for k, v in r['grads'].items()},
           'viterbi': r['viterbi'], 'marginals': [m.tolist() for m in r['marginals']]}
    with open(args.out, 'w') as f:
        json.dump(out, f)


# ---------------------------------------------------------------------------------------------- selfcheck

SHAPES = lambda C, n: {
    'charEmb': [C, CHAR_DIM], 'charConvW': [WINDOW * CHAR_DIM, FILTERS], 'charConvB': [FILTERS],
    'lstmFwdWx': [WORD_DIM + FILTERS, 4 * HIDDEN], 'lstmFwdWh': [HIDDEN, 4 * HIDDEN], 'lstmFwdB': [4 * HIDDEN],
    'lstmBwdWx': [WORD_DIM + FILTERS, 4 * HIDDEN], 'lstmBwdWh': [HIDDEN, 4 * HIDDEN], 'lstmBwdB': [4 * HIDDEN],
    'outW': [2 * HIDDEN, n], 'outB': [n], 'trans': [n, n], 'start': [n], 'end': [n]}


def random_case(gen, C=12, n=3, lengths=(4, 7, 2)):
    scale = {'charEmb': 0.5, 'charConvW': 0.2, 'charConvB': 0.1, 'outW': 0.3, 'outB': 0.3,
             'trans': 0.8, 'start': 0.8, 'end': 0.8}
    weights = {k: (torch.randn(*s, generator=gen, dtype=torch.float64) * scale.get(k, 0.15)).tolist()
               for k, s in SHAPES(C, n).items()}
    sentences = []
    for L in lengths:
        chars = [[int(c) for c in torch.randint(1, C, (int(torch.randint(1, 9, (1,), generator=gen)),), generator=gen)]
                 for _ in range(L)]
        sentences.append({'words': torch.randn(L, WORD_DIM, generator=gen, dtype=torch.float64).tolist(),
                          'chars': chars, 'tags': torch.randint(0, n, (L,), generator=gen).tolist()})
    sentences[-1]['chars'][0] = [5, 5, 5, 5, 5]   # tied conv windows: the max has several arg-maxes
    return {'weights': weights, 'sentences': sentences}


def at(x, idx):
    for i in idx:
        x = x[i]
    return x


def selfcheck(_args):
    torch.set_num_threads(THREADS)
    gen = torch.Generator().manual_seed(7)
    failures = []

    def expect(ok, what):
        print(('ok    ' if ok else 'FAIL  ') + what)
        if not ok:
            failures.append(what)

    case = random_case(gen)
    n = len(case['weights']['outB'])

    # 1. The CLI path (JSON in, float32, JSON out) against the same computation in double precision.
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, 'case.json'), 'w') as f:
            json.dump(case, f)
        check(argparse.Namespace(case=os.path.join(d, 'case.json'), out=os.path.join(d, 'out.json')))
        with open(os.path.join(d, 'out.json')) as f:
            out32 = json.load(f)
    ref = run_check(case, torch.float64)
    expect(abs(out32['loss'] - ref['loss']) < 1e-5 * max(1, abs(ref['loss'])),
           'check (float32) loss %.7f = double %.7f' % (out32['loss'], ref['loss']))
    worst = max(float((torch.tensor(out32['grads'][k], dtype=torch.float64) - g).abs().max() / max(1e-3, float(g.abs().max())))
                for k, g in ref['grads'].items())
    expect(worst < 1e-4, 'check (float32) gradients = double, worst relative error %.1e' % worst)
    expect(out32['viterbi'] == ref['viterbi'], 'check Viterbi = double Viterbi')
    expect(sorted(out32['grads']) == sorted(SHAPES(1, 1)) and
           all(list(torch.tensor(out32['grads'][k]).shape) == list(torch.tensor(case['weights'][k]).shape) for k in out32['grads']),
           'gradients come in the weights\' layout and shapes')

    # 2. CRF against enumeration of all 3^4 paths of the 4-token sentence (double, the model's own emissions,
    #    computed in a batch where it is padded to 7 tokens).
    em, lengths, model = ref['emissions'], ref['lengths'], ref['model']
    L = int(lengths[0])
    assert L == 4 and n == 3
    crf = model.crf
    with torch.no_grad():
        one = em[:1, :L]
        mask1 = torch.ones(1, L, dtype=torch.bool)
        paths = list(itertools.product(range(n), repeat=L))
        scores = torch.stack([crf.score(one, torch.tensor([p]), mask1)[0] for p in paths])
        brute_logz = float(torch.logsumexp(scores, 0))
        padded_mask = torch.arange(em.shape[1]).unsqueeze(0) < lengths[:1].unsqueeze(1)
        logz = float(crf.log_z(em[:1], padded_mask)[0])
        expect(abs(logz - brute_logz) < 1e-10, 'log Z forward (padded to %d) %.12f = enumeration %.12f' % (em.shape[1], logz, brute_logz))
        expect(list(paths[int(scores.argmax())]) == ref['viterbi'][0], 'Viterbi = best of the enumerated paths')
        probs = torch.softmax(scores, 0)
        brute_marg = torch.zeros(L, n, dtype=torch.float64)
        for p, pr in zip(paths, probs):
            for t, j in enumerate(p):
                brute_marg[t, j] += pr
        expect(float((brute_marg - ref['marginals'][0]).abs().max()) < 1e-12, 'marginals = enumeration')
        expect(all(float((m.sum(1) - 1).abs().max()) < 1e-12 for m in ref['marginals']), 'marginals sum to 1')
        gold = torch.tensor([case['sentences'][0]['tags']])
        nll0 = brute_logz - float(crf.score(one, gold, mask1)[0])
    # 3. Each sentence alone gives the same emissions as inside the padded batch (packing: the backward
    #    LSTM starts at the sentence's real last token; char padding to the batch's Lc has no effect).
    alone = [run_check({'weights': case['weights'], 'sentences': [s]}, torch.float64) for s in case['sentences']]
    diff = max(float((a['emissions'][0] - em[b, :int(lengths[b])]).abs().max()) for b, a in enumerate(alone))
    expect(diff < 1e-12, 'emissions of each sentence alone = inside the padded batch (max diff %.1e)' % diff)
    expect(abs(alone[0]['loss'] - nll0) < 1e-10, 'NLL of the 4-token sentence = log Z(enumeration) - gold score')
    mean = sum(a['loss'] for a in alone) / len(alone)
    expect(abs(ref['loss'] - mean) < 1e-10, 'batch loss = mean of the sentences\' losses')

    # 4. Gradients against central finite differences through the JSON layout (double precision).
    def loss_at(weights):
        m = Tagger(len(weights['charEmb']), n).double()
        load_weights(m, weights)
        m.eval()
        with torch.no_grad():
            return float(m.loss(make_batch(case['sentences'], len(weights['charEmb']), n, dtype=torch.float64)))

    c0 = case['sentences'][0]['chars'][0][0]
    probes = [('charEmb', (c0, 3)), ('charEmb', (5, 17)), ('charEmb', (0, 2)), ('charConvW', (0 * CHAR_DIM + 4, 9)),
              ('charConvW', (2 * CHAR_DIM + 29, 41)), ('charConvB', (7,)), ('lstmFwdWx', (3, 10)),
              ('lstmFwdWx', (WORD_DIM + 6, 2 * HIDDEN + 5)), ('lstmFwdWh', (7, HIDDEN + 3)), ('lstmFwdB', (3 * HIDDEN + 1,)),
              ('lstmBwdWx', (WORD_DIM + 20, 11)), ('lstmBwdWh', (100, 3 * HIDDEN + 7)), ('lstmBwdB', (HIDDEN + 60,)),
              ('outW', (5, 1)), ('outW', (HIDDEN + 9, 2)), ('outB', (0,)), ('trans', (1, 2)), ('trans', (2, 2)),
              ('start', (1,)), ('end', (0,))]
    eps = 1e-6
    worst = 0.0
    for name, idx in probes:
        w = json.loads(json.dumps(case['weights']))
        row = at(w[name], idx[:-1])
        x0 = row[idx[-1]]
        row[idx[-1]] = x0 + eps
        up = loss_at(w)
        row[idx[-1]] = x0 - eps
        down = loss_at(w)
        fd = (up - down) / (2 * eps)
        an = float(at(ref['grads'][name], idx))
        err = abs(fd - an) / max(1e-4, abs(fd), abs(an))
        worst = max(worst, err)
        if err > 1e-5:
            expect(False, '%s%s: finite difference %.9f vs autograd %.9f' % (name, list(idx), fd, an))
    expect(worst <= 1e-5, '%d gradient entries = central finite differences, worst relative error %.1e'
           % (len(probes), worst))

    if failures:
        print('selfcheck FAILED: %d check(s)' % len(failures))
        sys.exit(1)
    print('selfcheck passed')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='mode', required=True)
    b = sub.add_parser('bench', help='time training steps, a FOMAML iteration and inference')
    b.add_argument('--data', required=True)
    b.add_argument('--out', required=True)
    c = sub.add_parser('check', help='loss, gradients, Viterbi and marginals for given weights')
    c.add_argument('--case', required=True)
    c.add_argument('--out', required=True)
    sub.add_parser('selfcheck', help='verify the reference numerically on a random case')
    args = p.parse_args()
    {'bench': bench, 'check': check, 'selfcheck': selfcheck}[args.mode](args)


if __name__ == '__main__':
    main()
