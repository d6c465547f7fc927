"""The validator: one streaming pass over an input file, every problem reported with its 1-based line.

Each line gets one typed decode against its endpoint's Struct (all type and range rules run in C);
only lines that fail it go through the precise path to name each problem. The splitter hands over each
chunk's whole lines as one run, taken fastest first: in bulk (`bulk.py`, chat), then line by line in one
call (`block.py`), then one line at a time, which is what names problems. Memory stays flat: lines are
views into the current chunk, and only the custom_ids grow (at most `max_requests` of them).
Blank lines: allowed at the end of the file (any number); elsewhere each is a `blank_line` error, since
we forward files unchanged to upstreams whose handling of them is unknown. A UTF-8 byte order mark is
an `unexpected_bom` error on line 1 for the same reason; the rest of line 1 is still checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from gateway.validation.block import decode_run
from gateway.validation.bulk import decode_bulk
from gateway.validation.checks import duplicate_id, file_problems, inputs_crossed, model_mismatch, model_not_served
from gateway.validation.diagnose import diagnose
from gateway.validation.endpoints import ENDPOINTS, Bulk
from gateway.validation.errors import ErrorCode
from gateway.validation.limits import ValidationLimits
from gateway.validation.output_cap import capped_measure, capped_output_tokens
from gateway.validation.problems import Problem
from gateway.validation.report import ErrorLog, ValidationReport
from gateway.validation.splitter import LineSplitter

__all__ = ["Validator"]

_BOM = b"\xef\xbb\xbf"
_Decode = Callable[[memoryview], Any]  # one line to its typed view


class Validator:
    """Feed the file in chunks of any size, then `finish()` for the report."""

    def __init__(
        self,
        endpoint: str,
        *,
        serves_model: Callable[[str], bool] | None = None,
        limits: ValidationLimits = ValidationLimits(),  # noqa: B008  # frozen, so sharing the default is safe
        output_cap: Callable[[str], int | None] | None = None,
    ) -> None:
        """`output_cap` gives a model's `max_output_tokens` (None: no cap); see `output_cap.py`."""
        spec = ENDPOINTS.get(endpoint)
        if spec is None:
            raise ValueError(f"unsupported endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}")
        self._spec = spec
        self._decoder = spec.line.decode
        self._measure = spec.measure
        self._whole = None if spec.whole_line is None else spec.whole_line.decode
        self._whole_missed = False  # the strict decoder refused the last run: was it only for being strict?
        self._text_is_line = spec.text_is_line
        self._bulk = list(spec.bulk)
        self._checked_bulk = list(spec.checked_bulk)
        self._max_requests = limits.max_requests
        self._serves = serves_model
        self._output_cap = output_cap
        self._cap: int | None = None  # the file's model's, once the model is known
        self._limits = limits
        self._log = ErrorLog(limits.max_errors)
        self._splitter = LineSplitter(self, limits.max_line_bytes)
        self._seen: set[str] = set()
        self._ids: list[str] = []  # the same ids in line order (cheaper beside a set than a dict)
        self._repeats_seen = False  # a run was refused for a repeated custom_id (see `_take_ids`)
        self._model: str | None = None
        self._size = self._line_no = self._requests = 0
        self._blank_run = 0  # blank lines since the last request line: errors only if a request follows
        self._inputs = self._text_bytes = self._tokens = self._max_output = 0
        self._finished = False

    def feed(self, chunk: bytes) -> None:
        if self._finished:
            raise RuntimeError("feed() after finish()")
        if chunk:
            self._size += len(chunk)
            self._splitter.feed(chunk if type(chunk) is bytes else bytes(chunk))

    def finish(self) -> ValidationReport:
        if not self._finished:
            self._finished = True
            self._splitter.close()
            for code, message in file_problems(self._requests, self._size, self._limits):
                self._log.add_file(code, message)
        log = self._log
        return ValidationReport(
            valid=log.count == 0,
            requests=self._requests,
            model=self._model,
            errors=log.listed(),
            error_count=log.count,
            embedding_inputs=self._inputs,
            estimated_input_tokens=self._tokens + -(-self._text_bytes // 4),
            max_output_tokens=self._max_output,
        )

    def custom_ids(self) -> Iterator[str]:
        """The custom_ids taken so far, in line order: after `finish()` on a valid file, one per line."""
        return iter(self._ids)

    # LineSink: called by the splitter for every line, in order.
    def line(self, data: bytes | memoryview, valid_utf8: bool) -> None:
        self._line_no += 1
        if self._line_no == 1 and data[:3] == _BOM:
            self._log.add(ErrorCode.UNEXPECTED_BOM, "the file starts with a UTF-8 byte order mark", None, 1)
            data = data[3:]
        if self._text_is_line:
            self._text_bytes += len(data)
        if not valid_utf8:
            self._request()
            self._log.add(ErrorCode.INVALID_UTF8, "the line is not valid UTF-8", None, self._line_no)
            return
        try:
            parsed = self._decoder(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):  # the last: see `diagnose`
            self._precise(data)
            return
        self._request()
        self._accept_parsed(parsed)

    def whole_block(self, chunk: bytes, start: int, end: int) -> bool:
        """The fastest path: a run of lines the endpoint's strict decoder reads in full (no UTF-8 pass needed)."""
        if self._whole is None:
            return False
        taken = self._take(self._bulk, self._whole, chunk, start, end)
        self._whole_missed = not taken
        return taken

    def block(self, chunk: bytes, start: int, end: int) -> bool:
        """The fast path for a run of valid-UTF-8 lines (unknown fields skipped); False: take them one by one."""
        taken = self._take(self._checked_bulk, self._decoder, chunk, start, end)
        if taken and self._whole_missed:
            self._whole = None  # the file's lines carry fields (or a shape) the strict path refuses: stop trying it
        self._whole_missed = False
        return taken

    def _take(self, variants: list[Bulk], decode: _Decode, chunk: bytes, start: int, end: int) -> bool:
        """A run in bulk if it can, else line by line (`block.decode_run`)."""
        if self._take_bulk(variants, chunk, start, end):
            return True
        taken = self._take_run(decode, chunk, start, end)
        if taken:
            variants.clear()  # the file's lines have a shape the bulk path refuses (`\r\n`, spaces): stop trying it
        return taken

    def _take_bulk(self, variants: list[Bulk], chunk: bytes, start: int, end: int) -> bool:
        model = self._model
        if model is None or self._blank_run:  # the bulk path is pinned to the model set by the first request
            return False
        for index, bulk in enumerate(variants):
            output_tokens = (
                bulk.output_tokens if self._cap is None else capped_output_tokens(bulk.output_tokens, self._cap)
            )
            run = decode_bulk(bulk.decoder_for(model).decode_lines, output_tokens, chunk, start, end)
            if run is not None:
                del variants[:index]  # a faster variant refused lines a slower one took: the file needs it
                ids, text, output = run
                return self._commit(ids, (0, text, 0, output))
        return False

    def _take_run(self, decode: _Decode, chunk: bytes, start: int, end: int) -> bool:
        if self._blank_run:
            return False
        run = decode_run(decode, self._measure, self._model, chunk, start, end)
        if run is None:
            return False
        ids, inputs, text, tokens, output = run
        if self._text_is_line:
            text += end - start - len(ids)  # the lines' bytes, without their newlines
        return self._commit(ids, (inputs, text, tokens, output))

    def _commit(self, ids: list[str], totals: tuple[int, int, int, int]) -> bool:
        """Take a clean run's lines unless the file's limits or its earlier custom_ids refuse them."""
        if (
            self._requests + len(ids) > self._max_requests
            or self._inputs + totals[0] > self._limits.max_embedding_inputs
            or not self._take_ids(ids)
        ):
            return False
        self._ids += ids
        self._line_no += len(ids)
        self._requests += len(ids)
        self._add_totals(totals)
        return True

    def _take_ids(self, ids: list[str]) -> bool:
        """Add a run's custom_ids to the seen-set, unless one repeats (within the run or an earlier line's)."""
        seen = self._seen
        if self._repeats_seen and not seen.isdisjoint(ids):
            return False
        before = len(seen)
        seen.update(ids)  # optimistic: one probe per id, and with up to 50,000 ids each probe is a cache miss
        if len(seen) - before == len(ids):
            return True
        if self._repeats_seen:  # disjoint from the earlier ids (checked above): the repeat is within the run
            seen.difference_update(ids)
        else:  # the file's first repeat: rebuild from the ids taken so far, then look before taking
            self._seen = set(self._ids)
            self._repeats_seen = True
        return False

    def _accept_parsed(self, parsed: Any) -> None:
        body, custom_id = parsed.body, parsed.custom_id
        if custom_id in self._seen or body.model != self._model or self._requests > self._max_requests:
            self._accept(custom_id, body.model, body, [])
            return
        # The common case, inlined: a fresh id, the file's model, within limits.
        self._seen.add(custom_id)
        self._ids.append(custom_id)
        found, inputs, text, tokens, output = self._measure(body)
        self._add_totals((0, text, tokens, output))
        if found or inputs:
            self._count_inputs(inputs, problems := list(found))
            for code, message, param in problems:
                self._log.add(code, message, param, self._line_no)

    def _add_totals(self, totals: tuple[int, int, int, int]) -> None:
        inputs, text, tokens, output = totals
        self._inputs += inputs
        self._text_bytes += text
        self._tokens += tokens
        self._max_output += output

    def too_long(self) -> None:
        self._line_no += 1
        self._request()
        limit = self._limits.max_line_bytes
        self._log.add(ErrorCode.LINE_TOO_LONG, f"the line is longer than {limit} bytes", None, self._line_no)

    def _precise(self, data: bytes | memoryview) -> None:
        if not bytes(data).strip():
            self._blank_run += 1
            return
        self._request()
        found = diagnose(data, self._spec)
        problems = found.problems
        self._accept(found.custom_id, found.model, found.body, problems)

    def _request(self) -> None:
        self._requests += 1
        if self._blank_run:
            first = self._line_no - self._blank_run
            for line in range(first, self._line_no):
                self._log.add(ErrorCode.BLANK_LINE, "empty line between request lines", None, line)
            self._blank_run = 0

    def _accept(self, custom_id: str | None, model: str | None, body: object, problems: list[Problem]) -> None:
        """Cross-line checks and estimates, shared by good lines and the good parts of bad ones."""
        if custom_id is not None:
            if custom_id in self._seen:
                problems.append(duplicate_id(custom_id))
            elif self._requests <= self._limits.max_requests:
                self._seen.add(custom_id)
                self._ids.append(custom_id)
        if model is not None and model != self._model:
            self._check_model(model, problems)
        if body is not None:
            found, inputs, text, tokens, output = self._measure(body)
            problems.extend(found)
            self._add_totals((0, text, tokens, output))
            if inputs:
                self._count_inputs(inputs, problems)
        for code, message, param in problems:
            self._log.add(code, message, param, self._line_no)

    def _check_model(self, model: str, problems: list[Problem]) -> None:
        if self._model is not None:
            problems.append(model_mismatch(model, self._model))
            return
        self._model = model
        if self._serves is not None and not self._serves(model):
            problems.append(model_not_served(model, self._spec.url))
        if self._output_cap is not None and (cap := self._output_cap(model)) is not None:
            self._cap = cap
            self._measure = capped_measure(self._spec.measure, cap)

    def _count_inputs(self, inputs: int, problems: list[Problem]) -> None:
        limit = self._limits.max_embedding_inputs
        before, self._inputs = self._inputs, self._inputs + inputs
        if before <= limit < self._inputs:
            problems.append(inputs_crossed(limit))
