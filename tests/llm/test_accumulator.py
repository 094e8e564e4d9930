"""The tool-call accumulator assembles calls from the fragments every server streams."""

import json

from sandbox_analyst.llm import ToolCallAccumulator, parse_arguments


def feed_in_pieces(accumulator: ToolCallAccumulator, index: int, text: str, size: int) -> None:
    for start in range(0, len(text), size):
        accumulator.add(index, arguments=text[start : start + size])


def test_arguments_split_anywhere_are_joined_and_parsed():
    raw = json.dumps({"code": 'print("héllo, \\"world\\"")', "n": 12.5})
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="call_a", name="run_code", arguments="")
    feed_in_pieces(accumulator, 0, raw, 1)
    [call] = accumulator.calls()
    assert call.id == "call_a"
    assert call.name == "run_code"
    assert call.arguments == json.loads(raw)
    assert call.raw_arguments == raw
    assert call.parse_error is None


def test_parallel_calls_are_kept_apart_by_index_in_arrival_order():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", name="first", arguments='{"x"')
    accumulator.add(1, id="b", name="second", arguments='{"y": 2}')
    accumulator.add(0, arguments=": 1}")
    assert [(c.name, c.arguments) for c in accumulator.calls()] == [
        ("first", {"x": 1}),
        ("second", {"y": 2}),
    ]


def test_ollama_index_reuse_a_new_id_starts_a_new_call():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", name="first", arguments='{"x": ')
    accumulator.add(0, arguments="1}")
    accumulator.add(0, id="b", name="second", arguments='{"y": 2}')
    assert [(c.id, c.name, c.arguments) for c in accumulator.calls()] == [
        ("a", "first", {"x": 1}),
        ("b", "second", {"y": 2}),
    ]


def test_a_repeated_id_and_name_continue_the_same_call():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", name="run_code", arguments='{"code": ')
    accumulator.add(0, id="a", name="run_code", arguments='"1"}')
    [call] = accumulator.calls()
    assert (call.name, call.arguments) == ("run_code", {"code": "1"})


def test_without_ids_a_different_name_on_a_reused_index_is_a_new_call():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, name="first", arguments="{}")
    accumulator.add(0, name="second", arguments='{"y": 1}')
    calls = accumulator.calls()
    assert [c.name for c in calls] == ["first", "second"]
    assert calls[0].id != calls[1].id


def test_missing_ids_are_generated_and_unique():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, name="a", arguments="{}")
    accumulator.add(1, name="b", arguments="{}")
    ids = [call.id for call in accumulator.calls()]
    assert all(ids)
    assert len(set(ids)) == 2


def test_a_whole_call_in_one_fragment():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", name="run_code", arguments='{"code": "1 + 1"}')
    assert accumulator.calls()[0].arguments == {"code": "1 + 1"}


def test_empty_then_full_json_arguments():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", name="run_code", arguments="")
    accumulator.add(0, arguments='{"code": "x"}')
    assert accumulator.calls()[0].arguments == {"code": "x"}


def test_no_arguments_at_all_mean_an_empty_object():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", name="list_files")
    [call] = accumulator.calls()
    assert (call.arguments, call.parse_error) == ({}, None)


def test_a_server_that_omits_the_index_continues_the_last_call():
    accumulator = ToolCallAccumulator()
    accumulator.add(None, id="a", name="run_code", arguments='{"code"')
    accumulator.add(None, arguments=': "x"}')
    assert accumulator.calls()[0].arguments == {"code": "x"}


def test_anthropic_initial_input_is_used_when_no_fragments_follow():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="toolu_1", name="run_code", initial_input={"code": "x"})
    assert accumulator.calls()[0].arguments == {"code": "x"}


def test_invalid_json_is_surfaced_as_a_parse_error_not_an_exception():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", name="run_code", arguments='{"code": "print(1)"')
    [call] = accumulator.calls()
    assert call.arguments == {}
    assert call.raw_arguments == '{"code": "print(1)"'
    assert "not valid JSON" in call.parse_error


def test_arguments_that_are_not_an_object_are_a_parse_error():
    arguments, error = parse_arguments("[1, 2]")
    assert arguments == {}
    assert "JSON object" in error


def test_a_call_without_a_name_is_reported():
    accumulator = ToolCallAccumulator()
    accumulator.add(0, id="a", arguments="{}")
    assert "without a function name" in accumulator.calls()[0].parse_error
