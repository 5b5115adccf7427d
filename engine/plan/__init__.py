"""Plan files (TOML): tasks, dependencies, file globs, defaults, streams, checkpoints, gates;
validation with file:line."""

from engine.plan.loader import find_cycle, load_plan, parse_plan
from engine.plan.model import CheckpointSpec, GateSpec, Plan, PlanError, StreamSpec, TaskSpec

__all__ = [
    "CheckpointSpec",
    "GateSpec",
    "Plan",
    "PlanError",
    "StreamSpec",
    "TaskSpec",
    "find_cycle",
    "load_plan",
    "parse_plan",
]
