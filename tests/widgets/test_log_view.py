"""The log tab of JobDetail: the newest lines by default, earlier ones on request, never moved under the reader
(issue 21). Its state machine (:class:`~widgets.jobs.detail_state.JobDetailState`) is driven without a browser."""

from __future__ import annotations

import pytest

from widgets.jobs.detail import JobDetail
from widgets.jobs.detail_state import JobDetailState
from widgets.jobs.logtail import LogTail


def _lines(first: int, last: int) -> bytes:
    return "".join(f"line {i}\n" for i in range(first, last + 1)).encode()


def test_it_follows_the_newest_lines():
    tail = LogTail(lines=20)
    tail.append(_lines(1, 100))
    assert tail.following and tail.window == (80, 100) and tail.total == 100
    assert tail.text.splitlines() == [f"line {i}" for i in range(81, 101)]
    tail.append(_lines(101, 105))
    assert tail.text.splitlines()[-1] == "line 105" and tail.window == (85, 105)
    assert tail.status() == "Newest lines (lines 86 to 105 of 105); new lines appear as they come."


def test_earlier_lines_stay_in_view_while_the_log_grows_until_latest():
    tail = LogTail(lines=20, page=50)
    tail.append(_lines(1, 100))
    tail.earlier()
    assert not tail.following and tail.window == (30, 100)
    shown = tail.text
    assert shown.splitlines()[0] == "line 31" and shown.splitlines()[-1] == "line 100"
    tail.append(_lines(101, 400))
    assert tail.text == shown and tail.hidden_after == 300  # the reader is not moved
    assert tail.status() == ("Earlier lines (lines 31 to 100 of 400; 300 newer); the view stays here until "
                             "Latest lines.")
    tail.earlier()
    tail.earlier()
    assert tail.window == (0, 100) and tail.hidden_before == 0
    tail.latest()
    assert tail.following and tail.text.splitlines()[-1] == "line 400" and tail.window == (380, 400)


def test_a_long_read_back_keeps_at_most_so_many_lines_in_view():
    tail = LogTail(lines=10, page=100, most=150)
    tail.append(_lines(1, 1000))
    for _ in range(3):
        tail.earlier()
    assert tail.window == (690, 840)  # 300 lines above the 10 newest, at most 150 in view


def test_lines_and_characters_split_across_range_requests():
    tail = LogTail()
    data = "première ligne\r\ndeuxième ligne\nla troisième".encode()
    cut = data.index("è".encode()) + 1  # inside a two-byte character
    tail.append(data[:cut])
    tail.append(data[cut:])
    assert tail.received == len(data) and tail.total == 3
    assert tail.text == "première ligne\ndeuxième ligne\nla troisième"
    tail.append(b" (suite)\n")
    assert tail.text.splitlines()[-1] == "la troisième (suite)" and tail.total == 3


def test_the_log_state_follows_the_newest_lines_and_earlier_ones_on_request():
    state = JobDetailState()
    assert state.log_text == "" and state.log_lines == 0 and not state.has_earlier and state.following
    state.log_arrived(None, 0, _lines(1, 100))  # what the Range request from byte 0 brought
    assert state.log_text.splitlines() == [f"line {i}" for i in range(81, 101)] and state.has_earlier
    state.log_earlier()
    earlier = state.log_text
    assert earlier.startswith("line 1\n") and not state.following
    state.log_arrived(None, state.tail.received, _lines(101, 130))
    assert state.log_text == earlier and "30 newer" in state.log_status  # the reader is not moved
    state.log_arrived(None, 5, b"stale\n")  # an answer for an offset already read is dropped
    assert state.log_lines == 130
    state.log_latest()
    assert state.following and state.log_text.splitlines()[-1] == "line 130"
    state.show(None)
    assert state.log_text == "" and state.tail.received == 0 and state.log_lines == 0


def test_an_answer_for_a_job_no_longer_shown_is_dropped():
    from widgets.client import PortalClient
    from widgets.jobs.handle import JobHandle

    client = PortalClient("http://127.0.0.1:9", token="x")  # nothing is asked of it: no job has a log result yet
    first, second = (JobHandle(f"http://127.0.0.1:9/uws/count/{i}", client=client) for i in ("a", "b"))
    state = JobDetailState()
    state.show(first)
    state.show(second)
    state.log_arrived(first, 0, _lines(1, 3))
    assert state.job is second and state.log_lines == 0
    state.log_arrived(second, 0, _lines(1, 3))
    assert state.log_lines == 3
    client.close()


def test_the_log_tab_shows_the_states_lines_escaped():
    detail = JobDetail()
    assert detail._log.value == "" and detail._log_earlier.disabled and detail._log_latest.disabled
    detail.state.log_arrived(None, 0, _lines(1, 99) + b"<b>line 100</b>\n")
    shown = detail._log.value
    assert "line 81\n" in shown and "&lt;b&gt;line 100&lt;/b&gt;" in shown and "<b>" not in shown
    assert "line 80\n" not in shown
    assert "flex-direction:column-reverse" in shown  # the box opens at its end: the newest line in sight
    assert not detail._log_earlier.disabled and detail._log_latest.disabled
    detail._log_earlier.click()
    assert "line 1\n" in detail._log.value and not detail._log_latest.disabled
    detail.state.log_arrived(None, detail.state.tail.received, _lines(101, 130))
    assert "30 newer" in detail._log_status.value
    detail._log_latest.click()
    assert "line 130" in detail._log.value and "line 110\n" not in detail._log.value
    detail.show(None)
    assert detail._log.value == ""


@pytest.mark.slow
def test_a_running_jobs_log_shows_its_newest_lines(portal_server, portal_token):
    """Against ``portal serve``: a count job logs far more lines than are shown; the tab ends at its last step."""
    from widgets.background import Background
    from widgets.client import PortalClient
    from widgets.jobs.monitor import JobMonitor
    from widgets.jobs.monitor_state import MonitorState

    client, bg = PortalClient(portal_server.url, portal_token), Background()
    url = client.uws.create("count", {"n": 60, "interval": 0.01}, run=True, run_id="log-tail")
    state = MonitorState(client, bg, kinds=["count"], wait=10, auto_refresh=0)
    monitor = JobMonitor(client, state=state, background=True)
    try:
        assert bg.wait_until(lambda: state.status == "idle", timeout=60), state.message
        job = state.find(url.rsplit("/", 1)[-1])
        monitor.select(job)
        assert bg.wait_until(lambda: job.phase == "COMPLETED", timeout=120)
        detail = state.detail  # the monitor's state shows the selected job in full
        assert detail.job is job
        assert bg.wait_until(lambda: "job completed" in detail.log_text, timeout=30)
        assert "step 60" in detail.log_text and "step 1\n" not in detail.log_text
        assert bg.wait_until(lambda: "job completed" in monitor.detail._log.value, timeout=30)  # and its view
        detail.log_earlier()
        assert "step 1\n" in detail.log_text and "step 1\n" in monitor.detail._log.value
    finally:
        monitor.close()
        client.close()
