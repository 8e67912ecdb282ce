"""The service's Prometheus metrics: `reljudge_` prefix, `_total` counters, `_seconds` histograms, and label values
from small fixed sets (route templates, never raw paths; status codes; a handful of kinds), so a scrape stays small
whatever the traffic.

Each app has its own registry, so two apps in one process (tests) never share or clash over series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Request latencies from 1 ms to 30 s: a cached pair answers in milliseconds, an API judge can take seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("reljudge_http_requests", "HTTP requests answered, by route template, method and "
                                "status code.", ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("reljudge_http_request_duration_seconds", "Time to answer an HTTP request.",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.pairs = Counter("reljudge_pairs", "Pairs answered by /v1/judge and /v1/rerank, by where the label came "
                             "from: the store's cache or the judge.", ["source"], registry=self.registry)
        self.judge_seconds = Histogram("reljudge_judge_duration_seconds", "Time the judge spent on the pairs of one "
                                       "batch of requests that the store did not hold.", buckets=LATENCY_BUCKETS,
                                       registry=self.registry)
        self.batch_requests = Histogram("reljudge_judge_batch_requests", "Requests judged together in one batch.",
                                        buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.registry)
        self.answers = Counter("reljudge_annotator_answers", "Annotators' answers: label, cant_judge or undo.",
                               ["kind"], registry=self.registry)
        self.ready = Gauge("reljudge_judge_ready", "1 once the judge is loaded and requests can be judged.",
                           registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
