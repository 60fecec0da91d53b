"""Results as Block Kit that can never exceed Slack's limits; what does not fit becomes a file.

Limits (reference/slack-platform.md §5): 50 blocks, section text 3000, 10 fields of 2000, header
150, context 10 elements. `msg_blocks_too_long` strikes near 13k characters of blocks in total, so
every message also stays under a character budget. Each message carries a `text` fallback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.results import Attachment, Report, Result, StepResult, Verdict

MAX_BLOCKS = 50
SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
HEADER_CHARS = 150
MESSAGE_CHARS = 11_000
FALLBACK_CHARS = 3000
MAIN_FACTS = 20

EMOJI = {
    Verdict.INFO: ":information_source:",
    Verdict.OK: ":white_check_mark:",
    Verdict.WARN: ":warning:",
    Verdict.FAIL: ":x:",
    Verdict.ERROR: ":exclamation:",
}


@dataclass(frozen=True)
class SlackMessage:
    """One message: blocks plus the plain `text` Slack shows in notifications."""

    text: str
    blocks: tuple[Block, ...]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [b.to_dict() for b in self.blocks]}


@dataclass(frozen=True)
class SlackPost:
    """A channel post: the main message, replies for its thread, files for the thread."""

    main: SlackMessage
    thread: tuple[SlackMessage, ...] = ()
    files: tuple[Attachment, ...] = ()


def escape(text: str) -> str:
    """Slack mrkdwn control characters (the only three it asks apps to escape)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int, note: str = "…") -> str:
    """At most `limit` characters, never splitting an escape like `&amp;`."""
    if len(text) <= limit:
        return text
    return re.sub(r"&[a-z]{0,3}$", "", text[: max(limit - len(note), 0)]) + note


@dataclass
class _Message:
    """Blocks under both the block count and the character budget, with room kept for a note."""

    reserve_blocks: int = 2
    reserve_chars: int = 600
    blocks: list[Block] = field(default_factory=list)
    chars: int = 0

    def add(self, block: Block) -> bool:
        size = len(json.dumps(block.to_dict(), ensure_ascii=False))
        full = len(self.blocks) >= MAX_BLOCKS - self.reserve_blocks
        if full or self.chars + size > MESSAGE_CHARS - self.reserve_chars:
            return False
        self.blocks.append(block)
        self.chars += size
        return True

    def room(self) -> int:
        return MESSAGE_CHARS - self.reserve_chars - self.chars - 200

    def finish(self, text: str, *tail: Block) -> SlackMessage:
        return SlackMessage(cut(text, FALLBACK_CHARS), (*self.blocks, *tail))


def _header(verdict: Verdict, title: str) -> HeaderBlock:
    return HeaderBlock(text=cut(f"{EMOJI[verdict]} {title}", HEADER_CHARS))


def _section(mrkdwn: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut(mrkdwn, SECTION_CHARS) or " "))


def _context(mrkdwn: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=cut(mrkdwn, SECTION_CHARS))])


def _fallback(verdict: Verdict, title: str, summary: str) -> str:
    return f"{EMOJI[verdict]} {title}: {summary}"


