from prometheus_client import Counter, Gauge

RECEIVED = Counter("pulse_ingest_tweets_received_total", "Tweets read from a source or posted over HTTP")
ROUTED = Counter("pulse_ingest_tweets_routed_total", "Tweets about at least one target, produced to the raw topic")
UNROUTED = Counter("pulse_ingest_tweets_unrouted_total", "Valid tweets about no configured target (dropped)")
ROUTES = Counter("pulse_ingest_routes_total", "Tweet-target pairs produced, by party", ["party"])
DEAD_LETTERS = Counter("pulse_ingest_dead_letters_total", "Rejected input sent to the DLQ, by reason", ["reason"])
FUTURE_TIMESTAMPS = Counter("pulse_ingest_future_timestamps_total",
                            "Tweets whose created_at was ahead of the clock (placed at ingest time instead)")

# Live sources (services/ingest/live.py); `source` is bluesky, mastodon or x.
SOURCE_EVENTS = Counter("pulse_ingest_source_events_total",
                        "Events read from a live source, by kind (post, delete, skipped, other, malformed)",
                        ["source", "kind"])
SOURCE_ROUTED = Counter("pulse_ingest_source_posts_routed_total",
                        "Posts from a live source about at least one target, produced to the raw topic", ["source"])
SOURCE_CONNECTED = Gauge("pulse_ingest_source_connected", "1 while a live source's stream is open", ["source"])
SOURCE_RECONNECTS = Counter("pulse_ingest_source_reconnects_total",
                            "Connections to a live source that ended or failed and were retried", ["source"])
SOURCE_GAPS = Counter("pulse_ingest_source_gaps_total",
                      "Resumes where the source could not give everything since the checkpoint", ["source"])
SOURCE_GAP_SECONDS = Counter("pulse_ingest_source_gap_seconds_total",
                             "Seconds of a live source's stream that were never read (see the gaps' log lines)",
                             ["source"])
SOURCE_LAST_GAP = Gauge("pulse_ingest_source_last_gap_timestamp_seconds",
                        "When a live source last reported a gap (unix time; the alert reads it: a counter that "
                        "starts with a gap, before the first scrape, would show no increase)", ["source"])
SOURCE_LAG = Gauge("pulse_ingest_source_cursor_lag_seconds",
                   "How far behind now the last event read from a live source is", ["source"])
SOURCE_CHECKPOINT_FAILURES = Counter("pulse_ingest_source_checkpoint_failures_total",
                                     "Checkpoint saves that failed (a restart then re-reads more, counted once)",
                                     ["source"])
