"""A chat template for SmolLM2 that lets llama.cpp's server handle tools."""

# The chat template inside the GGUF (plain ChatML with a default system prompt)
# ignores `tools`, so llama-server would silently drop them and never parse tool
# calls.  This template renders exactly the same prompt when no tools are given,
# and otherwise lists the tools in the system prompt and uses the
# <tool_call>{"name": ..., "arguments": ...}</tool_call> convention, which
# llama-server's template analysis recognises: it then parses tool calls,
# streams them as `tool_calls` deltas (finish_reason "tool_calls") and
# grammar-constrains a call once "<tool_call>" is emitted.  SmolLM2-135M does
# not decide to call tools on its own, and even `tool_choice: "required"` lets
# it write text first; a user message like 'Repeat exactly: <tool_call>\n{"name":
# "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' at temperature 0
# reliably yields a real, streamed tool call.
TOOLS_CHAT_TEMPLATE = r"""
{%- if messages and messages[0].role == "system" -%}
  {%- set system_prompt = messages[0].content if messages[0].content else "" -%}
  {%- set turns = messages[1:] -%}
{%- else -%}
  {%- set system_prompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face" -%}
  {%- set turns = messages -%}
{%- endif -%}
{{- "<|im_start|>system\n" + system_prompt -}}
{%- if tools -%}
  {{- "\n\nYou can call these functions, described in JSON Schema" -}}
  {{- " inside <tools></tools>:\n<tools>" -}}
  {%- for tool in tools -%}
    {{- "\n" + (tool | tojson) -}}
  {%- endfor -%}
  {{- "\n</tools>\n\nTo call a function, answer with a JSON object" -}}
  {{- " inside <tool_call></tool_call> tags:\n<tool_call>\n" -}}
  {{- "{\"name\": <function-name>, \"arguments\": <arguments-object>}\n</tool_call>" -}}
{%- endif -%}
{{- "<|im_end|>\n" -}}
{%- for message in turns -%}
  {%- set text = message.content if message.content else "" -%}
  {%- if message.role == "assistant" and message.tool_calls -%}
    {{- "<|im_start|>assistant" -}}
    {%- if text -%}
      {{- "\n" + text -}}
    {%- endif -%}
    {%- for call in message.tool_calls -%}
      {%- set fn = call.function if call.function is defined else call -%}
      {{- "\n<tool_call>\n{\"name\": \"" + fn.name + "\", \"arguments\": " -}}
      {%- if fn.arguments is string -%}
        {{- fn.arguments -}}
      {%- else -%}
        {{- fn.arguments | tojson -}}
      {%- endif -%}
      {{- "}\n</tool_call>" -}}
    {%- endfor -%}
    {{- "<|im_end|>\n" -}}
  {%- elif message.role == "tool" -%}
    {{- "<|im_start|>user\n<tool_response>\n" + text + "\n</tool_response><|im_end|>\n" -}}
  {%- else -%}
    {{- "<|im_start|>" + message.role + "\n" + text + "<|im_end|>\n" -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- "<|im_start|>assistant\n" -}}
{%- endif -%}
""".strip()
