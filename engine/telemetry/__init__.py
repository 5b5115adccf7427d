"""Typed events, and (in later modules) metrics, thresholds, alerts, rollups and export."""

from engine.telemetry.events import SCHEMA_VERSION, Event, EventType, Level, OutputLine

__all__ = ["SCHEMA_VERSION", "Event", "EventType", "Level", "OutputLine"]
