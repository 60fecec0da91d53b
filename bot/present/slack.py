"""Results as Block Kit that can never exceed Slack's limits; what does not fit goes in a file.

Limits (reference/slack-platform.md §5): 50 blocks, section text 3000, 10 fields of 2000, header
150, context 10 elements. `msg_blocks_too_long` strikes near 13k characters of blocks in total, so
every message also stays under a character budget. Each message carries a `text` fallback.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.present.text import plain
from bot.results import Attachment, Report, Result, StepResult, Verdict

if TYPE_CHECKING:
    from bot.runbooks.runner import Run

MAX_BLOCKS = 50
SECTION_CHARS = 3000
CODE_CHARS = SECTION_CHARS - 8  # room for the ``` fences and a newline
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
HEADER_CHARS = 150
MESSAGE_CHARS = 11_000
FALLBACK_CHARS = 3000
MAIN_FACTS = 20
MAX_HINTS = 10
STEP_LINE = 400  # a step's line in a run's progress
REPORT_LINE = 240  # a step's line under the likely cause, which has the whole of it

EMOJI = {
    Verdict.INFO: ":information_source:",
    Verdict.SKIP: ":fast_forward:",
    Verdict.OK: ":white_check_mark:",
    Verdict.WARN: ":warning:",
    Verdict.FAIL: ":x:",
    Verdict.ERROR: ":exclamation:",
}


@dataclass(frozen=True)
class SlackMessage:
    """One message: blocks (as validated by slack_sdk's models) plus the plain `text` Slack
    shows in notifications."""

    text: str
    blocks: tuple[dict[str, Any], ...]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)}


@dataclass(frozen=True)
class SlackPost:
    """A channel post: the main message, replies for its thread, files for the thread."""

    main: SlackMessage
    thread: tuple[SlackMessage, ...] = ()
    files: tuple[Attachment, ...] = ()


MENTIONED = re.compile(r"&lt;([@#])([UWC][A-Z0-9]{2,20})&gt;")


def escape(text: str) -> str:
    """Slack mrkdwn control characters (the only three it asks apps to escape). A mention of
    a person or a channel (`<@U0123>`, `<#C0123>`) stays live; `<!channel>` and links do not."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MENTIONED.sub(r"<\1\2>", escaped)


def cut(text: str, limit: int, note: str = "…") -> str:
    """At most `limit` characters, never splitting an escape like `&amp;`."""
    if len(text) <= limit:
        return text
    return re.sub(r"&[a-z]{0,3}$", "", text[: max(limit - len(note), 0)]) + note


@dataclass
class _Message:
    """Blocks within the block count and the character budget; remembers whether it lost any
    content, so the caller can attach the whole."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    chars: int = 0
    lossy: bool = False

    def fit(self, text: str, limit: int) -> str:
        if len(text) > limit:
            self.lossy = True
        return cut(text, limit)

    def add(self, block: Block) -> bool:
        body = block.to_dict()  # slack_sdk validates here, once per block
        size = len(json.dumps(body, ensure_ascii=False))
        if len(self.blocks) >= MAX_BLOCKS - 3 or self.chars + size > self.room():
            self.lossy = True
            return False
        self.blocks.append(body)
        self.chars += size
        return True

    def room(self) -> int:
        """What is left, keeping space for buttons, a closing note and the origin line."""
        return MESSAGE_CHARS - 600 - self.chars

    def section(self, mrkdwn: str) -> bool:
        return self.add(_section(self.fit(mrkdwn, SECTION_CHARS)))

    def finish(self, text: str, *tail: Block) -> SlackMessage:
        return SlackMessage(_fallback_text(text), (*self.blocks, *(b.to_dict() for b in tail)))


def _section(mrkdwn: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut(mrkdwn, SECTION_CHARS) or " "))


def _context(mrkdwn: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=cut(mrkdwn, SECTION_CHARS))])


def _fallback_text(text: str) -> str:
    """The notification text: escaped (no stray <!channel>), short, never empty."""
    return cut(escape(text), FALLBACK_CHARS) if text.strip() else "fracas"


def _headline(msg: _Message, verdict: Verdict, title: str) -> None:
    msg.add(HeaderBlock(text=msg.fit(f"{EMOJI[verdict]} {title}", HEADER_CHARS)))


def _facts(msg: _Message, facts: tuple[tuple[str, str], ...]) -> None:
    fields = [
        MarkdownTextObject(text=msg.fit(f"*{escape(k)}*\n{escape(v)}", FIELD_CHARS))
        for k, v in facts[:MAIN_FACTS]
    ]
    msg.lossy |= len(facts) > MAIN_FACTS
    for i in range(0, len(fields), FIELDS_PER_SECTION):
        if not msg.add(SectionBlock(fields=fields[i : i + FIELDS_PER_SECTION])):
            return


def _code(msg: _Message, lines: tuple[str, ...]) -> int:
    """Lines as code blocks of at most a section each, while the message has room; returns how
    many lines made it in."""
    current: list[str] = []
    size = shown = 0
    for line in lines:
        text = msg.fit(escape(line.replace("```", "``\u200b`")), CODE_CHARS)
        if current and size + len(text) + 1 > CODE_CHARS:
            if not msg.add(_section("```" + "\n".join(current) + "```")):
                return shown
            shown += len(current)
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
    if current and msg.add(_section("```" + "\n".join(current) + "```")):
        shown += len(current)
    return shown


def _body(msg: _Message, step: StepResult) -> None:
    msg.section(escape(step.summary))
    _facts(msg, step.facts)
    if step.hints:
        msg.lossy |= len(step.hints) > MAX_HINTS
        msg.section("\n".join(f":point_right: {escape(h)}" for h in step.hints[:MAX_HINTS]))


def _file_name(result: Result) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", result.title.lower()).strip("-")[:60] or "result"
    return f"{slug}.txt"


def _notification(verdict: Verdict, title: str, summary: str) -> str:
    return f"{EMOJI[verdict]} {title}: {summary}"


def render_reply(result: Result, origin: str = "") -> SlackMessage:
    """One self-contained message (ack or ephemeral): no thread, no files, cut with a note."""
    if isinstance(result, Report):
        return _report_main(result, origin, "")[0]
    return _whole_step(result, origin, "")[0]


def _whole_step(step: StepResult, origin: str, whole: str) -> tuple[SlackMessage, bool]:
    """A step in one message, evidence included while it fits; says whether it was cut."""
    msg = _Message()
    _headline(msg, step.verdict, step.title)
    _body(msg, step)
    _code(msg, step.detail_lines())
    note = f"the whole is in `{whole}` below" if whole else "the rest is not shown here"
    tail = [_context(f"_… cut to fit Slack; {note}._")] if msg.lossy else []
    tail += [_context(origin)] if origin else []
    text = _notification(step.verdict, step.title, step.summary)
    return msg.finish(text, *tail), msg.lossy


def render_post(result: Result, origin: str = "", rerun: str = "") -> SlackPost:
    """Channel post: verdict and cause up top, evidence in the thread, the whole in a file
    whenever Slack's limits cut anything. A runbook report gets buttons: run it again (`rerun`
    is its command) and fetch its steps' whole log windows."""
    if isinstance(result, Report):
        return _report_post(result, origin, rerun)
    name = _file_name(result)
    msg = _Message()
    _headline(msg, result.verdict, result.title)
    _body(msg, result)
    details = _details(result, name)
    tail = [_context(f"_… cut to fit Slack: the whole is in `{name}` in the thread._")]
    main = msg.finish(
        _notification(result.verdict, result.title, result.summary),
        *(tail if msg.lossy else []),
        *([_context(origin)] if origin else []),
    )
    replies = (details[0],) if details else ()
    whole = (Attachment(name, plain(result)),) if msg.lossy or (details and details[1]) else ()
    return SlackPost(main, replies, (*result.attachments, *whole))


