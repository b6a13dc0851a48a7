"""Date shifting: each expected value worked out by hand on a calendar."""
import pytest

from spacy_clinical_flair.deid.dates import shift_date


@pytest.mark.parametrize("text,days,expected", [
    ("12/05/2018", 30, "11/06/2018"),            # May has 31 days: 12 + 30 = 42 = June 11
    ("05/03/2018", 1, "06/03/2018"),             # zero padding kept
    ("5-3-18", 1, "6-3-18"),                     # no padding, two-digit year, dashes kept
    ("31.12.2018", 1, "01.01.2019"),
    ("2018-02-28", 1, "2018-03-01"),             # 2018 is not a leap year
    ("3 de junio de 2019", -400, "29 de abril de 2018"),  # -365: 2018-06-03; -35 more: April 29
    ("Marzo del 2014", 31, "Abril del 2014"),    # a month counts from its 15th; case kept
    ("NOVIEMBRE 2007", 61, "ENERO 2008"),        # Nov 15 + 61 days = Jan 15
    ("año 2004", 400, "año 2005"),               # a year counts from July 1st: 2005-08-05
    ("verano de 2003", -400, "verano de 2002"),
    ("el 12 de mayo", 20, "el 1 de junio"),      # words around the date kept
    ("03/15/1996", 20, "04/04/1996"),            # month first (15 cannot be a month): March 15 + 20 = April 4
])
def test_shifts_keep_the_format(text, days, expected):
    assert shift_date(text, days) == expected


@pytest.mark.parametrize("text", ["31/02/2018", "3 años", "hace tiempo", ""])
def test_what_is_not_a_date_gives_none(text):
    assert shift_date(text, 10) is None
