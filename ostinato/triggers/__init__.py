"""Pure trigger logic: which executions a trigger starts, given what happened and when.

No Kafka, no clock: the scheduler service feeds these functions and publishes the result.
"""
