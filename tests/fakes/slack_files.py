"""Slack's two-step file upload (reference/slack-platform.md §6): files.getUploadURLExternal,
the bytes POSTed to the upload URL, then files.completeUploadExternal to share them; and
files.delete, so a report that replaces its previous version can be seen to do so."""

from __future__ import annotations

from aiohttp import web

from .slack_channels import SlackChannels
from .slack_http import Method, Reply, error_body, missing
from .slack_workspace import Json


class SlackFiles(SlackChannels):
    """Uploaded files by id; shares into channels the fake is not in are refused."""

    url: str  # the server's base URL, set once LoopbackServer has started

    def __init__(self) -> None:
        super().__init__()
        self._files: dict[str, Json] = {}
        self._deleted: dict[str, Json] = {}

    @property
    def files(self) -> dict[str, Json]:
        """file_id -> filename, title, content (bytes), channel_id, thread_ts, initial_comment."""
        with self._lock:
            return {file_id: dict(entry) for file_id, entry in self._files.items()}

    @property
    def deleted_files(self) -> dict[str, Json]:
        """file_id -> the entry as it was when files.delete removed it from `files`."""
        with self._lock:
            return {file_id: dict(entry) for file_id, entry in self._deleted.items()}

    def _file_methods(self) -> dict[str, Method]:
        """This part's entries in FakeSlack's method table."""
        return {
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.upload": lambda _: error_body("method_deprecated"),
            "files.delete": self._delete,
        }

    def _store_upload(self, file_id: str, content: bytes) -> Reply:
        """What the upload URL answers once the bytes are in."""
        with self._lock:
            entry = self._files.get(file_id)
            if entry is None:
                return 404, error_body("file_not_found"), {}
            entry["content"] = content
        return 200, {"ok": True, "text": f"OK - {len(content)}"}, {}

    def _get_upload_url(self, args: Json) -> Json:
        problem = missing(args, "filename", "length")
        if problem:
            return problem
        file_id = f"F0FAKE{next(self._ids):05d}"
        unset = dict.fromkeys(("title", "channel_id", "thread_ts", "initial_comment"))
        self._files[file_id] = {"filename": args["filename"], "content": b"", **unset}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: Json) -> Json:
        entries = args.get("files")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return error_body("invalid_arguments", "[ERROR] files must be a JSON array of objects")
        if not entries or any(e.get("id") not in self._files for e in entries):
            return error_body("file_not_found")
        channel = self._channel_id(
            args.get("channel_id") or str(args.get("channels", "")).split(",")[0]
        )
        if channel in self._outside:
            return error_body("not_in_channel")
        done = []
        for entry in entries:
            stored = self._files[entry["id"]]
            stored.update(
                title=entry.get("title") or stored["filename"],
                channel_id=channel or None,
                thread_ts=args.get("thread_ts"),
                initial_comment=args.get("initial_comment"),
            )
            done.append({"id": entry["id"], "title": stored["title"], "name": stored["filename"]})
        return {"ok": True, "files": done}

    def _delete(self, args: Json) -> Json:
        file_id = str(args.get("file") or "")
        if file_id in self._deleted:
            return error_body("file_deleted")
        entry = self._files.pop(file_id, None)
        if entry is None:
            return error_body("file_not_found")
        self._deleted[file_id] = entry
        return {"ok": True}


async def upload_bytes(request: web.Request) -> bytes:
    """The file's bytes, sent raw or as the file part of a multipart form."""
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, web.BodyPartReader) and part.filename is not None:
            return bytes(await part.read())
    return b""
