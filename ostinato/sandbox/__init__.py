"""Budgets for evaluating user content: limits (`limits`), bounded YAML (`yaml_load`),
linear-time regular expressions (`regex`) and a jq sandbox (`jq_pool`): DESIGN.md
invariant 8. `configure(...)` sets limits at service start; otherwise they are read from
the environment on first use (see `limits.SETTINGS`)."""

from .limits import BudgetExceeded, Limits, configure

__all__ = ["BudgetExceeded", "Limits", "configure"]
