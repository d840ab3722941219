"""Model-name normalisation: real-world spellings resolve to one catalog name.

`anthropic/claude-sonnet-4-6`, `Claude-Sonnet-4.6`, `claude-sonnet-4-6-20260301`,
`claude-sonnet-4-6@20260301` and `bedrock/us.anthropic.claude-sonnet-4-6-v1:0` all become
`claude-sonnet-4-6`; `claude-3-5-sonnet-20241022` becomes `claude-sonnet-3-5`.

Only packaging is stripped (router/provider prefixes, cloud version tags, snapshot dates, case,
punctuation). Anything that names a different model stays: `gpt-4o` vs `gpt-4o-mini`,
`gemini-2-5-flash` vs `gemini-2-5-flash-lite`, `-preview` and OpenRouter's `:free` variants
(which are priced differently). Spellings that differ by more than that go through aliases.
"""

import re
from functools import lru_cache

# Bedrock-style dotted prefixes: a vendor (anthropic., meta., xai., ...) and before it an optional
# cross-region profile (us., eu., apac., global., us-gov., ...). A dot between letters never
# appears inside a model's own name, where dots separate version digits (gpt-4.1, llama3.1).
_DOTTED_PREFIX = re.compile(r"^(?:[a-z][a-z0-9-]*\.){1,2}(?=[a-z])")
# One rule per kind of packaging suffix; applied until none matches (they can stack:
# anthropic.claude-3-5-sonnet-20241022-v2:0, claude-3-5-sonnet-v2@20241022).
_SUFFIXES = (
    re.compile(r"-v\d+:\d+$"),  # Bedrock model version: -v1:0
    re.compile(r":\d+k?$"),  # Bedrock version / context-window variant: :0, :200k
    re.compile(r"[-@_](?:\d{4}-\d{2}-\d{2}|20\d{6})$"),  # snapshot date: -2024-08-06, -20241022, @20260301
    re.compile(r"-latest$"),
)
_GPT_MMDD = re.compile(
    r"^(gpt-.+)-(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$"
)  # gpt-4-0613, gpt-3.5-turbo-0125
_GEMINI_REVISION = re.compile(r"^(gemini-.+)-00\d$")  # gemini-2.0-flash-001
_CLAUDE_REVISION = re.compile(r"^(claude-.+)-v\d+$")  # Vertex: claude-3-5-sonnet-v2@20241022
_DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")
# Claude 3.x put the version first (claude-3-5-sonnet); Claude 4+ puts the family first
# (claude-sonnet-4-6). The catalog uses family-first for every generation.
_CLAUDE_VERSION_FIRST = re.compile(r"^claude-(\d+(?:-\d+)?)-(opus|sonnet|haiku)$")
_CLAUDE_DOT_ZERO = re.compile(r"^(claude-(?:opus|sonnet|haiku)-\d+)-0$")  # claude-opus-4-0 = claude-opus-4

# Spellings that differ by more than packaging; the ModelAlias table extends this per install.
BUILTIN_ALIASES: dict[str, str] = {
    "deepseek-chat": "deepseek-v3-2",
    "deepseek-reasoner": "deepseek-v3-2",
    "gpt-35-turbo": "gpt-3-5-turbo",  # Azure's spelling
}


@lru_cache(maxsize=8192)
def canonical_model(raw: str) -> str:
    """The catalog spelling of a model name, before aliases."""
    name = raw.strip().lower()
    name = re.sub(r"[\s_]+", "-", name)
    if "/" in name:  # provider or router prefix: openai/gpt-4o, openrouter/anthropic/claude-...
        name = name.rstrip("/").rsplit("/", 1)[-1]
    name = _DOTTED_PREFIX.sub("", name)
    previous = None
    while previous != name:
        previous = name
        for suffix in _SUFFIXES:
            name = suffix.sub("", name)
        name = _CLAUDE_REVISION.sub(r"\1", name)
    name = _DOTTED_VERSION.sub("-", name)
    name = _GPT_MMDD.sub(r"\1", name)
    name = _GEMINI_REVISION.sub(r"\1", name)
    name = _CLAUDE_VERSION_FIRST.sub(r"claude-\2-\1", name)
    name = _CLAUDE_DOT_ZERO.sub(r"\1", name)
    name = re.sub(r"-{2,}", "-", name).strip("-")
    return name or raw.strip().lower() or raw


def normalize_model(raw: str, aliases: dict[str, str] | None = None) -> str:
    """The normalised model name used for pricing and grouping.

    `aliases` (from the ModelAlias table, see selectors.alias_table) may name either the raw
    spelling (`azure/prod-chat` -> `gpt-4o`) or its canonical form; it wins over the builtin ones.
    """
    name = canonical_model(raw)
    if aliases:
        target = aliases.get(raw.strip().lower()) or aliases.get(name)
        if target:
            return target
    return BUILTIN_ALIASES.get(name, name)
