"""Prometheus metrics, declared once. Served by GET /metrics (prometheus_client's default registry).

Queue depth and oldest pending age are read from the database at scrape time (see
`bot.app`), so every replica reports the shared queue, not a local guess.
"""

from __future__ import annotations

import platform

from prometheus_client import Counter, Gauge, Histogram, Info

from bot import __version__

BUILD = Info("readiness_build", "The running readiness-bot: its version and Python (always 1)")
BUILD.info({"version": __version__, "python": platform.python_version()})

WEBHOOKS = Counter(
    "readiness_webhooks_total",
    "Webhook requests received, by platform, event and outcome "
    "(accepted, duplicate, unauthorized, malformed, too_large, ignored)",
    ["platform", "event", "outcome"],
)
DELIVERIES = Counter(
    "readiness_deliveries_processed_total",
    "Deliveries processed by the worker, by platform, event and outcome (done, retry, dead)",
    ["platform", "event", "outcome"],
)
RETRIES = Counter("readiness_delivery_retries_total", "Delivery attempts that failed and were rescheduled")
DEAD_LETTERS = Counter("readiness_delivery_dead_letters_total", "Deliveries that exhausted their attempts")
PROCESSING_SECONDS = Histogram(
    "readiness_delivery_processing_seconds",
    "Time the worker spent on one delivery attempt",
    ["platform", "event"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
QUEUE_DEPTH = Gauge("readiness_queue_depth", "Deliveries pending or running")
QUEUE_OLDEST_AGE = Gauge("readiness_queue_oldest_pending_age_seconds", "Age of the oldest pending delivery")
API_CALLS = Counter(
    "readiness_api_calls_total",
    "Calls to GitHub/GitLab APIs, by platform, installation (a GitHub installation id, `app` for "
    "the App's own JWT calls; `0` for the GitLab instance), route class (the endpoint template, "
    "never a raw path), HTTP method and outcome (ok, not_modified, not_found, forbidden, "
    "rate_limited, transient, invalid, error)",
    ["platform", "installation", "route", "method", "outcome"],
)
RATE_LIMIT_REMAINING = Gauge(
    "readiness_rate_limit_remaining",
    "Requests left in the primary rate limit as the platform last reported it (GitHub "
    "x-ratelimit-remaining of the core REST limit, GitLab RateLimit-Remaining), by platform and "
    "installation",
    ["platform", "installation"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "readiness_rate_limit_wait_seconds_total",
    "Seconds spent waiting for platform rate limits or write pacing",
    ["platform"],
)
SYNCS = Counter("readiness_syncs_total", "Repository syncs, by platform and outcome", ["platform", "outcome"])
WRITES = Counter("readiness_sync_writes_total", "Platform writes made by syncs, by action", ["action"])
DISPATCH_DROPS = Counter(
    "readiness_dispatch_dropped_total",
    "Events dropped at dispatch before any API call, by platform and reason "
    "(ci_other_branch, ci_stale_commit, push_other_branch, push_deleted, own_echo)",
    ["platform", "reason"],
)
COALESCED = Counter(
    "readiness_deliveries_coalesced_total",
    "Deliveries marked done because a sync for the same repository covered them",
    ["platform"],
)
