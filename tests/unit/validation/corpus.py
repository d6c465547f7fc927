"""The corpus of bad (and good) files: one case per rule, with the exact errors expected.

Each case: (name, endpoint, file bytes, [(code, line, param), ...]). The streaming tests replay the
whole corpus with other chunkings, so every rule is also checked across chunk boundaries.
"""

from __future__ import annotations

from typing import Any

from tests.unit.validation.builders import CHAT, COMPLETIONS, EMBEDDINGS, jsonl, request

Expected = list[tuple[str, int | None, str | None]]
Case = tuple[str, str, bytes, Expected]


def _chat_body(**fields: Any) -> dict[str, Any]:
    return request(CHAT, "r1", **fields)


def _without(obj: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in obj.items() if name != key}


def _body_without(key: str, endpoint: str = CHAT) -> dict[str, Any]:
    line = request(endpoint, "r1")
    return line | {"body": _without(line["body"], key)}


GOOD = request(CHAT, "r0")
LATER = request(CHAT, "r2")

CASES: list[Case] = [
    ("invalid_json", CHAT, jsonl(GOOD, b"{not json\n", LATER), [("invalid_json_line", 2, None)]),
    ("json_not_object", CHAT, jsonl(GOOD, b"[1, 2]\n"), [("invalid_json_line", 2, None)]),
    ("truncated_last_line", CHAT, jsonl(GOOD) + b'{"custom_id": "r1"', [("invalid_json_line", 2, None)]),
    ("invalid_utf8_in_unknown_field", CHAT, jsonl(GOOD, b'{"x": "\xff\xfe"}\n'), [("invalid_utf8", 2, None)]),
    ("blank_line_between", CHAT, jsonl(GOOD, b"\n", LATER), [("blank_line", 2, None)]),
    (
        "whitespace_line_between",
        CHAT,
        jsonl(GOOD, b" \t\r\n", b"\n", LATER),
        [("blank_line", 2, None), ("blank_line", 3, None)],
    ),
    ("missing_custom_id", CHAT, jsonl(_without(GOOD, "custom_id")), [("missing_required_parameter", 1, "custom_id")]),
    ("custom_id_not_string", CHAT, jsonl(GOOD | {"custom_id": 7}), [("invalid_custom_id", 1, "custom_id")]),
    ("custom_id_empty", CHAT, jsonl(GOOD | {"custom_id": ""}), [("invalid_custom_id", 1, "custom_id")]),
    ("custom_id_too_long", CHAT, jsonl(GOOD | {"custom_id": "x" * 65}), [("invalid_custom_id", 1, "custom_id")]),
    ("duplicate_custom_id", CHAT, jsonl(GOOD, LATER, GOOD), [("duplicate_custom_id", 3, "custom_id")]),
    ("method_get", CHAT, jsonl(GOOD, LATER | {"method": "GET"}), [("invalid_method", 2, "method")]),
    ("method_missing", CHAT, jsonl(_without(GOOD, "method")), [("missing_required_parameter", 1, "method")]),
    ("url_mismatch", CHAT, jsonl(GOOD, LATER | {"url": "/v1/embeddings"}), [("url_mismatch", 2, "url")]),
    ("url_missing", CHAT, jsonl(_without(GOOD, "url")), [("missing_required_parameter", 1, "url")]),
    ("body_missing", CHAT, jsonl(_without(GOOD, "body")), [("missing_required_parameter", 1, "body")]),
    ("body_not_object", CHAT, jsonl(GOOD | {"body": "hi"}), [("invalid_body", 1, "body")]),
    ("model_missing", CHAT, jsonl(_body_without("model")), [("missing_required_parameter", 1, "body.model")]),
    ("model_empty", CHAT, jsonl(_chat_body(model="")), [("invalid_model", 1, "body.model")]),
    ("model_not_string", CHAT, jsonl(_chat_body(model=5)), [("invalid_model", 1, "body.model")]),
    (
        "model_mismatch",
        CHAT,
        jsonl(GOOD, request(CHAT, "r1", model="other"), LATER),
        [("model_mismatch", 2, "body.model")],
    ),
    ("stream_true", CHAT, jsonl(_chat_body(stream=True)), [("stream_not_supported", 1, "body.stream")]),
    ("messages_missing", CHAT, jsonl(_body_without("messages")), [("missing_required_parameter", 1, "body.messages")]),
    ("messages_empty", CHAT, jsonl(_chat_body(messages=[])), [("invalid_value", 1, "body.messages")]),
    ("messages_not_list", CHAT, jsonl(_chat_body(messages="hi")), [("invalid_type", 1, "body.messages")]),
    (
        "message_without_role",
        CHAT,
        jsonl(_chat_body(messages=[{"role": "system", "content": "x"}, {"content": "x"}])),
        [("missing_required_parameter", 1, "body.messages[1].role")],
    ),
    (
        "role_not_string",
        CHAT,
        jsonl(_chat_body(messages=[{"role": 3, "content": "x"}])),
        [("invalid_type", 1, "body.messages[0].role")],
    ),
    (
        "content_number",
        CHAT,
        jsonl(_chat_body(messages=[{"role": "user", "content": 5}])),
        [("invalid_type", 1, "body.messages[0].content")],
    ),
    (
        "user_content_null",
        CHAT,
        jsonl(_chat_body(messages=[{"role": "system", "content": "x"}, {"role": "user", "content": None}])),
        [("invalid_value", 1, "body.messages[1].content")],
    ),
    (
        "user_content_absent",
        CHAT,
        jsonl(_chat_body(messages=[{"role": "user"}])),
        [("invalid_value", 1, "body.messages[0].content")],
    ),
    (
        "part_without_type",
        CHAT,
        jsonl(_chat_body(messages=[{"role": "user", "content": [{"text": "x"}]}])),
        [("missing_required_parameter", 1, "body.messages[0].content[0].type")],
    ),
    ("max_tokens_zero", CHAT, jsonl(_chat_body(max_tokens=0)), [("invalid_value", 1, "body.max_tokens")]),
    ("max_tokens_string", CHAT, jsonl(_chat_body(max_tokens="10")), [("invalid_type", 1, "body.max_tokens")]),
    ("max_tokens_float", CHAT, jsonl(_chat_body(max_tokens=1.5)), [("invalid_type", 1, "body.max_tokens")]),
    (
        "max_completion_tokens_zero",
        CHAT,
        jsonl(_chat_body(max_completion_tokens=0)),
        [("invalid_value", 1, "body.max_completion_tokens")],
    ),
    ("temperature_high", CHAT, jsonl(_chat_body(temperature=2.5)), [("invalid_value", 1, "body.temperature")]),
    ("temperature_negative", CHAT, jsonl(_chat_body(temperature=-0.1)), [("invalid_value", 1, "body.temperature")]),
    ("top_p_high", CHAT, jsonl(_chat_body(top_p=1.5)), [("invalid_value", 1, "body.top_p")]),
    ("n_zero", CHAT, jsonl(_chat_body(n=0)), [("invalid_value", 1, "body.n")]),
    ("n_bool", CHAT, jsonl(_chat_body(n=True)), [("invalid_type", 1, "body.n")]),
    ("presence_high", CHAT, jsonl(_chat_body(presence_penalty=3)), [("invalid_value", 1, "body.presence_penalty")]),
    ("frequency_low", CHAT, jsonl(_chat_body(frequency_penalty=-3)), [("invalid_value", 1, "body.frequency_penalty")]),
    (
        "several_problems_on_one_line",
        CHAT,
        jsonl(GOOD | {"method": "PUT", "url": "/v1/completions", "body": GOOD["body"] | {"temperature": 9}}),
        [("invalid_method", 1, "method"), ("url_mismatch", 1, "url"), ("invalid_value", 1, "body.temperature")],
    ),
    (
        "bad_line_still_checked_for_duplicates",
        CHAT,
        jsonl(GOOD, GOOD | {"method": "GET"}),
        [("invalid_method", 2, "method"), ("duplicate_custom_id", 2, "custom_id")],
    ),
    (
        "prompt_missing",
        COMPLETIONS,
        jsonl(_body_without("prompt", COMPLETIONS)),
        [("missing_required_parameter", 1, "body.prompt")],
    ),
    ("prompt_number", COMPLETIONS, jsonl(request(COMPLETIONS, prompt=5)), [("invalid_type", 1, "body.prompt")]),
    ("prompt_empty_list", COMPLETIONS, jsonl(request(COMPLETIONS, prompt=[])), [("invalid_value", 1, "body.prompt")]),
    (
        "prompt_mixed",
        COMPLETIONS,
        jsonl(request(COMPLETIONS, prompt=["a", 1])),
        [("invalid_type", 1, "body.prompt[1]")],
    ),
    (
        "prompt_negative_token",
        COMPLETIONS,
        jsonl(request(COMPLETIONS, prompt=[1, -1])),
        [("invalid_value", 1, "body.prompt[1]")],
    ),
    (
        "prompt_empty_token_array",
        COMPLETIONS,
        jsonl(request(COMPLETIONS, prompt=[[1], []])),
        [("invalid_value", 1, "body.prompt[1]")],
    ),
    (
        "prompt_float_token",
        COMPLETIONS,
        jsonl(request(COMPLETIONS, prompt=[1, 2.5])),
        [("invalid_type", 1, "body.prompt[1]")],
    ),
    (
        "input_bool_token",
        EMBEDDINGS,
        jsonl(request(EMBEDDINGS, input=[1, True])),
        [("invalid_type", 1, "body.input[1]")],
    ),
    (
        "input_nested_token",
        EMBEDDINGS,
        jsonl(request(EMBEDDINGS, input=[1, [2]])),
        [("invalid_type", 1, "body.input[1]")],
    ),
    ("best_of_zero", COMPLETIONS, jsonl(request(COMPLETIONS, best_of=0)), [("invalid_value", 1, "body.best_of")]),
    (
        "input_missing",
        EMBEDDINGS,
        jsonl(_body_without("input", EMBEDDINGS)),
        [("missing_required_parameter", 1, "body.input")],
    ),
    ("input_object", EMBEDDINGS, jsonl(request(EMBEDDINGS, input={})), [("invalid_type", 1, "body.input")]),
    (
        "input_list_of_mixed_arrays",
        EMBEDDINGS,
        jsonl(request(EMBEDDINGS, input=[[1], "a"])),
        [("invalid_type", 1, "body.input[1]")],
    ),
    (
        "dimensions_zero",
        EMBEDDINGS,
        jsonl(request(EMBEDDINGS, dimensions=0)),
        [("invalid_value", 1, "body.dimensions")],
    ),
    (
        "encoding_format",
        EMBEDDINGS,
        jsonl(request(EMBEDDINGS, encoding_format="hex")),
        [("invalid_value", 1, "body.encoding_format")],
    ),
    ("embeddings_model_array", EMBEDDINGS, jsonl(request(EMBEDDINGS, model=[])), [("invalid_model", 1, "body.model")]),
    ("empty_file", CHAT, b"", [("empty_file", None, None)]),
    ("only_blank_lines", CHAT, b"\n \n\r\n", [("empty_file", None, None)]),
    ("bom", CHAT, b"\xef\xbb\xbf" + jsonl(GOOD), [("unexpected_bom", 1, None)]),
    (
        "bom_and_bad_first_line",
        CHAT,
        b"\xef\xbb\xbf" + jsonl(GOOD | {"method": "GET"}),
        [("unexpected_bom", 1, None), ("invalid_method", 1, "method")],
    ),
    (  # valid JSON, but no Python float holds it (found by the long fuzz run: it raised instead of reporting)
        "method_number_out_of_range",
        EMBEDDINGS,
        b'{"custom_id":"a","method":-1e4001,"url":"/v1/embeddings","body":{"model":"m","input":"x"}}\n',
        [("invalid_method", 1, "method")],
    ),
    ("crlf_with_error", CHAT, jsonl(GOOD).replace(b"\n", b"\r\n") + b"oops\r\n", [("invalid_json_line", 2, None)]),
]

