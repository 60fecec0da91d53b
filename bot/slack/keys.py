"""Idempotency keys from what Slack sends, so a delivery seen twice (Slack's retries with
`x-slack-retry-num`, a Socket Mode envelope redelivered, two replicas behind one URL) becomes
one job. The ids chosen are the ones every copy of a delivery shares, in both modes: the
event's `event_id` (Slack's own advice for dedupe), a command's or click's `trigger_id`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def idempotency_key(body: Mapping[str, Any]) -> str:
    if body.get("event_id"):
        return f"slack:event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"slack:trigger:{body['trigger_id']}"
    actions = body.get("actions") or [{}]
    if isinstance(actions[0], Mapping) and actions[0].get("action_ts"):
        user = (body.get("user") or {}).get("id", "")
        return f"slack:action:{user}:{actions[0]['action_ts']}"
    canonical = json.dumps(body, sort_keys=True, default=str).encode()
    return f"slack:body:{hashlib.sha256(canonical).hexdigest()}"
