from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import BATCH_BUCKETS, LATENCY_BUCKETS

CONSUMED = Counter("pulse_infer_tweets_consumed_total", "Raw messages consumed")
SCORED = Counter("pulse_infer_predictions_total", "Scored (tweet, target) records produced", ["target", "label"])
SKIPPED = Counter("pulse_infer_skipped_routes_total", "Routes to a target the model was not trained for "
                  "(produced as UNRATED: counted, not rated)", ["target"])
RESENDS = Counter("pulse_infer_records_resent_total", "Scored records sent again because the broker did not "
                  "acknowledge them (an outage or a restart; counted once downstream)")
COMMIT_FAILURES = Counter("pulse_infer_commit_failures_total", "Offset commits the broker did not take (it was "
                          "unreachable); the next commit covers them")
DEAD_LETTERS = Counter("pulse_infer_dead_letters_total", "Raw messages sent to the DLQ, by reason", ["reason"])
BATCH_SIZE = Histogram("pulse_infer_batch_size", "(tweet, target) pairs per inference batch", buckets=BATCH_BUCKETS)
INFERENCE_SECONDS = Histogram("pulse_infer_inference_seconds", "Tokenise + ONNX run per batch",
                              buckets=LATENCY_BUCKETS)
BATCH_SECONDS = Histogram("pulse_infer_batch_seconds", "Whole batch: score, produce, acknowledge, commit",
                          buckets=LATENCY_BUCKETS)
LAG = Gauge("pulse_infer_consumer_lag", "Raw messages the group has not committed (end − committed offset, from "
            "the broker; every replica reports the whole group)", ["partition"])
MODEL_INFO = Gauge("pulse_infer_model_info", "The loaded model bundle", ["version"])
