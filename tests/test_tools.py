"""Tools from Python functions: schemas from signatures and docstrings, and the tool runner."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict

import pydantic
import pytest

from ollama_provider import (
    FinishReason,
    Ollama,
    ToolCalls,
    arun_tool_calls,
    function_schema,
    run_tool_calls,
)
from tests.conftest import run
from tests.support.fake_ollama import FakeOllama


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(TypedDict):
    city: str
    country: str


@dataclass
class Window:
    start: int
    days: int = 1


class Filters(pydantic.BaseModel):
    min_temp: float
    rain: bool = False


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Get the current weather.

    Args:
        city (str): The city to look up,
            for example Paris.
        unit: Celsius or Fahrenheit.
    """
    return f"22 degrees {unit} in {city}"


def forecast(
    places: list[Place],
    unit: Unit,
    window: Window,
    filters: Filters | None = None,
    tags: tuple[str, ...] = (),
    note: Annotated[str, "Free text for the forecaster"] = "",
    limit: int | float = 3,
) -> dict[str, object]:
    """Forecast for several places.

    Parameters
    ----------
    places : list of Place
        Where to forecast.
    unit : Unit
        The temperature unit.
    """
    return {
        "n": len(places),
        "unit": unit.value,
        "days": window.days,
        "rain": filters.rain if filters else None,
    }


def convert(amount: float, currency: str) -> float:
    """Convert money.

    :param amount: How much.
    :param str currency: ISO code,
        like EUR.
    :returns: the converted amount
    """
    return amount * 2


def test_google_docstring_and_defaults() -> None:
    assert function_schema(get_weather) == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {
                        "type": "string",
                        "description": "The city to look up, for example Paris.",
                    },
                    "unit": {
                        "type": "string",
                        "enum": ["c", "f"],
                        "default": "c",
                        "description": "Celsius or Fahrenheit.",
                    },
                },
                "required": ["city"],
            },
        },
    }


def test_rich_types_are_kept() -> None:
    params = function_schema(forecast)["function"]["parameters"]
    props = params["properties"]
    assert params["required"] == ["places", "unit", "window"]
    assert props["places"] == {
        "type": "array",
        "description": "Where to forecast.",
        "items": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
            "required": ["city", "country"],
        },
    }
    assert props["unit"] == {
        "type": "string",
        "enum": ["celsius", "fahrenheit"],
        "description": "The temperature unit.",
    }
    assert props["window"] == {
        "type": "object",
        "properties": {"start": {"type": "integer"}, "days": {"type": "integer"}},
        "required": ["start"],
    }
    any_of = props["filters"]["anyOf"]
    assert any_of[1] == {"type": "null"} and any_of[0]["properties"]["min_temp"]["type"] == "number"
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["note"]["description"] == "Free text for the forecaster"
    assert props["limit"] == {"anyOf": [{"type": "integer"}, {"type": "number"}], "default": 3}


def test_rest_docstring() -> None:
    fn = function_schema(convert)["function"]
    assert fn["description"] == "Convert money."
    assert fn["parameters"]["properties"]["currency"]["description"] == "ISO code, like EUR."
    assert fn["parameters"]["properties"]["amount"] == {
        "type": "number",
        "description": "How much.",
    }


class Opaque:
    pass


def test_unusable_annotations_are_clear_errors() -> None:
    def tool(x: Opaque) -> None:
        """Bad."""

    with pytest.raises(TypeError, match="cannot describe the type"):
        function_schema(tool)

    class Local:
        pass

    def local(x: Local) -> None:
        """Bad."""

    with pytest.raises(TypeError, match="cannot resolve the annotations of local"):
        function_schema(local)


def call(name: str, arguments: object, id_: str = "call_1") -> dict[str, object]:
    return {
        "id": id_,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def test_runner_appends_the_tool_messages_and_coerces_types() -> None:
    calls = ToolCalls(
        [
            call("get_weather", {"city": "Paris"}),
            call(
                "forecast",
                {
                    "places": [{"city": "Oslo", "country": "NO"}],
                    "unit": "celsius",
                    "window": {"start": 1, "days": 3},
                    "filters": {"min_temp": 2, "rain": True},
                },
                "c2",
            ),
            call("nope", {}, "c3"),
            call("convert", {"amount": "lots"}, "c4"),
        ]
    )
    messages: list[dict[str, object]] = [{"role": "user", "content": "hi"}]
    added = run_tool_calls(calls, [get_weather, forecast, convert], messages)
    assert messages[1:] == added
    assert added[0] == {"role": "assistant", "content": "", "tool_calls": calls.calls}
    results = {m["tool_call_id"]: m["content"] for m in added[1:]}
    assert results["call_1"] == "22 degrees c in Paris"
    assert json.loads(str(results["c2"])) == {"n": 1, "unit": "celsius", "days": 3, "rain": True}
    assert str(results["c3"]).startswith("error: no tool named 'nope'")
    assert str(results["c4"]).startswith("error: TypeError")


def test_async_runner_awaits_async_tools() -> None:
    async def lookup(key: str) -> list[str]:
        """Look up."""
        return [key, key]

    added = run(arun_tool_calls([call("lookup", {"key": "k"})], {"lookup": lookup}))
    assert added[1]["content"] == '["k","k"]'
    sync = run_tool_calls([call("lookup", {"key": "k"})], [lookup])
    assert "arun_tool_calls" in str(sync[1]["content"])


def test_functions_as_tools_in_a_tool_loop(fake_ollama: FakeOllama) -> None:
    messages: list[dict[str, object]] = [
        {"role": "user", "content": 'call: get_weather {"city": "Tokyo"}'}
    ]
    items = list(
        Ollama.create_completion(
            "llama3.2", messages, api_base=fake_ollama.url, tools=[get_weather]
        )
    )
    sent = fake_ollama.last_body("/v1/chat/completions")["tools"]
    assert sent == [function_schema(get_weather)]
    calls = next(i for i in items if isinstance(i, ToolCalls))
    run_tool_calls(calls, [get_weather], messages)
    answer = list(
        Ollama.create_completion(
            "llama3.2", messages, api_base=fake_ollama.url, tools=[get_weather]
        )
    )
    assert "".join(map(str, answer)) == "The tool said: 22 degrees c in Tokyo"
    assert answer[-2] == FinishReason("stop")
