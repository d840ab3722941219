"""Real-world model spellings resolve to the catalog name; distinct models stay distinct."""

import csv
import io

import pytest

from costlens.pricing.models import ModelAlias
from costlens.pricing.normalize import normalize_model
from costlens.pricing.selectors import alias_table, normalized_model_name
from costlens.pricing.services import DEFAULT_CATALOG

SPELLINGS = [
    # provider / router prefixes
    ("anthropic/claude-sonnet-4-6", "claude-sonnet-4-6"),
    ("openai/gpt-4o", "gpt-4o"),
    ("openrouter/openai/gpt-4o", "gpt-4o"),
    ("openrouter/anthropic/claude-3.5-sonnet", "claude-sonnet-3-5"),
    ("google/gemini-2.5-flash-lite", "gemini-2-5-flash-lite"),
    ("models/gemini-2.5-pro", "gemini-2-5-pro"),
    ("vertex_ai/gemini-2.5-pro", "gemini-2-5-pro"),
    ("deepseek/deepseek-v3.2", "deepseek-v3-2"),
    # Bedrock and Vertex spellings
    ("anthropic.claude-sonnet-4-6-v1:0", "claude-sonnet-4-6"),
    ("bedrock/anthropic.claude-sonnet-4-6-v1:0", "claude-sonnet-4-6"),
    ("us.anthropic.claude-sonnet-4-6-v1:0", "claude-sonnet-4-6"),
    ("bedrock/eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-sonnet-3-5"),
    ("anthropic.claude-3-5-haiku-20241022-v1:0:200k", "claude-haiku-3-5"),
    ("claude-sonnet-4-6@20260301", "claude-sonnet-4-6"),
    ("meta.llama3-1-70b-instruct-v1:0", "llama3-1-70b-instruct"),
    ("ai21.jamba-1-5-large-v1:0", "jamba-1-5-large"),
    ("us-gov.xai.grok-4.6", "grok-4-6"),
    ("in.moonshotai.kimi-k3", "kimi-k3"),
    ("oci/xai.grok-4", "grok-4"),
    ("vertex_ai/claude-opus-4-6@20260301", "claude-opus-4-6"),
    ("claude-3-5-sonnet-v2@20241022", "claude-sonnet-3-5"),
    # dated snapshots
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("claude-3-5-sonnet-20241022", "claude-sonnet-3-5"),
    ("claude-3-5-haiku-20241022", "claude-haiku-3-5"),
    ("claude-sonnet-4-6-20260301", "claude-sonnet-4-6"),
    ("claude-opus-4-20250514", "claude-opus-4"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"),
    ("gpt-3.5-turbo-0125", "gpt-3-5-turbo"),
    ("gemini-2.0-flash-001", "gemini-2-0-flash"),
    # case, dots vs dashes, spaces, -latest
    ("Claude-Sonnet-4.6", "claude-sonnet-4-6"),
    ("claude-sonnet-4.6", "claude-sonnet-4-6"),
    ("CLAUDE-OPUS-4.6", "claude-opus-4-6"),
    ("  gpt-4o  ", "gpt-4o"),
    ("Claude Sonnet 4.6", "claude-sonnet-4-6"),
    ("GPT-5 Nano", "gpt-5-nano"),
    ("Gemini 2.5 Flash-Lite", "gemini-2-5-flash-lite"),
    ("DeepSeek V3.2", "deepseek-v3-2"),
    ("GPT-4o mini", "gpt-4o-mini"),
    ("claude-3-5-sonnet-latest", "claude-sonnet-3-5"),
    ("claude-3-5-haiku-latest", "claude-haiku-3-5"),
    # version-first Claude 3 names and the -0 spelling of Claude 4
    ("claude-3.5-sonnet", "claude-sonnet-3-5"),
    ("Claude 3.5 Sonnet", "claude-sonnet-3-5"),
    ("Claude 4 Opus", "claude-opus-4"),
    ("claude-4-sonnet", "claude-sonnet-4"),
    ("claude-opus-4-0", "claude-opus-4"),
    ("claude-sonnet-4-0", "claude-sonnet-4"),
    # builtin aliases
    ("deepseek-chat", "deepseek-v3-2"),
    ("deepseek/deepseek-chat", "deepseek-v3-2"),
    ("azure/gpt-35-turbo", "gpt-3-5-turbo"),
]

DISTINCT = [
    # not over-normalised: a size, tier, generation or variant is a different price
    ("gpt-4o", "gpt-4o-mini"),
    ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18"),
    ("gemini-2.5-flash", "gemini-2.5-flash-lite"),
    ("gemini-2-5-flash", "gemini-2-5-flash-lite"),
    ("gemini-2.5-flash", "gemini-2.5-flash-preview-04-17"),
    ("claude-sonnet-4", "claude-sonnet-4-6"),
    ("claude-opus-4", "claude-opus-4-1"),
    ("claude-haiku-4-5", "claude-haiku-3-5"),
    ("deepseek-v3", "deepseek-v3-2"),
    ("gpt-5", "gpt-5-nano"),
    ("o1", "o1-mini"),
    ("deepseek/deepseek-chat:free", "deepseek/deepseek-chat"),
    ("chatgpt-4o-latest", "gpt-4o"),
    ("llama3.1-8b", "llama3-8b"),
    ("qwen2.5-72b", "qwen2-72b"),
]


@pytest.mark.parametrize(("raw", "expected"), SPELLINGS)
def test_spelling_resolves_to_the_catalog_name(raw, expected):
    assert normalize_model(raw) == expected


@pytest.mark.parametrize(("a", "b"), DISTINCT)
def test_distinct_models_stay_distinct(a, b):
    assert normalize_model(a) != normalize_model(b)


def _catalog_models() -> list[str]:
    text = "".join(line for line in io.StringIO(DEFAULT_CATALOG.read_text()) if not line.startswith("#"))
    return sorted({row["model"] for row in csv.DictReader(io.StringIO(text))})


@pytest.mark.parametrize("model", _catalog_models())
def test_every_catalog_name_is_already_normal_and_reachable_from_common_spellings(model):
    assert normalize_model(model) == model
    assert normalize_model(model.upper()) == model
    assert normalize_model(f"someprovider/{model}") == model
    assert normalize_model(f"{model}-20260301") == model
    assert normalize_model(f"{model}-2026-03-01") == model
    assert normalize_model(f"{model}@20260301") == model
    assert normalize_model(f"{model}-latest") == model


def test_catalog_names_from_the_seed_articles_resolve():
    # The names as the articles print them (seeds 000-004).
    printed = {
        "GPT-5 Nano": "gpt-5-nano",
        "Gemini 2.5 Flash-Lite": "gemini-2-5-flash-lite",
        "DeepSeek V3.2": "deepseek-v3-2",
        "GPT-4o": "gpt-4o",
        "Gemini 2.5 Pro": "gemini-2-5-pro",
        "Claude Sonnet 4.6": "claude-sonnet-4-6",
        "Claude Opus 4.6": "claude-opus-4-6",
        "Gemini 2.0 Flash": "gemini-2-0-flash",
        "GPT-4o-mini": "gpt-4o-mini",
        "Claude Haiku 3.5": "claude-haiku-3-5",
        "Claude Sonnet 3.5": "claude-sonnet-3-5",
        "Claude Opus 4": "claude-opus-4",
        "Claude Haiku 4.5": "claude-haiku-4-5",
        "Claude Sonnet 4": "claude-sonnet-4",
        "claude-3-5-haiku-20241022": "claude-haiku-3-5",
        "anthropic/claude-3.5-sonnet": "claude-sonnet-3-5",
        "openai/gpt-4o-mini": "gpt-4o-mini",
    }
    assert {name: normalize_model(name) for name in printed} == printed
    assert set(printed.values()) <= set(_catalog_models())


def test_alias_table_maps_raw_and_canonical_spellings_and_beats_builtins(db):
    ModelAlias.objects.create(alias="Azure/Prod-Chat", model="GPT-4o")
    ModelAlias.objects.create(alias="deepseek-chat", model="deepseek-v3")
    aliases = alias_table()
    assert normalize_model("azure/prod-chat", aliases) == "gpt-4o"
    assert normalize_model("prod-chat", aliases) == "gpt-4o"  # canonical form of the alias
    assert normalize_model("deepseek-chat", aliases) == "deepseek-v3"
    assert normalize_model("gpt-4o-mini", aliases) == "gpt-4o-mini"


def test_normalized_model_name_uses_the_alias_table(acme):
    ModelAlias.objects.create(alias="my-router-default", model="claude-sonnet-4.6")
    assert normalized_model_name(acme, "My-Router-Default") == "claude-sonnet-4-6"
