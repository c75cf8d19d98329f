"""Budgets for evaluating user content: limits, bounded YAML, linear-time regular
expressions and a jq sandbox (DESIGN.md invariant 8)."""

from .limits import BudgetExceeded, Limits, configure, limits

__all__ = ["BudgetExceeded", "Limits", "configure", "limits"]
