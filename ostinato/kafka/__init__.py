"""Thin adapter over confluent-kafka: client settings, topic names, reading and writing."""
