"""The leak measure on a hand-made document whose counts are worked out by hand."""
import pytest

from spacy_clinical_flair.deid.deidentify import Deidentifier, DeidResult, DeidSettings
from spacy_clinical_flair.deid.leak import LeakReport, ReportMismatch, add_document

TEXT = "Juan vio a Juan y a Ana."
#       012345678901234567890123
GOLD = [("P", [(0, 4)]), ("P", [(11, 15)]), ("P", [(20, 23)])]


def tagged(entities):
    """Tags, without replacing other mentions of a found text (so that a missed mention stays missed)."""
    return Deidentifier(DeidSettings(default_operator="tag", propagate=False)).deidentify(TEXT, entities, "d")


def test_a_missed_mention_survives_and_its_string_counts_as_found_and_present():
    result = tagged([(0, 4, "P"), (20, 23, "P")])  # the second "Juan" missed
    assert result.text == "[P] vio a Juan y a [P]."
    report = LeakReport()
    add_document(report, "d", TEXT, GOLD, result)
    total = report.total()
    assert (total.gold_chars, total.surviving_chars) == (11, 4)  # 4 + 4 + 3 gold characters, the missed "Juan"
    assert (total.strings, total.strings_in_output) == (2, 1)  # "Juan" and "Ana"; "Juan" is still there
    assert (total.found_strings, total.found_strings_in_output) == (2, 1)
    assert report.found_but_present == [("d", "P", "Juan")]
    assert report.summary()["total"]["surviving_char_share"] == pytest.approx(4 / 11)


def test_nothing_leaks_when_every_mention_is_replaced_and_keep_counts_as_surviving():
    report = LeakReport()
    add_document(report, "d", TEXT, GOLD, tagged([(0, 4, "P"), (11, 15, "P"), (20, 23, "P")]))
    assert (report.total().surviving_chars, report.total().strings_in_output) == (0, 0)
    kept = Deidentifier(DeidSettings(default_operator="tag", operators={"K": "keep"}, propagate=False)).deidentify(
        TEXT, [(0, 4, "P"), (11, 15, "P"), (20, 23, "K")], "d")
    report = LeakReport()
    add_document(report, "d", TEXT, GOLD, kept)
    assert report.total().surviving_chars == 3 and report.found_but_present == []  # "Ana" kept: not found


def test_a_string_inside_a_longer_word_is_not_a_leak():
    result = tagged([(0, 4, "P"), (11, 15, "P")])
    text_with_word = DeidResult(result.text.replace("Ana.", "Anabel."), result.replacements, "d")
    report = LeakReport()
    add_document(report, "d", TEXT.replace("Ana.", "Anabel."), [("P", [(20, 23)])], text_with_word)
    assert report.total().strings_in_output == 0 and report.total().surviving_chars == 3


def test_a_report_whose_offsets_are_wrong_is_caught():
    result = tagged([(0, 4, "P")])
    result.replacements[0].new_text = "[PP]"  # the report now says the output moved by one more character
    with pytest.raises(ReportMismatch, match="character 11"):
        add_document(LeakReport(), "d", TEXT, GOLD, result)
