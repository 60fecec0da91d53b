"""The Slack adapter: the bolt app (parse, authorise, enqueue), the Web API client and its
shared pace, the jobs workers run for Slack, the live runbook message, the manifest."""
