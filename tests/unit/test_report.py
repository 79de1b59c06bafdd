"""The platform's log lines in Lambda's exact formats, and how a runtime's exit is worded."""

import re
import signal

import pytest

from ember.environments.environment import exit_reason
from ember.observe import report

RID = "8f5b2a3c-1d4e-4f60-9a7b-0c1d2e3f4a5b"


def fields_of(line: str) -> list[str]:
    assert line.endswith("\t"), "Lambda ends every REPORT line with a tab"
    return line[:-1].split("\t")


def test_report_line_fields_in_order():
    line = report.report_line(RID, 12.3456, 128, 41)
    assert line == (
        f"REPORT RequestId: {RID}\tDuration: 12.35 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 41 MB\t"
    )


@pytest.mark.parametrize(
    "duration, billed",
    [(0.0, 1), (0.01, 1), (0.99, 1), (1.0, 1), (1.01, 2), (1.5, 2), (99.999, 100), (100.0, 100), (1000.0001, 1001)],
)
def test_billed_duration_is_the_ceiling_in_ms_and_at_least_1(duration, billed):
    assert fields_of(report.report_line(RID, duration, 128, 30))[2] == f"Billed Duration: {billed} ms"


def test_duration_has_two_decimals():
    assert fields_of(report.report_line(RID, 3.0, 128, 30))[1] == "Duration: 3.00 ms"
    assert fields_of(report.report_line(RID, 2999.996, 128, 30))[1] == "Duration: 3000.00 ms"


def test_init_duration_only_when_given():
    cold = fields_of(report.report_line(RID, 5.0, 256, 50, init_duration_ms=123.456))
    assert cold[3:] == ["Memory Size: 256 MB", "Max Memory Used: 50 MB", "Init Duration: 123.46 ms"]
    warm = fields_of(report.report_line(RID, 5.0, 256, 50))
    assert not any(field.startswith("Init Duration") for field in warm)
    # Zero is a duration, not an absence.
    assert "Init Duration: 0.00 ms" in fields_of(report.report_line(RID, 5.0, 256, 50, init_duration_ms=0.0))


def test_status_and_error_type_come_last():
    line = report.report_line(
        RID, 1000.0, 128, 60, init_duration_ms=80.0, status="error", error_type="Runtime.ExitError"
    )
    assert fields_of(line)[-3:] == ["Init Duration: 80.00 ms", "Status: error", "Error Type: Runtime.ExitError"]
    timeout = fields_of(report.report_line(RID, 1000.0, 128, 60, status="timeout"))
    assert timeout[-1] == "Status: timeout"
    assert timeout[2] == "Billed Duration: 1000 ms"
    assert not any(field.startswith("Error Type") for field in timeout)


def test_start_and_end_lines():
    assert report.start_line(RID, "$LATEST") == f"START RequestId: {RID} Version: $LATEST"
    assert report.start_line(RID, "3") == f"START RequestId: {RID} Version: 3"
    assert report.end_line(RID) == f"END RequestId: {RID}"


def test_init_lines():
    assert report.init_start_line("python3.12") == "INIT_START Runtime Version: python:3.12.ember"
    assert report.init_report_line(1234.5, "Runtime.ImportModuleError") == (
        "INIT_REPORT Init Duration: 1234.50 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError"
    )


def test_timeout_line():
    line = report.timeout_line(RID, 3)
    assert re.fullmatch(
        rf"\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}\.\d{{3}}Z {RID} Task timed out after 3\.00 seconds", line
    ), line


def test_exit_line():
    assert report.exit_line(RID, "Runtime exited with error: exit status 1") == (
        f"RequestId: {RID} Error: Runtime exited with error: exit status 1\nRuntime.ExitError"
    )


# ------------------------------------------------------------ exit_reason


@pytest.mark.parametrize(
    "returncode, reason",
    [
        (1, "Runtime exited with error: exit status 1"),
        (3, "Runtime exited with error: exit status 3"),
        (255, "Runtime exited with error: exit status 255"),
        (0, "Runtime exited without providing a reason"),
        (None, "Runtime exited without providing a reason"),
    ],
)
def test_exit_reason_for_exit_statuses(returncode, reason):
    assert exit_reason(returncode) == reason


@pytest.mark.parametrize(
    "sig, words",
    [
        # Lambda's wording is Go's signal names, lower case.
        (signal.SIGKILL, "killed"),
        (signal.SIGTERM, "terminated"),
        (signal.SIGSEGV, "segmentation fault"),
        (signal.SIGABRT, "aborted"),
        (signal.SIGINT, "interrupt"),
        (signal.SIGBUS, "bus error"),
    ],
)
def test_exit_reason_for_signals(sig, words):
    assert exit_reason(-sig) == f"Runtime exited with error: signal: {words}"
