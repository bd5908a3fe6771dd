"""The charts of the four views, from the view models (colours say which way is good)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup

from services.audit.dashboard.charts import Bar, BarGroup, bar_chart
from services.audit.dashboard.i18n import Translator
from services.audit.monitoring.schemas import (
    CommuneRow,
    DemocracyRow,
    DistributionRow,
    FairnessRow,
    LagStats,
    Ratio,
    TargetsRow,
    TimelinessRow,
)


def _share(t: Translator, label: str, ratio: Ratio, tone: str) -> BarGroup:
    """One indicator as a bar on the 0–100 % scale, its counts in the tooltip."""
    return BarGroup(label, [Bar(ratio.value, f"{t.ratio(ratio)} ({t.counts(ratio)})", tone)])


def democracy_chart(t: Translator, row: DemocracyRow) -> Markup:
    groups = [
        _share(t, t("democracy.valid_meetings"), row.recognitions_with_valid_meeting, "good"),
        _share(t, t("democracy.posted_days"), row.lists_posted_for_required_days, "good"),
        _share(t, t("democracy.complaints_on_time"), row.complaints_resolved_on_time, "good"),
        _share(t, t("democracy.complaints_changed"), row.complaints_changing_class, "neutral"),
    ]
    return bar_chart(groups, title=t("democracy.title"), maximum=1.0)


def fairness_chart(t: Translator, row: FairnessRow) -> Markup:
    groups = [
        _share(t, t("fairness.exclusion"), row.exclusion, "bad"),
        _share(t, t("fairness.excess"), row.excess, "bad"),
        _share(t, t("fairness.duplicates"), row.duplicates, "bad"),
        _share(t, t("fairness.misclassification"), row.misclassification, "bad"),
    ]
    return bar_chart(groups, title=t("fairness.title"), maximum=1.0)


def timeliness_chart(t: Translator, row: TimelinessRow) -> Markup:
    groups = [_share(t, t.measure(lag.measure), lag.on_time, "good") for lag in row.lags]
    return bar_chart(groups, title=t("timeliness.on_time_chart"), maximum=1.0)


def backlog_chart(t: Translator, lag: LagStats) -> Markup:
    groups = [
        BarGroup(t("timeliness.days_open", label=b.label), [Bar(b.count, t.num(b.count), "warn")])
        for b in lag.backlog
    ]
    return bar_chart(groups, title=t("timeliness.backlog_of", measure=t.measure(lag.measure)))


def targets_chart(t: Translator, row: TargetsRow) -> Markup:
    plan, actual = t("targets.plan"), t("targets.actual")
    groups = [
        BarGroup(
            t.measure(line.measure),
            [
                Bar(
                    line.plan,
                    t.num(line.plan) if line.plan is not None else t("targets.no_plan"),
                    "plan",
                    plan,
                ),
                Bar(line.actual, t.num(line.actual), "neutral", actual),
            ],
        )
        for line in row.lines
    ]
    return bar_chart(groups, title=t("targets.title"), legend=[(plan, "plan"), (actual, "neutral")])


def findings_chart(t: Translator, by_kind: dict[str, int]) -> Markup:
    groups = [
        BarGroup(
            t.finding_kind(kind),
            [Bar(count, t.num(count), "bad")],
            href=f"/dashboard/findings?kind={kind}",
        )
        for kind, count in sorted(by_kind.items(), key=lambda item: (-item[1], item[0]))
    ]
    return bar_chart(groups, title=t("findings.by_kind"))


def commune_chart(
    t: Translator,
    rows: Sequence[CommuneRow],
    name: Callable[[str], str],
    year: int,
) -> Markup:
    """Poor and near-poor rates per commune, each label a link to the commune."""
    poor, near = t("class.poor"), t("class.near_poor")
    groups = [
        BarGroup(
            name(row.commune_code),
            [
                Bar(row.poor_rate.value, t.ratio(row.poor_rate), "bad", poor),
                Bar(row.near_poor_rate.value, t.ratio(row.near_poor_rate), "warn", near),
            ],
            href=f"/dashboard/communes/{row.commune_code}?year={year}",
        )
        for row in rows
    ]
    return bar_chart(groups, title=t("areas.rates_chart"), legend=[(poor, "bad"), (near, "warn")])


def distribution_chart(
    t: Translator, rows: Sequence[DistributionRow], benefit: str, name: Callable[[str], str]
) -> Markup:
    """Each group's share of the eligible population against its share of ``benefit``
    (``name`` gives a commune's name from its code)."""
    eligible, received = t("fairness.eligible_share"), t("fairness.benefit_share")
    groups = [
        BarGroup(
            f"{t('dimension.' + row.dimension)}: "
            + (name(row.group) if row.dimension == "commune" else t.word(row.group)),
            [
                Bar(row.eligible_share.value, t.ratio(row.eligible_share), "plan", eligible),
                Bar(row.benefit_share.value, t.ratio(row.benefit_share), "neutral", received),
            ],
        )
        for row in rows
        if row.benefit == benefit
    ]
    return bar_chart(
        groups,
        title=t("benefit." + benefit),
        maximum=1.0,
        legend=[(eligible, "plan"), (received, "neutral")],
    )
