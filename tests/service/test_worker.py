"""The store's worker thread: people's work before a judge batch's store work queued beside it."""

import threading

import pytest

from reljudge.service.worker import LATER, NOW, PriorityWorker


def test_work_waiting_runs_by_priority_then_in_order_and_failures_reach_the_caller():
    worker = PriorityWorker("test-worker")
    started, ran = threading.Event(), []
    release = threading.Event()

    def hold():
        started.set()
        release.wait(10)

    worker.submit(hold)
    started.wait(10)
    futures = [worker.submit(ran.append, "batch save", priority=LATER), worker.submit(ran.append, "label 1"),
               worker.submit(ran.append, "label 2", priority=NOW)]
    failed = worker.submit(lambda: 1 / 0)
    release.set()
    for future in futures:
        future.result(10)
    assert ran == ["label 1", "label 2", "batch save"]
    with pytest.raises(ZeroDivisionError):
        failed.result(10)
    worker.shutdown()
