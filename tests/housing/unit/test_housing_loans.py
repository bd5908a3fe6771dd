"""Unit tests of the loan schedule and statement: hand-computed cases and properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.housing.loans.domain import (
    LoanRuleViolation,
    LoanStatus,
    LoanTerms,
    Payment,
    loan_statement,
    repayment_schedule,
)

DISBURSED = date(2019, 3, 15)
FULL = LoanTerms(principal=25_000_000)


class TestScheduleByHand:
    def test_the_full_loan_of_decision_33(self) -> None:
        schedule = repayment_schedule(FULL, DISBURSED)
        assert [i.year for i in schedule] == list(range(6, 16))
        assert schedule[0].starts_on == date(2024, 3, 15)
        assert schedule[0].due_on == date(2025, 3, 15)  # nothing due in the 5 grace years
        assert schedule[-1].due_on == date(2034, 3, 15)  # 15-year term
        assert [i.principal for i in schedule] == [2_500_000] * 10
        # 3% a year on 25.0M, 22.5M, … 2.5M outstanding.
        assert [i.interest for i in schedule] == [
            750_000,
            675_000,
            600_000,
            525_000,
            450_000,
            375_000,
            300_000,
            225_000,
            150_000,
            75_000,
        ]
        assert sum(i.interest for i in schedule) == 4_125_000

    def test_an_uneven_principal_rounds_up_and_the_last_takes_the_remainder(self) -> None:
        schedule = repayment_schedule(LoanTerms(principal=12_345_678), DISBURSED)
        # ceil(10% of 12,345,678) = 1,234,568; 12,345,678 − 9 × 1,234,568 = 1,234,566.
        assert [i.principal for i in schedule] == [1_234_568] * 9 + [1_234_566]
        assert [i.outstanding_before for i in schedule[:3]] == [12_345_678, 11_111_110, 9_876_542]
        # floor(3% × outstanding): 370,370.34 → 370,370; 333,333.3 → 333,333; …
        assert [i.interest for i in schedule] == [
            370_370,
            333_333,
            296_296,
            259_259,
            222_222,
            185_185,
            148_148,
            111_111,
            74_074,
            37_036,
        ]

    def test_a_tiny_principal_is_repaid_early_and_never_goes_negative(self) -> None:
        schedule = repayment_schedule(LoanTerms(principal=11), DISBURSED)
        assert [i.principal for i in schedule] == [2, 2, 2, 2, 2, 1, 0, 0, 0, 0]
        assert all(i.interest == 0 for i in schedule)

    def test_a_leap_day_disbursement_falls_due_on_28_february(self) -> None:
        schedule = repayment_schedule(FULL, date(2020, 2, 29))
        assert schedule[0].due_on == date(2026, 2, 28)
        assert schedule[-2].due_on == date(2034, 2, 28)
        assert schedule[-1].due_on == date(2035, 2, 28)

    def test_impossible_terms_are_rejected(self) -> None:
        with pytest.raises(LoanRuleViolation):
            LoanTerms(principal=0)
        with pytest.raises(LoanRuleViolation):
            LoanTerms(principal=1, grace_years=15)


class TestScheduleProperties:
    @given(
        principal=st.integers(min_value=1, max_value=10**12),
        rate_bp=st.integers(min_value=0, max_value=2_000),
        grace=st.integers(min_value=0, max_value=10),
        repay_years=st.integers(min_value=1, max_value=20),
        share=st.integers(min_value=1, max_value=100),
        disbursed=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    )
    def test_schedule_invariants(
        self,
        principal: int,
        rate_bp: int,
        grace: int,
        repay_years: int,
        share: int,
        disbursed: date,
    ) -> None:
        terms = LoanTerms(
            principal=principal,
            annual_rate_bp=rate_bp,
            term_years=grace + repay_years,
            grace_years=grace,
            min_principal_percent_per_year=share,
        )
        schedule = repayment_schedule(terms, disbursed)
        assert len(schedule) == repay_years
        assert sum(i.principal for i in schedule) == principal
        outstanding = principal
        for instalment in schedule:
            assert instalment.principal >= 0 and instalment.interest >= 0
            assert instalment.outstanding_before == outstanding
            # Interest is exactly 3% (rate_bp) of what is outstanding, rounded down.
            assert instalment.interest == outstanding * rate_bp // 10_000
            assert instalment.interest * 10_000 <= outstanding * rate_bp
            if instalment is not schedule[-1]:
                # At least the minimum share, unless it clears what is left.
                assert (
                    instalment.principal * 100 >= principal * share
                    or instalment.principal == outstanding
                )
            outstanding -= instalment.principal
        assert outstanding == 0
        assert schedule[0].starts_on.year == disbursed.year + grace


class TestStatementByHand:
    def test_nothing_is_due_during_grace(self) -> None:
        statement = loan_statement(FULL, DISBURSED, [], date(2024, 3, 14))
        assert statement.status == LoanStatus.CURRENT
        assert statement.due_now == 0
        assert statement.payable_now == 25_000_000  # prepaying principal, no interest yet

    def test_a_years_interest_is_fixed_on_its_first_day(self) -> None:
        statement = loan_statement(FULL, DISBURSED, [], date(2024, 3, 15))
        assert statement.due_now == 0  # due only on 2025-03-15
        assert statement.payable_now == 25_000_000 + 750_000

    def test_an_instalment_paid_on_its_due_date(self) -> None:
        statement = loan_statement(
            FULL, DISBURSED, [Payment(date(2025, 3, 15), 3_250_000)], date(2025, 3, 15)
        )
        assert statement.allocations[0].interest == 750_000
        assert statement.allocations[0].principal == 2_500_000
        assert statement.status == LoanStatus.CURRENT
        assert statement.outstanding_principal == 22_500_000

    def test_overdue_interest_at_130_percent_of_the_rate(self) -> None:
        statement = loan_statement(FULL, DISBURSED, [], date(2025, 4, 14))
        assert statement.status == LoanStatus.OVERDUE
        assert statement.days_overdue == 30
        assert statement.overdue_principal == 2_500_000
        # 2,500,000 × 3.9% × 30 / 365 = 8,013.69… → 8,013.
        assert statement.overdue_interest_unpaid == 8_013
        assert statement.due_now == 2_500_000 + 750_000 + 8_013

    def test_a_late_payment_clears_overdue_interest_first(self) -> None:
        payments = [Payment(date(2025, 4, 14), 3_258_013)]
        statement = loan_statement(FULL, DISBURSED, payments, date(2025, 4, 14))
        allocation = statement.allocations[0]
        assert (allocation.overdue_interest, allocation.interest, allocation.principal) == (
            8_013,
            750_000,
            2_500_000,
        )
        assert statement.status == LoanStatus.CURRENT

    def test_overdue_interest_accrues_on_the_principal_still_overdue(self) -> None:
        payments = [Payment(date(2025, 3, 25), 1_000_000)]
        statement = loan_statement(FULL, DISBURSED, payments, date(2025, 4, 14))
        # 10 days on 2,500,000: 2,671.23 → 2,671; then interest 750,000; principal 247,329.
        assert statement.allocations[0].overdue_interest == 2_671
        assert statement.allocations[0].principal == 247_329
        # 20 more days on 2,252,671: 4,813.93 → 4,813 still unpaid.
        assert statement.overdue_interest_unpaid == 4_813
        assert statement.overdue_principal == 2_252_671

    def test_prepayment_lowers_the_interest_of_later_years(self) -> None:
        payments = [Payment(date(2020, 3, 15), 5_000_000)]
        statement = loan_statement(FULL, DISBURSED, payments, date(2025, 3, 15))
        first, second = statement.instalments[:2]
        assert first.principal_paid == second.principal_paid == 2_500_000
        assert first.interest == 600_000  # 3% of the 20,000,000 still outstanding
        assert statement.due_now == 600_000
        assert statement.status == LoanStatus.CURRENT

    def test_repaid_in_full_during_grace_costs_no_interest(self) -> None:
        payments = [Payment(date(2020, 1, 2), 25_000_000)]
        statement = loan_statement(FULL, DISBURSED, payments, date(2034, 12, 31))
        assert statement.status == LoanStatus.REPAID
        assert statement.payable_now == 0
        assert all(s.interest == 0 for s in statement.instalments)

    @pytest.mark.parametrize(
        ("payment", "field"),
        [
            (Payment(date(2019, 3, 14), 1_000), "paid_on"),
            (Payment(date(2020, 1, 1), 25_000_001), "amount"),
            (Payment(date(2020, 1, 1), 0), "amount"),
        ],
    )
    def test_impossible_payments_name_the_field(self, payment: Payment, field: str) -> None:
        with pytest.raises(LoanRuleViolation) as caught:
            loan_statement(FULL, DISBURSED, [payment], date(2021, 1, 1))
        assert caught.value.field == field

    def test_payments_are_in_date_order(self) -> None:
        payments = [Payment(date(2020, 5, 1), 1_000), Payment(date(2020, 4, 1), 1_000)]
        with pytest.raises(LoanRuleViolation, match="date order"):
            loan_statement(FULL, DISBURSED, payments, date(2021, 1, 1))


class TestStatementProperties:
    @given(principal=st.integers(min_value=1, max_value=25_000_000))
    def test_paying_each_instalment_on_time_repays_principal_and_interest(
        self, principal: int
    ) -> None:
        terms = LoanTerms(principal=principal)
        schedule = repayment_schedule(terms, DISBURSED)
        payments = [Payment(i.due_on, i.total) for i in schedule if i.total]
        statement = loan_statement(terms, DISBURSED, payments, schedule[-1].due_on)
        assert statement.status == LoanStatus.REPAID
        assert sum(a.principal for a in statement.allocations) == principal
        assert sum(a.interest for a in statement.allocations) == sum(i.interest for i in schedule)
        assert sum(a.overdue_interest for a in statement.allocations) == 0

    @given(
        principal=st.integers(min_value=1, max_value=25_000_000),
        steps=st.lists(
            st.tuples(st.integers(min_value=0, max_value=900), st.integers(1, 5_000_000)),
            max_size=12,
        ),
    )
    def test_any_payments_keep_balances_consistent(
        self, principal: int, steps: list[tuple[int, int]]
    ) -> None:
        terms = LoanTerms(principal=principal)
        day, payments = DISBURSED, list[Payment]()
        for gap, amount in steps:
            day += timedelta(days=gap * 7)
            probe = loan_statement(terms, DISBURSED, payments, day)
            if probe.payable_now == 0:
                break
            payments.append(Payment(day, min(amount, probe.payable_now)))
        statement = loan_statement(terms, DISBURSED, payments, day)
        assert sum(a.amount for a in statement.allocations) == sum(p.amount for p in payments)
        for a in statement.allocations:
            assert a.overdue_interest + a.interest + a.principal == a.amount
        paid_principal = sum(a.principal for a in statement.allocations)
        assert statement.outstanding_principal == principal - paid_principal >= 0
        for state in statement.instalments:
            assert 0 <= state.principal_paid <= state.instalment.principal
            assert 0 <= state.interest_paid <= state.interest <= state.instalment.interest
            assert 0 <= state.overdue_interest_paid <= state.overdue_interest