def _details(step: StepResult, whole: str) -> tuple[SlackMessage, bool] | None:
    """The evidence as a thread reply; says whether it had to be cut."""
    if not step.details:
        return None
    msg = _Message()
    lines = step.detail_lines()
    missing = len(lines) - _code(msg, lines)
    more = f"{missing:,} more lines" if missing else "long lines were cut"
    tail = [_context(f"_… {more}: the whole is in `{whole}` below._")]
    return msg.finish(f"Details: {step.title}", *(tail if msg.lossy else [])), msg.lossy


def _report_main(
    report: Report, origin: str, whole: str, buttons: tuple[Block, ...] = ()
) -> tuple[SlackMessage, bool]:
    msg = _Message()
    _headline(msg, report.verdict, report.title)
    if report.causes:
        causes = "\n".join(f"{i}. {escape(c)}" for i, c in enumerate(report.causes, 1))
        msg.section(f"*Likely cause*\n{causes}")
    else:
        msg.section(escape(report.summary))
    if report.noticed:
        noticed = "\n".join(f"• {escape(n)}" for n in report.noticed)
        msg.section(f"*Also noticed* (not the cause)\n{noticed}")
    lines = [
        f"{EMOJI[s.verdict]} *{escape(s.title)}*: {cut(escape(s.summary), REPORT_LINE)}"
        for s in report.steps
    ]
    for chunk in _pack(lines, SECTION_CHARS):
        if not msg.section(chunk):
            break
    note = f"the whole is in `{whole}` in the thread" if whole else "the rest is not shown here"
    tail = [_context(f"_… cut to fit Slack: {note}._")] if msg.lossy else []
    tail += [_context(origin)] if origin else []
    text = _notification(report.verdict, report.title, report.summary)
    return msg.finish(text, *buttons, *tail), msg.lossy


