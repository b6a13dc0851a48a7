"""FastViterbiLoss: Flair's CRF loss, the same value and gradients, and only while training."""
import pytest
import torch
from flair.data import Dictionary, Sentence
from flair.models.sequence_tagger_utils.viterbi import ViterbiLoss

from spacy_clinical_flair.training.crf_loss import FastViterbiLoss, fast_crf_loss


def tag_dictionary(n_labels: int) -> Dictionary:
    dictionary = Dictionary(add_unk=False)
    dictionary.add_item("O")
    for i in range(n_labels):
        dictionary.add_item(f"B-L{i}")
        dictionary.add_item(f"I-L{i}")
    dictionary.add_item("<START>")
    dictionary.add_item("<STOP>")
    return dictionary


def random_batch(dictionary: Dictionary, lengths, seed: int):
    generator = torch.Generator().manual_seed(seed)
    tags = len(dictionary)
    features = torch.randn(len(lengths), max(lengths), tags, tags, generator=generator, requires_grad=True)
    transitions = torch.randn(tags, tags, generator=generator, requires_grad=True)
    real_tags = tags - 2  # never <START>/<STOP> as a gold tag
    targets = torch.randint(0, real_tags, (sum(lengths),), generator=generator)
    return features, torch.LongTensor(lengths), transitions, targets


def loss_and_grads(loss_module, features, lengths, transitions, targets):
    features.grad = transitions.grad = None
    loss = loss_module((features, lengths, transitions), targets)
    loss.backward()
    return loss.detach(), features.grad.clone(), transitions.grad.clone()


@pytest.mark.parametrize("n_labels,lengths", [(1, [5, 3, 3, 1]), (22, [17, 9, 4, 2, 1]), (3, [1])])
def test_same_loss_and_gradients_as_flairs_viterbi_loss(n_labels, lengths):
    dictionary = tag_dictionary(n_labels)
    batch = random_batch(dictionary, lengths, seed=n_labels)
    theirs = loss_and_grads(ViterbiLoss(dictionary), *batch)
    mine = loss_and_grads(FastViterbiLoss(dictionary), *batch)
    torch.testing.assert_close(mine[0], theirs[0], rtol=1e-5, atol=1e-4)
    # gradients on padding positions are zero in both; everywhere else the same
    torch.testing.assert_close(mine[1], theirs[1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(mine[2], theirs[2], rtol=1e-4, atol=1e-5)


def test_loss_is_the_negative_log_likelihood_by_enumeration():
    """An independent check: for one sentence of 3 tokens, the loss is log(sum over all 5**3 tag paths of
    exp(score)) minus the gold path's score, each score written out by hand. (The partition runs over every
    tag of the dictionary, <START>/<STOP> included, as Flair's does: Flair's CRF keeps those paths out by
    initialising their transitions to -10000, not by leaving them out of the sum.)"""
    dictionary = tag_dictionary(1)  # O, B-L0, I-L0, <START>, <STOP>
    start, stop = dictionary.get_idx_for_item("<START>"), dictionary.get_idx_for_item("<STOP>")
    features, lengths, transitions, _ = random_batch(dictionary, [3], seed=7)
    gold = [1, 2, 0]

    def path_score(path):
        score = features[0, 0, path[0], start]
        for t in (1, 2):
            score = score + features[0, t, path[t], path[t - 1]]
        return score + transitions[stop, path[-1]]

    tags = range(len(dictionary))
    paths = [(a, b, c) for a in tags for b in tags for c in tags]
    expected = torch.logsumexp(torch.stack([path_score(p) for p in paths]), 0) - path_score(gold)
    loss = FastViterbiLoss(dictionary)((features, lengths, transitions), torch.LongTensor(gold))
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)


def test_unsorted_batches_give_the_sum_of_their_sentences():
    dictionary = tag_dictionary(2)
    features, lengths, transitions, targets = random_batch(dictionary, [2, 6, 4], seed=3)
    loss = FastViterbiLoss(dictionary)
    whole = loss((features, lengths, transitions), targets)
    offsets = [0, 2, 8, 12]
    parts = [loss((features[i:i + 1, :lengths[i]], lengths[i:i + 1], transitions), targets[offsets[i]:offsets[i + 1]])
             for i in range(3)]
    torch.testing.assert_close(whole, sum(parts), rtol=1e-5, atol=1e-4)


def test_tagger_uses_it_only_inside_and_its_saved_state_is_unchanged():
    from spacy_clinical_flair.models.build import build_language_model, build_tagger, character_dictionary

    torch.manual_seed(0)
    texts = ["Juan vive en Madrid", "Biopsia hepática el lunes"]
    lm = build_language_model(character_dictionary(texts), True, hidden_size=8, embedding_size=4)
    tagger = build_tagger(["LOC", "PROC"], [lm], hidden_size=8, use_crf=True, tag_format="BIO")
    tagger.eval()  # no dropout: both losses see the same scores
    sentences = [Sentence(text) for text in texts]
    sentences[0][3:4].add_label("ner", "LOC")
    sentences[1][0:2].add_label("ner", "PROC")
    keys = set(tagger.state_dict())
    flair_loss, _ = tagger.forward_loss(sentences)
    with fast_crf_loss(tagger):
        assert isinstance(tagger.loss_function, FastViterbiLoss)
        assert set(tagger.state_dict()) == keys
        fast_loss, _ = tagger.forward_loss(sentences)
    assert isinstance(tagger.loss_function, ViterbiLoss)
    torch.testing.assert_close(fast_loss, flair_loss, rtol=1e-5, atol=1e-4)
