"""Model-name normalisation: real-world spellings resolve to one catalog name.

`anthropic/claude-sonnet-4-6`, `Claude-Sonnet-4.6`, `claude-sonnet-4-6-20260301` and
`bedrock/anthropic.claude-sonnet-4-6-v1:0` all become `claude-sonnet-4-6`.
"""

import re

_DATE_SUFFIX = re.compile(r"(?:[-@_](?:\d{4}-\d{2}-\d{2}|\d{8}))$")
_VERSION_SUFFIX = re.compile(r"(?:-v\d+(?::\d+)?|:\d+)$")
_VENDOR_DOT_PREFIX = re.compile(r"^(?:anthropic|openai|google|meta|mistral|deepseek|cohere|amazon)\.")
_DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")
_LATEST = re.compile(r"-latest$")

# Spellings that differ by more than punctuation; the ModelAlias table extends this per install.
BUILTIN_ALIASES: dict[str, str] = {
    "claude-4-opus": "claude-opus-4",
    "claude-4-sonnet": "claude-sonnet-4",
    "claude-opus-4-0": "claude-opus-4",
    "claude-sonnet-4-0": "claude-sonnet-4",
    "claude-3-5-haiku": "claude-haiku-3-5",
    "claude-3-5-sonnet": "claude-sonnet-3-5",
    "gpt-4o-mini": "gpt-4o-mini",
    "gemini-2-0-flash-001": "gemini-2-0-flash",
    "deepseek-chat": "deepseek-v3-2",
}


def normalize_model(raw: str, aliases: dict[str, str] | None = None) -> str:
    name = raw.strip().lower()
    if "/" in name:  # provider or router prefix: openai/gpt-4o, openrouter/anthropic/claude-...
        name = name.rsplit("/", 1)[1]
    name = _VENDOR_DOT_PREFIX.sub("", name)
    name = _VERSION_SUFFIX.sub("", name)
    name = _DATE_SUFFIX.sub("", name)
    name = _LATEST.sub("", name)
    name = _DOTTED_VERSION.sub("-", name)
    name = re.sub(r"[\s_]+", "-", name)
    for table in (aliases or {}, BUILTIN_ALIASES):
        if name in table:
            return table[name]
    return name
