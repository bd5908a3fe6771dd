"""The dashboard speaks both languages completely, and writes numbers the local way."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import get_args

from services.audit.dashboard.charts import Bar, BarGroup, bar_chart
from services.audit.dashboard.i18n import Translator, as_lang
from services.audit.dashboard.messages import MESSAGES
from services.audit.monitoring import schemas
from services.audit.monitoring.detectors import KINDS
from services.audit.monitoring.schemas import Ratio
from tests.support import REPO_ROOT

AUDIT = REPO_ROOT / "services" / "audit"
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_0-9]+\.[a-z_0-9.]+)["']\s*[,)]""")


def _keys_used() -> set[str]:
    sources = [*(AUDIT / "templates").glob("*.html"), *(AUDIT / "dashboard").glob("*.py")]
    used = set()
    for path in sources:
        used.update(LITERAL_KEY.findall(Path(path).read_text(encoding="utf-8")))
        used.update(re.findall(r"""_key="([a-z_]+\.[a-z_]+)""", path.read_text(encoding="utf-8")))
    return used


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_messages_with_the_same_placeholders() -> None:
    assert set(MESSAGES["vi"]) == set(MESSAGES["en"])
    for key, text in MESSAGES["vi"].items():
        assert _placeholders(text) == _placeholders(MESSAGES["en"][key]), key


def test_every_message_a_page_asks_for_exists() -> None:
    used = _keys_used()
    assert "overview.title" in used  # the scan finds keys at all
    assert used - set(MESSAGES["en"]) == set()


def test_every_published_event_type_and_finding_kind_has_a_name_in_both_languages() -> None:
    event_names = {p.name.split(".")[3] for p in (REPO_ROOT / "contracts" / "events").glob("*")}
    assert event_names
    for lang in ("vi", "en"):
        missing = {n for n in event_names if f"event.{n}" not in MESSAGES[lang]}
        missing |= {k for k in KINDS if f"kind.{k}" not in MESSAGES[lang]}
        assert missing == set(), lang


def test_every_measure_benefit_and_class_of_the_views_is_named() -> None:
    prefixes = {
        "measure": [
            *get_args(schemas.LagMeasure),
            *get_args(schemas.TargetMeasure),
            *get_args(schemas.RateMeasure),
        ],
        "benefit": get_args(schemas.Benefit),
        "dimension": get_args(schemas.Dimension),
        "class": get_args(schemas.PovertyClassName),
        "status": get_args(schemas.FindingStatus),
    }
    for prefix, names in prefixes.items():
        for name in names:
            assert f"{prefix}.{name}" in MESSAGES["vi"], f"{prefix}.{name}"


def test_vietnamese_and_english_write_numbers_dates_and_shares_their_own_way() -> None:
    vi, en = Translator("vi"), Translator("en")
    share = Ratio(numerator=1, denominator=8)
    assert (vi.num(1234.5, 1), en.num(1234.5, 1)) == ("1.234,5", "1,234.5")
    assert (vi.ratio(share), en.ratio(share)) == ("12,5 %", "12.5 %")
    assert vi.ratio(Ratio(numerator=3, denominator=1000, per=1000)) == "3,0 ‰"
    assert vi.ratio(Ratio(numerator=0, denominator=0)) == "—"
    assert (vi.date("2026-03-02"), en.date("2026-03-02")) == ("02/03/2026", "2026-03-02")
    assert vi.moment("2026-03-01T17:30:00Z") == "02/03/2026 00:30:00"  # shown in UTC+7
    assert vi.event_type("vn.ansinh.insurance.card_issued.v1") == "Cấp thẻ BHYT"
    assert en.event_type("vn.ansinh.insurance.some_new_event.v1") == "some new event"
    assert as_lang("fr") == "vi" and as_lang("en") == "en"


def test_chart_text_is_escaped() -> None:
    svg = bar_chart(
        [BarGroup('<script>alert("x")</script>', [Bar(0.5, "50 %", "good")])], title="a & b"
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg and "a &amp; b" in svg
