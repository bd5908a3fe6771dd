"""The supervisor's restart policy and exit causes: pure rules, no processes."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

from deploy.local.status import exit_summary
from deploy.local.supervisor import ExitCause, RestartPolicy

POLICY = RestartPolicy()


class TestBackOff:
    def test_starts_at_half_a_second_and_doubles(self) -> None:
        assert [POLICY.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]

    def test_never_waits_more_than_thirty_seconds(self) -> None:
        assert POLICY.delay(7) == 30.0
        assert POLICY.delay(60) == 30.0

    def test_a_process_up_for_a_minute_starts_again_from_the_first_delay(self) -> None:
        assert POLICY.attempt_after(previous_attempt=6, up_for=60.0) == 1
        assert POLICY.delay(POLICY.attempt_after(6, 60.0)) == 0.5

    def test_a_process_that_dies_sooner_backs_off_further(self) -> None:
        assert POLICY.attempt_after(previous_attempt=3, up_for=59.9) == 4
        assert POLICY.attempt_after(previous_attempt=0, up_for=0.1) == 1


class TestCrashLoop:
    def test_five_exits_within_two_minutes_give_up(self) -> None:
        exits = [0.0, 10.0, 20.0, 30.0, 40.0]
        assert POLICY.crash_looping(exits, now=40.0)

    def test_four_exits_do_not(self) -> None:
        assert not POLICY.crash_looping([0.0, 1.0, 2.0, 3.0], now=3.0)

    def test_exits_older_than_the_window_are_forgotten(self) -> None:
        exits = [0.0, 10.0, 130.0, 140.0, 150.0]
        assert not POLICY.crash_looping(exits, now=150.0)

    def test_the_window_and_count_are_the_policys(self) -> None:
        strict = RestartPolicy(crash_loop_exits=2, crash_loop_window=5.0)
        assert strict.crash_looping([0.0, 4.0], now=4.0)
        assert not strict.crash_looping([0.0, 6.0], now=6.0)


class TestExitCause:
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)

    def test_a_negative_return_code_is_the_signal_that_killed_it(self) -> None:
        cause = ExitCause.of(-signal.SIGKILL, self.at)
        assert (cause.code, cause.signal, cause.at) == (
            None,
            "SIGKILL",
            "2026-12-07T03:00:00+00:00",
        )
        assert str(cause) == "killed by SIGKILL"

    def test_a_positive_one_is_the_exit_code(self) -> None:
        cause = ExitCause.of(3, self.at)
        assert (cause.code, cause.signal) == (3, None)
        assert str(cause) == "exit code 3"

    def test_status_summarises_the_record_kept_in_the_state_file(self) -> None:
        record = {
            "state": "running",
            "restarts": 2,
            "last_exit": {"code": None, "signal": "SIGKILL", "at": "2026-12-07T03:00:00+00:00"},
        }
        assert exit_summary(record) == (
            "running, 2 restart(s), last exit: killed by SIGKILL at 2026-12-07T03:00:00+00:00"
        )
        assert exit_summary({"state": "running", "restarts": 0, "last_exit": None}) == (
            "running, 0 restart(s)"
        )