GOOD_FILES: list[tuple[str, str, bytes]] = [
    ("chat", CHAT, jsonl(GOOD, LATER)),
    ("chat_trailing_blank_lines", CHAT, jsonl(GOOD, LATER) + b"\n \r\n\n"),
    ("chat_no_final_newline", CHAT, jsonl(GOOD, LATER).rstrip(b"\n")),
    ("chat_crlf", CHAT, jsonl(GOOD, LATER).replace(b"\n", b"\r\n")),
    ("chat_64_char_id", CHAT, jsonl(GOOD | {"custom_id": "é" * 64})),
    ("chat_unknown_fields_pass", CHAT, jsonl(request(CHAT, tools=[{"type": "function"}], x_vendor={"a": [1]}))),
    (
        "chat_assistant_null_and_parts",
        CHAT,
        jsonl(
            request(
                CHAT,
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {}}],
                    },
                    {"role": "assistant", "content": None, "tool_calls": []},
                    {"role": "assistant"},
                    {"role": "tool", "content": "42", "tool_call_id": "c"},
                ],
                stream=False,
                temperature=2,
                top_p=0,
                presence_penalty=-2,
            )
        ),
    ),
    ("completions_string", COMPLETIONS, jsonl(request(COMPLETIONS, "a"), request(COMPLETIONS, "b", prompt=["x", "y"]))),
    (
        "completions_tokens",
        COMPLETIONS,
        jsonl(request(COMPLETIONS, prompt=[1, 2]), request(COMPLETIONS, "b", prompt=[[1], [2, 3]])),
    ),
    (
        "embeddings_all_shapes",
        EMBEDDINGS,
        jsonl(
            *(
                request(EMBEDDINGS, f"e{i}", input=shape)
                for i, shape in enumerate(["a", ["a", "b"], [0, 5], [[1], [2, 3]]])
            )
        ),
    ),
]
