"""agentsync: a git-backed package manager for Claude Code subagents."""

__version__ = "0.1.0"
