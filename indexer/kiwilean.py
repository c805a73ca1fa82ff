"""A one-shot search's Korean: a lean Kiwi (indexer.kiwidict), built in a helper process.

A cold `viko search` with a Korean query spent most of its time loading Kiwi, in C++ that holds
the GIL. The lean Kiwi loads in a third of the time; the helper, forked as soon as the command
has parsed its query, loads Kiwi's model and builds the lean Kiwi on the other core while the
command imports, opens the index and loads the encoder (docs/benchmarks.md, "Cold start"). The
command keeps the dictionary index and says which lines to build with; the helper only runs
Kiwi. Whatever goes wrong with the helper, the command builds the lean Kiwi itself.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

from viko.indexer.kiwidict import DictionaryIndex, base_kiwi, plain_syllables


def lean_kiwi(lines: bytes, base: Any = None) -> Any:
    """A Kiwi with only these dictionary lines (DictionaryIndex.lines); `base`: a base_kiwi()
    not used yet."""
    kiwi = base if base is not None else base_kiwi()
    if hasattr(os, "memfd_create"):  # nothing on disk, nothing left behind if killed
        fd = os.memfd_create("viko-kiwi-dict")
        try:
            os.write(fd, lines)
            kiwi.load_user_dictionary(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
    else:
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".dict") as fh:
            fh.write(lines)
            fh.flush()
            kiwi.load_user_dictionary(fh.name)
    return kiwi


class LeanKiwi:
    """Korean morphemes from a Kiwi holding only the dictionary lines the texts so far need (a
    text needing more builds it again, ~0.7 s). `tokens()` is None where only the full Kiwi
    will do: no index for these dictionaries, or jamo or an ambiguous form in the text. With a
    `helper`, the index is read and the query's lines are sent to it at once."""

    def __init__(self, index_path: Path, helper: KiwiHelper | None = None) -> None:
        self._index = DictionaryIndex.load(index_path) if helper is not None else None
        self._index_path: Path | None = None if helper is not None else Path(index_path)
        self._numbers: frozenset[int] | None = None  # the lines the Kiwi holds
        self._kiwi: Any = None  # built here when there is no helper
        self._lock = threading.Lock()
        self._helper = helper
        if helper is not None:
            numbers = self._index.entries(helper.query) if self._index is not None else None
            if numbers is None:
                self.close()
            else:
                self._numbers = numbers
                helper.build(self._index.lines(numbers))  # type: ignore[union-attr]

    def tokens(self, text: str) -> list[tuple[str, str]] | None:
        with self._lock:
            if self._index_path is not None:  # read on first use
                self._index, self._index_path = DictionaryIndex.load(self._index_path), None
            numbers = self._index.entries(text) if self._index is not None else None
            if numbers is None:
                return None
            grown = self._numbers is None or not numbers <= self._numbers
            if grown:
                self._numbers = numbers | (self._numbers or frozenset())
                self._kiwi = None
            if self._helper is not None:
                answer = self._helper.ask(text, self._index.lines(self._numbers) if grown else None)  # type: ignore[union-attr, arg-type]
                if answer is not None:
                    return answer
                self.close()
            if self._kiwi is None:
                try:
                    self._kiwi = lean_kiwi(self._index.lines(self._numbers))  # type: ignore[union-attr, arg-type]
                except Exception:  # a dictionary Kiwi refuses: the full Kiwi reads it the usual way
                    self._index = None
                    return None
            return [(t.form, t.tag) for t in self._kiwi.tokenize(text)]

    def close(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.end()


class KiwiHelper:
    """A forked child that loads Kiwi's model for a one-shot Korean query while the command goes
    on on the other core (Kiwi's load holds the GIL: a thread would not overlap). It reads JSON
    lines {"lines": dictionary lines to build a lean Kiwi with, "text": a text to analyse}
    (either or both) and answers each text with a JSON list of [form, tag] until its pipe
    closes. Ended (killed: it holds nothing to save, and collected) at exit at the latest."""

    @classmethod
    def start(cls, query: str) -> KiwiHelper | None:
        """A helper for a query with Hangul, forked from a single-threaded process on a POSIX
        system; None otherwise (the analyser then builds its Kiwi itself)."""
        if not (hasattr(os, "fork") and threading.active_count() == 1 and plain_syllables(query)):
            return None
        try:
            helper = cls(query)
        except OSError:
            return None
        atexit.register(helper.end)
        return helper

    def __init__(self, query: str) -> None:
        self.query = query
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into the caller's code
            code = 1
            try:
                os.close(requests_w)
                os.close(replies_r)
                _serve(requests_r, replies_w)
                code = 0
            finally:
                os._exit(code)
        os.close(requests_r)
        os.close(replies_w)
        self._requests = os.fdopen(requests_w, "wb")
        self._replies = os.fdopen(replies_r, "rb")
        self._ended = False

    def build(self, lines: bytes) -> bool:
        """Have the lean Kiwi built with these lines (no answer awaited); False if it is gone."""
        return self._send({"lines": lines.decode("utf-8")})

    def ask(self, text: str, lines: bytes | None = None) -> list[tuple[str, str]] | None:
        """The text's morphemes (after a build with `lines`, if given); None if it is gone."""
        message = {"text": text} if lines is None else {"text": text, "lines": lines.decode("utf-8")}
        if not self._send(message):
            return None
        try:
            reply = self._replies.readline()
            return [(form, tag) for form, tag in json.loads(reply)] if reply else None
        except (OSError, ValueError, TypeError):
            return None

    def _send(self, message: dict[str, str]) -> bool:
        try:
            self._requests.write(json.dumps(message).encode() + b"\n")
            self._requests.flush()
        except (OSError, ValueError):
            return False
        return True

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        for stream in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


def _serve(requests_fd: int, replies_fd: int) -> None:
    """The helper's life: Kiwi's model first (before the lines are known), then the requests."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # not the user's terminal or pipe
        os.dup2(null, fd)
    base = base_kiwi()
    kiwi: Any = None
    with os.fdopen(requests_fd, "rb") as requests, os.fdopen(replies_fd, "wb") as replies:
        for line in requests:
            message = json.loads(line)
            if "lines" in message:
                kiwi, base = lean_kiwi(message["lines"].encode("utf-8"), base), None
                kiwi.tokenize("")  # built now, before the text comes
            if "text" in message:
                replies.write(json.dumps([(t.form, t.tag) for t in kiwi.tokenize(message["text"])]).encode() + b"\n")
                replies.flush()
