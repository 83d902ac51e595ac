"""Benchmark: `check` on 2,000 generated agent files (target: under 2 s). Not a test."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

FILES = 2_000
VARIANTS = (
    "description: Reviews code for {i}.\ntools: Read, Grep, Glob\nmodel: sonnet\n",
    "description: Use when: the build {i} breaks\ntools: Bash, Read, MultiEdit\n",
    "description: Expert {i}. Examples:\\n\\n<example>\\nuser: x\\n</example>\n"
    "tools: [Read, Write, Task]\ncolor: yellow\nloop: inner\n",
    "description: Agent {i}\ntools: Read, mcp__github__*\n",
)


def generate(folder: Path) -> None:
    body = "You are a careful engineer.\n\n" + "- Follow the checklist.\n" * 200
    for i in range(FILES):
        rest = VARIANTS[i % len(VARIANTS)].format(i=i)
        sub = folder / f"group-{i % 20}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"agent-{i}.md").write_text(f"---\nname: agent-{i}\n{rest}---\n\n{body}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / ".claude" / "agents"
        generate(folder)
        started = time.perf_counter()
        from agentsync.checker import check_paths, render_json, render_text

        report = check_paths([str(folder)], mcp_servers=frozenset())
        render_json(report)
        render_text(report)
        elapsed = time.perf_counter() - started
    verdict = "ok" if elapsed < 2 else "SLOW"
    print(f"check: {len(report.files)} files in {elapsed:.2f} s ({verdict}; target < 2 s)")
    print(
        f"  {report.count('error')} errors, {report.count('warning')} warnings, "
        f"{report.count('info')} info"
    )


if __name__ == "__main__":
    main()
