"""Reusable widgets: tables that update in place, the top bar, the alerts light, logs."""
