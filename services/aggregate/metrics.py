from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import BATCH_BUCKETS, PIPELINE_BUCKETS

CONSUMED = Counter("pulse_aggregate_records_consumed_total", "Scored records consumed")
COUNTED = Counter("pulse_aggregate_records_counted_total", "Records counted (first time seen)", ["party", "label"])
DUPLICATES = Counter("pulse_aggregate_duplicates_total", "Records already counted (redelivery or replay)")
DEAD_LETTERS = Counter("pulse_aggregate_dead_letters_total", "Scored records sent to the DLQ, by reason", ["reason"])
BATCH_SIZE = Histogram("pulse_aggregate_batch_size", "Records per Redis round trip", buckets=BATCH_BUCKETS)
END_TO_END = Histogram("pulse_aggregate_end_to_end_seconds", "From ingest to counted in Redis",
                       buckets=PIPELINE_BUCKETS)
# The same way in two legs, to tell which side a slow post waited on: ingested → scored (raw topic + infer) and
# scored → counted (scored topic + aggregate). Both read clocks of different processes (hosts, in a cluster).
STAGE = Histogram("pulse_aggregate_stage_seconds", "A counted record's time in each leg of the pipeline", ["leg"],
                  buckets=PIPELINE_BUCKETS)
LAG = Gauge("pulse_aggregate_consumer_lag", "Scored messages the group has not committed (end − committed offset, "
            "from the broker; every replica reports the whole group)", ["partition"])
