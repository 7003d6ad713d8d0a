#!/bin/sh
# Creates every ClaimFlow topic and its dead-letter topic (idempotent: --if-not-exists).
# Used by the `kafka-init` service of docker-compose.yml with the apache/kafka image.
# Topic names mirror claimflow_events.Topic; tests/deploy checks the two agree.
set -eu

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
PARTITIONS="${TOPIC_PARTITIONS:-3}"
REPLICATION="${TOPIC_REPLICATION_FACTOR:-1}"
KAFKA_TOPICS="${KAFKA_TOPICS_BIN:-/opt/kafka/bin/kafka-topics.sh}"

TOPICS="claimflow.encounters claimflow.eligibility claimflow.claims claimflow.patient-accounts"

for topic in $TOPICS; do
  # Event topics keep a week; their dead letters a month (time to fix the cause and replay).
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$topic" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" --config retention.ms=604800000
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$topic.dlq" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" --config retention.ms=2592000000
done

"$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --list
