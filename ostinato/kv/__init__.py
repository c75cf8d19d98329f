"""Kestra's KV store on Kafka: typed values with an optional TTL by tenant, namespace and key.

- `values`: the types and conversions (pure), imported by the flow models;
- `entries`: an entry and its `KeyValue` record on the compacted `kv` topic;
- `access`: what a task sees (`KvAccess`), and an in-memory store for runs without Kafka;
- `table`: the topic materialised in each service that reads it; `store`: the shared store.

This package's root imports nothing (the decider imports the flow models, which import
`values`; invariant 1 keeps Kafka out of it).
"""
