"""Complexity estimation, model selection, the price table, cost tracking and budgets.

The plain API the app's Costs screen and the CLI use. Importing this package pulls in no
database, network or UI code: `estimate` and `select_model` are pure and fast.
"""

from engine.routing.budgets import Budgets, BudgetState, budget_status
from engine.routing.costs import spend_by, summary, total_spend
from engine.routing.estimate import LEVELS, Estimate, estimate, thresholds_for_shares
from engine.routing.models import ModelInfo, ModelTable, Usage, load_models
from engine.routing.outcomes import LevelShift, RoutingNotes, level_shifts, routing_notes
from engine.routing.select import Selection, fallback_after, select_model

__all__ = [
    "LEVELS",
    "BudgetState",
    "Budgets",
    "Estimate",
    "LevelShift",
    "ModelInfo",
    "ModelTable",
    "RoutingNotes",
    "Selection",
    "Usage",
    "budget_status",
    "estimate",
    "fallback_after",
    "level_shifts",
    "load_models",
    "routing_notes",
    "select_model",
    "spend_by",
    "summary",
    "thresholds_for_shares",
    "total_spend",
]
