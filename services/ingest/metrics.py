from prometheus_client import Counter

RECEIVED = Counter("pulse_ingest_tweets_received_total", "Tweets read from a source or posted over HTTP")
ROUTED = Counter("pulse_ingest_tweets_routed_total", "Tweets about at least one target, produced to the raw topic")
UNROUTED = Counter("pulse_ingest_tweets_unrouted_total", "Valid tweets about no configured target (dropped)")
ROUTES = Counter("pulse_ingest_routes_total", "Tweet-target pairs produced, by party", ["party"])
DEAD_LETTERS = Counter("pulse_ingest_dead_letters_total", "Rejected input sent to the DLQ, by reason", ["reason"])
FUTURE_TIMESTAMPS = Counter("pulse_ingest_future_timestamps_total",
                            "Tweets whose created_at was ahead of the clock (placed at ingest time instead)")
