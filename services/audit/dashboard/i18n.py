"""The dashboard's two languages: message lookup and how numbers, ratios and dates are written.

Every string a page shows comes from :data:`services.audit.dashboard.messages.MESSAGES`;
templates get a :class:`Translator` as ``t`` and write ``t("key")`` or ``t.ratio(...)``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo

from services.audit.dashboard.messages import MESSAGES
from services.audit.monitoring.schemas import Ratio

Lang = Literal["vi", "en"]
LANGUAGES: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"
#: Event times are stored in UTC; inspectors read them in Vietnam's time.
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NO_VALUE = "—"


def as_lang(value: str | None) -> Lang:
    """``value`` if it names a language of the dashboard, else the default (Vietnamese)."""
    return cast(Lang, value) if value in LANGUAGES else DEFAULT_LANG


def event_name(ce_type: str) -> str:
    """``vn.ansinh.households.household_registered.v1`` → ``household_registered``."""
    parts = ce_type.split(".")
    return parts[3] if len(parts) == 5 else ce_type


class Translator:
    """Messages and formats of one language (``t`` in the templates)."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.messages = MESSAGES[lang]
        self.other: Lang = "en" if lang == "vi" else "vi"

    def __call__(self, key: str, **values: object) -> str:
        """The message ``key``, with ``{name}`` placeholders filled from ``values``."""
        text = self.messages.get(key) or MESSAGES["en"].get(key) or key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.messages

    def _labelled(self, prefix: str, name: str | None) -> str:
        if not name:
            return NO_VALUE
        key = f"{prefix}.{name}"
        return self(key) if self.has(key) else name.replace("_", " ")

    def event_type(self, ce_type: str) -> str:
        """The event's name in this language (its technical name if not catalogued)."""
        return self._labelled("event", event_name(ce_type))

    def poverty_class(self, name: str | None) -> str:
        return self._labelled("class", name)

    def finding_kind(self, kind: str | None) -> str:
        return self._labelled("kind", kind)

    def measure(self, name: str) -> str:
        return self._labelled("measure", name)

    def word(self, name: str | None) -> str:
        """A value from the events (sex, area, outcome, case kind) in this language."""
        return self._labelled("value", name)

    def num(self, value: float | None, digits: int = 0) -> str:
        """``1234.5`` → ``1,234.5`` (English) or ``1.234,5`` (Vietnamese)."""
        if value is None:
            return NO_VALUE
        text = f"{value:,.{digits}f}"
        if self.lang == "vi":
            text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return text

    def ratio(self, ratio: Ratio | None) -> str:
        """A share as a percentage, a rate per 1,000 as ‰; a dash without a denominator."""
        if ratio is None or ratio.value is None:
            return NO_VALUE
        if ratio.per == 1:
            return f"{self.num(ratio.value * 100, 1)} %"
        if ratio.per == 1000:
            return f"{self.num(ratio.value, 1)} ‰"
        return f"{self.num(ratio.value, 1)} %" if ratio.per == 100 else self.num(ratio.value, 2)

    def counts(self, ratio: Ratio | None) -> str:
        """``numerator / denominator`` as counted."""
        if ratio is None:
            return NO_VALUE
        return f"{self.num(ratio.numerator)} / {self.num(ratio.denominator)}"

    def days(self, value: float | None) -> str:
        if value is None:
            return NO_VALUE
        return self("unit.days", n=self.num(value, 0 if float(value).is_integer() else 1))

    def date(self, value: date | str | None) -> str:
        if value is None:
            return NO_VALUE
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return day.strftime("%d/%m/%Y") if self.lang == "vi" else day.isoformat()

    def moment(self, value: str | datetime | None) -> str:
        """An event time (RFC 3339, UTC) in Vietnam's time, to the minute."""
        if value is None:
            return NO_VALUE
        moment = (
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            if isinstance(value, str)
            else value
        )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(LOCAL_ZONE)
        pattern = "%d/%m/%Y %H:%M:%S" if self.lang == "vi" else "%Y-%m-%d %H:%M:%S"
        return local.strftime(pattern)

    def yes_no(self, value: bool | None) -> str:
        if value is None:
            return NO_VALUE
        return self("common.yes") if value else self("common.no")
