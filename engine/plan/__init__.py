"""Plan files (TOML): tasks, dependencies, file globs, defaults; validation with file:line."""

from engine.plan.loader import find_cycle, load_plan, parse_plan
from engine.plan.model import Plan, PlanError, TaskSpec

__all__ = ["Plan", "PlanError", "TaskSpec", "find_cycle", "load_plan", "parse_plan"]