def _report_post(report: Report, origin: str, rerun: str) -> SlackPost:
    """One thread message per step that ran, evidence included (Slack takes about one message a
    second, so fewer is sooner); a step Slack had to cut is attached whole. Log windows wait
    for the Full logs button: seven steps' files would bury the thread."""
    name = _file_name(report)
    main, lossy = _report_main(report, origin, name, _buttons(report, rerun))
    thread: list[SlackMessage] = []
    files = [Attachment(name, plain(report))] if lossy else []
    for step in report.steps:
        if step.verdict is Verdict.SKIP:
            continue  # its one line is in the main message
        whole = _file_name(step)
        message, cut_short = _whole_step(step, "", whole)
        thread.append(message)
        files += [Attachment(whole, plain(step))] if cut_short else []
    return SlackPost(main, tuple(thread), tuple(files))


RERUN, FULL_LOGS = "fracas_rerun", "fracas_full_logs"
BUTTON_VALUE = 2000


def _buttons(report: Report, rerun: str) -> tuple[Block, ...]:
    if not rerun:
        return ()
    elements = [ButtonElement(text="Rerun", action_id=RERUN, value=cut(rerun, BUTTON_VALUE))]
    logs = _log_commands(report)
    if logs:
        elements.append(
            ButtonElement(text="Full logs", action_id=FULL_LOGS, value=json.dumps(logs))
        )
    return (ActionsBlock(elements=elements),)


def _log_commands(report: Report) -> list[str]:
    """The command lines of the steps that have a log window, as many as fit in a button's
    value (a JSON list of at most BUTTON_VALUE characters); one too long to fit is left out."""
    logs: list[str] = []
    for command in dict.fromkeys(s.command for s in report.steps if s.command and s.attachments):
        if len(json.dumps([*logs, command])) <= BUTTON_VALUE:
            logs.append(command)
    return logs


STATE_EMOJI = {"pending": ":white_circle:", "running": ":hourglass_flowing_sand:"}


def render_progress(run: Run, origin: str, scrub: Callable[[str], str]) -> SlackMessage:
    """A runbook while it runs: every step with where it is, finished ones with their verdict
    and one line. `scrub` redacts (this is shown before the report's own redaction)."""
    msg = _Message()
    msg.add(HeaderBlock(text=msg.fit(f":hourglass_flowing_sand: {run.title}", HEADER_CHARS)))
    lines = []
    for step in run.steps:
        if step.result is None:
            lines.append(f"{STATE_EMOJI[step.state]} `{escape(step.label)}` {step.state}…")
        else:
            said = cut(escape(scrub(step.result.summary)), STEP_LINE)
            lines.append(f"{EMOJI[step.result.verdict]} `{escape(step.label)}`: {said}")
    for chunk in _pack(lines, SECTION_CHARS):
        if not msg.section(chunk):
            break
    done = sum(step.state == "done" for step in run.steps)
    seconds = time.perf_counter() - run.started
    status = f"{done} of {len(run.steps)} steps done · {seconds:.1f} s"
    text = f"{run.title}: {status}"
    return msg.finish(text, _context(status + (f" · {origin}" if origin else "")))


def _pack(lines: list[str], limit: int) -> list[str]:
    """Join lines into texts of at most `limit` characters (a longer line stays alone)."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks


def render_problem(message: str, hint: str = "") -> SlackMessage:
    """A refusal or failure, shown only to the caller."""
    text = f":warning: {escape(message)}" + (f"\n{escape(hint)}" if hint else "")
    return SlackMessage(_fallback_text(f"{message} {hint}".strip()), (_section(text).to_dict(),))