def _fact_sections(facts: tuple[tuple[str, str], ...]) -> list[SectionBlock]:
    fields = [
        MarkdownTextObject(text=cut(f"*{escape(k)}*\n{escape(v)}", FIELD_CHARS)) for k, v in facts
    ]
    return [
        SectionBlock(fields=fields[i : i + FIELDS_PER_SECTION])
        for i in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def _code_chunks(lines: tuple[str, ...], budget: int) -> tuple[list[str], int]:
    """Lines as code-block texts of at most a section each; also how many lines fit `budget`."""
    chunks: list[str] = []
    current: list[str] = []
    size = used = shown = 0
    for line in lines:
        text = cut(escape(line.replace("```", "``\u200b`")), SECTION_CHARS - 8)
        if used + len(text) + 1 > budget:
            break
        if current and size + len(text) + 1 > SECTION_CHARS - 8:
            chunks.append("```" + "\n".join(current) + "```")
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
        used += len(text) + 1
        shown += 1
    if current:
        chunks.append("```" + "\n".join(current) + "```")
    return chunks, shown


def _add_lines(msg: _Message, lines: tuple[str, ...]) -> int:
    """Add what fits of `lines` as code blocks; returns how many lines made it in."""
    chunks, shown = _code_chunks(lines, msg.room())
    for n, chunk in enumerate(chunks):
        if not msg.add(_section(chunk)):
            return sum(c.count("\n") + 1 for c in chunks[:n])
    return shown


def _step_body(msg: _Message, step: StepResult, facts: int) -> tuple[tuple[str, str], ...]:
    """Summary, facts (up to `facts`) and hints; returns the facts that did not fit."""
    msg.add(_section(escape(step.summary)))
    left = step.facts
    for block in _fact_sections(step.facts[:facts]):
        if not msg.add(block):
            break
        left = left[len(block.fields) :]
    if step.hints:
        msg.add(_section("\n".join(f":point_right: {escape(h)}" for h in step.hints[:10])))
    return left


def _overflow(step: StepResult, facts_left: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return (*(f"{k}: {v}" for k, v in facts_left), *step.detail_lines())


def _details_file(step: StepResult, lines: tuple[str, ...]) -> Attachment:
    slug = re.sub(r"[^a-z0-9]+", "-", step.title.lower()).strip("-")[:60] or "details"
    return Attachment(f"{slug}.txt", "\n".join(lines) + "\n")


def render_reply(result: Result, origin: str = "") -> SlackMessage:
    """One self-contained message (ack or ephemeral): no thread, no files, cut with a note."""
    if isinstance(result, Report):
        return render_post(result, origin).main
    msg = _Message()
    msg.add(_header(result.verdict, result.title))
    lines = _overflow(result, _step_body(msg, result, MAIN_FACTS))
    shown = _add_lines(msg, lines)
    tail = []
    if shown < len(lines):
        tail.append(_context(f"_… {len(lines) - shown} more lines not shown here._"))
    if origin:
        tail.append(_context(origin))
    return msg.finish(_fallback(result.verdict, result.title, result.summary), *tail)


def render_post(result: Result, origin: str = "") -> SlackPost:
    """Channel post: verdict and cause up top, evidence in the thread, the whole in files."""
    if isinstance(result, Report):
        return _report_post(result, origin)
    msg = _Message()
    msg.add(_header(result.verdict, result.title))
    lines = _overflow(result, _step_body(msg, result, MAIN_FACTS))
    thread, files = _details_thread(result, lines)
    tail = [_context(origin)] if origin else []
    main = msg.finish(_fallback(result.verdict, result.title, result.summary), *tail)
    return SlackPost(main, thread, (*result.attachments, *files))


def _details_thread(
    step: StepResult, lines: tuple[str, ...]
) -> tuple[tuple[SlackMessage, ...], tuple[Attachment, ...]]:
    if not lines:
        return (), ()
    msg = _Message()
    shown = _add_lines(msg, lines)
    files: tuple[Attachment, ...] = ()
    tail = []
    if shown < len(lines):
        files = (_details_file(step, lines),)
        note = f"_… {len(lines) - shown} more lines: the whole is in `{files[0].name}` below._"
        tail.append(_context(note))
    return (msg.finish(f"Details: {step.title}", *tail),), files


def _report_post(report: Report, origin: str) -> SlackPost:
    msg = _Message()
    msg.add(_header(report.verdict, report.title))
    if report.causes:
        causes = "\n".join(f"{i}. {escape(c)}" for i, c in enumerate(report.causes, 1))
        msg.add(_section(f"*Likely cause*\n{causes}"))
    lines = [f"{EMOJI[s.verdict]} *{escape(s.title)}*: {escape(s.summary)}" for s in report.steps]
    shown = 0
    for chunk, count in _join_within(lines, SECTION_CHARS):
        if not msg.add(_section(chunk)):
            break
        shown += count
    tail = [_context(origin)] if origin else []
    if shown < len(lines):
        tail.insert(0, _context(f"_… {len(lines) - shown} more steps: each is in the thread._"))
    summary = report.causes[0] if report.causes else f"{len(report.steps)} steps"
    main = msg.finish(_fallback(report.verdict, report.title, summary), *tail)
    thread: list[SlackMessage] = []
    files: list[Attachment] = []
    for step in report.steps:
        post = render_post(step)
        thread += [post.main, *post.thread]
        files += post.files
    return SlackPost(main, tuple(thread), tuple(files))


def _join_within(lines: list[str], limit: int) -> list[tuple[str, int]]:
    """Pack lines into texts of at most `limit` characters (with how many lines each holds)."""
    chunks: list[tuple[str, int]] = []
    for line in (cut(x, limit) for x in lines):
        if chunks and len(chunks[-1][0]) + 1 + len(line) <= limit:
            chunks[-1] = (chunks[-1][0] + "\n" + line, chunks[-1][1] + 1)
        else:
            chunks.append((line, 1))
    return chunks


def render_problem(message: str, hint: str = "") -> SlackMessage:
    """A refusal or failure, shown only to the caller."""
    text = f":warning: {escape(message)}" + (f"\n{escape(hint)}" if hint else "")
    return SlackMessage(cut(f"{message} {hint}".strip(), FALLBACK_CHARS), (_section(text),))
