"""What the decider and its drivers say to each other: events in, commands out, and the
derivation of ids. Adapters (Kafka, Avro, the scheduler) import this package without
loading the decider."""

from ostinato.protocol import commands, events
from ostinato.protocol.ids import derived_id

__all__ = ["commands", "derived_id", "events"]
