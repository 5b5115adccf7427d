"""Local stand-ins that speak real wire formats (a coding-agent CLI, the Anthropic API)."""
