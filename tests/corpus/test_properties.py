"""Property-based test: random texts with nested, crossing, identical and discontinuous spans.

The expectations are derived here from the rules as stated (outermost = inside no other
candidate and not a later duplicate of one; crossing = longest wins, ties to the earlier start),
not by re-running the library's algorithm.
"""
from collections import Counter

import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spacy_clinical_flair.corpus.brat import parse_ann
from spacy_clinical_flair.corpus.convert import ConversionReport, brat_document_to_doc

NLP = spacy.blank("es")
LABELS = ["ENF", "SIN", "FAR"]


@st.composite
def annotated_texts(draw):
    text = draw(st.text(alphabet="abcdé C.,-\n\r\t", min_size=1, max_size=50))
    if draw(st.booleans()):
        text = "\ufeff" + text
    n = len(text)
    spans = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["random", "nested", "identical", "discontinuous"]))
        label = draw(st.sampled_from(LABELS))
        if kind in ("nested", "identical") and spans:
            base = draw(st.sampled_from(spans))[1]
            start, end = base[0][0], base[-1][1]
            if kind == "nested":
                start = draw(st.integers(start, end - 1))
                end = draw(st.integers(start + 1, end))
            spans.append((label, [(start, end)]))
        elif kind == "discontinuous" and n >= 3:
            a = draw(st.integers(0, n - 3))
            b = draw(st.integers(a + 1, n - 2))
            c = draw(st.integers(b + 1, n - 1))
            d = draw(st.integers(c + 1, n))
            spans.append((label, [(a, b), (c, d)]))
        else:
            start = draw(st.integers(0, n - 1))
            spans.append((label, [(start, draw(st.integers(start + 1, n)))]))
    return text, spans


def ann_for(text, spans):
    lines = []
    for number, (label, fragments) in enumerate(spans, start=1):
        offsets = ";".join(f"{s} {e}" for s, e in fragments)
        lines.append(f"T{number}\t{label} {offsets}\t" + " ".join(text[s:e] for s, e in fragments))
    return "\n".join(lines) + "\n"


def trimmed(text, start, end):
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def expected_candidates(text, spans):
    """(start, end, label, order) of entities that may reach doc.ents, and all trimmed fragments."""
    candidates, fragments = [], []
    for order, (label, raw) in enumerate(spans):
        frags = [f for f in (trimmed(text, s, e) for s, e in raw) if f[0] < f[1]]
        fragments.extend((s, e, label, f"T{order + 1}") for s, e in frags)
        if not frags:
            continue
        gaps = [text[a[1]:b[0]] for a, b in zip(frags, frags[1:])]
        if all(not gap.strip() for gap in gaps):
            candidates.append((frags[0][0], frags[-1][1], label, order))
    return candidates, fragments


def is_outermost(c, candidates):
    for d in candidates:
        if d is c:
            continue
        same = (d[0], d[1]) == (c[0], c[1])
        if not same and d[0] <= c[0] and c[1] <= d[1]:
            return False
        if same and d[3] < c[3]:
            return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(annotated_texts())
def test_flattening_properties(case):
    text, spans = case
    brat = parse_ann(ann_for(text, spans), text, "gen.ann")
    brat.doc_id = "gen"
    report = ConversionReport()
    doc = brat_document_to_doc(brat, NLP, report)

    assert doc.text == text
    candidates, fragments = expected_candidates(text, spans)
    outermost = [c for c in candidates if is_outermost(c, candidates)]
    ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    outer_keys = {(c[0], c[1], c[2]) for c in outermost}

    # every ent is an outermost entity, exact offsets and label
    assert set(ents) <= outer_keys
    for c in outermost:
        overlapping = [d for d in outermost if d is not c and d[0] < c[1] and c[0] < d[1]]
        if not overlapping:  # an outermost entity that crosses nothing is in doc.ents
            assert (c[0], c[1], c[2]) in ents
        elif (c[0], c[1], c[2]) not in ents:  # it lost to a longer (or equally long, earlier) ent
            assert any(e[0] < c[1] and c[0] < e[1] and
                       (e[1] - e[0] > c[1] - c[0] or (e[1] - e[0] == c[1] - c[0] and e[0] < c[0]))
                       for e in ents)

    # every original entity is in the span group, fragment by fragment, with its BRAT id
    group = Counter((s.start_char, s.end_char, s.label_, s.id_) for s in doc.spans["brat"])
    assert group == Counter(fragments)

    # the report accounts for every T line
    assert report.t_lines == len(spans) == sum(report.outcomes.values())
    assert report.outcomes["in_ents"] == len(doc.ents)
    for ent in doc.ents:
        assert all(not token.is_sent_start for token in ent[1:])
