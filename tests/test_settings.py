"""One validated Settings (index/settings.py), built from the environment and the flags: every
command checks it before any work, and a bad value is one clear line, never a traceback or a
server that answers every question with a 500. The record then steers the parts it is given."""
import json
import pickle
from dataclasses import fields
from pathlib import Path

import pytest

from assistant.ranker import MODEL_PATH, Ranker
from index.embed import bf16_is_fast, resolve_precision
from index.errors import SettingError
from index.settings import AnswerSettings, Settings


def test_an_empty_environment_gives_the_dataclass_defaults():
    assert Settings.from_env({}) == Settings()
    assert Settings().db_dir == Path.home() / ".local" / "share" / "policychat"


def test_values_come_from_the_environment():
    s = Settings.from_env({"POLICYCHAT_DB": "~/idx", "CHROMA_HOST": "chroma.internal", "CHROMA_PORT": "8001",
                           "POLICYCHAT_MAX_TOKENS": "120", "POLICYCHAT_EMBED_PRECISION": "BF16",
                           "POLICYCHAT_LLM": "openai:gpt-x", "POLICYCHAT_LLM_TIMEOUT": "7.5",
                           "POLICYCHAT_HOST": "0.0.0.0", "POLICYCHAT_PORT": "9000", "POLICYCHAT_LOG_LEVEL": "warning",
                           "POLICYCHAT_RATE_LIMIT": "5/10", "POLICYCHAT_FEEDBACK_KEEP_TEXT": "yes",
                           "XDG_DATA_HOME": "/ignored/when/the/db/is/set"})
    assert s.db_dir == Path.home() / "idx"
    assert s.chroma_url == "http://chroma.internal:8001"
    assert (s.max_tokens, s.embed_precision, s.llm_provider, s.llm_model, s.llm_timeout) == \
        (120, "bf16", "openai", "gpt-x", 7.5)
    assert (s.host, s.port, s.log_level, s.rate_capacity, s.rate_period, s.feedback_keep_text) == \
        ("0.0.0.0", 9000, "WARNING", 5, 10.0, True)
    assert Settings.from_env({"XDG_DATA_HOME": "/data"}).db_dir == Path("/data/policychat")


def test_flags_override_the_environment():
    env = {"POLICYCHAT_DB": "/from/env", "CHROMA_HOST": "http://env:1", "POLICYCHAT_HOST": "0.0.0.0",
           "POLICYCHAT_PORT": "9000"}
    s = Settings.from_env(env, db="/from/flag", chroma_url="http://flag:2", port=8000, workers=3)
    assert (s.db_dir, s.chroma_url, s.host, s.port, s.workers) == \
        (Path("/from/flag"), "http://flag:2", "0.0.0.0", 8000, 3)
    # a flag that was not given (None) leaves the variable in charge
    assert Settings.from_env(env, db=None, port=None).port == 9000


@pytest.mark.parametrize("env,message", [
    ({"POLICYCHAT_MAX_TOKENS": "abc"}, "POLICYCHAT_MAX_TOKENS must be a whole number, not 'abc'"),
    ({"POLICYCHAT_MAX_TOKENS": "5"}, "POLICYCHAT_MAX_TOKENS must be at least 16, not '5'"),
    ({"POLICYCHAT_LLM_TIMEOUT": "nan"}, "POLICYCHAT_LLM_TIMEOUT must be at least 0.1, not 'nan'"),
    ({"POLICYCHAT_PORT": "70000"}, "POLICYCHAT_PORT must be at most 65535, not '70000'"),
    ({"POLICYCHAT_MAX_BODY_BYTES": "10"}, "POLICYCHAT_MAX_BODY_BYTES must be at least 1024, not '10'"),
    ({"POLICYCHAT_RATE_LIMIT": "lots"}, "POLICYCHAT_RATE_LIMIT must look like '30/60'"),
    ({"POLICYCHAT_ALLOWED_ORIGINS": "shop.example"}, "POLICYCHAT_ALLOWED_ORIGINS: 'shop.example' is not an origin"),
    ({"POLICYCHAT_EMBED_PRECISION": "half"}, "POLICYCHAT_EMBED_PRECISION must be one of auto, fp32, bf16"),
    ({"POLICYCHAT_LOG_LEVEL": "loud"}, "POLICYCHAT_LOG_LEVEL must be one of DEBUG, INFO"),
    ({"POLICYCHAT_LLM": ":gpt-4"}, "POLICYCHAT_LLM must be PROVIDER:MODEL"),
])
def test_a_bad_value_is_a_setting_error_naming_the_variable(env, message):
    with pytest.raises(SettingError) as err:
        Settings.from_env(env)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("flags,message", [({"port": -1}, "--port must be at least 0"),
                                           ({"workers": 0}, "--workers must be at least 1")])
def test_a_bad_flag_is_a_setting_error_naming_the_flag(flags, message):
    with pytest.raises(SettingError, match=message):
        Settings.from_env({}, **flags)


def test_precision_auto_means_bf16_only_where_the_hardware_is_fast():
    assert resolve_precision("auto") == resolve_precision(None) == ("bf16" if bf16_is_fast() else "fp32")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("BF16") == "bf16"
    with pytest.raises(SettingError, match="auto, fp32, bf16"):
        resolve_precision("half")


def test_every_field_says_its_unit_and_its_source():
    for cls in (Settings, AnswerSettings):
        for f in fields(cls):
            if f.name == "answer":
                continue
            assert f.metadata.get("unit") and f.metadata.get("source"), (cls.__name__, f.name)


@pytest.mark.parametrize("changes,message", [({"candidates": 0}, "candidates must be at least 1"),
                                             ({"abstain_below": 1.5}, "abstain_below must be between 0 and 1"),
                                             ({"refresh_seconds": -1.0}, "refresh_seconds must be at least 0")])
def test_answering_knobs_are_checked(changes, message):
    with pytest.raises(SettingError, match=message):
        AnswerSettings(**changes)


def test_the_ranker_takes_threshold_overrides_and_keeps_the_fitted_rest():
    fitted = json.loads(MODEL_PATH.read_text(encoding="utf-8"))["thresholds"]
    assert vars(Ranker.load().thresholds) == fitted
    changed = Ranker.load(settings=AnswerSettings(abstain_below=0.9, max_units=1)).thresholds
    assert vars(changed) == {**fitted, "abstain_below": 0.9, "max_units": 1}


def test_the_assistant_follows_the_settings_it_is_given(ctx):
    from assistant.pipeline import Assistant

    question = "how long do you keep my data?"
    assert not Assistant(ctx.retriever, ctx.embedder).ask(question, policy="aliexpress").abstained
    strict = Settings().with_answer(abstain_below=1.0)   # no probability reaches 1: nothing is said
    assert Assistant(ctx.retriever, ctx.embedder, settings=strict).ask(question, policy="aliexpress").abstained


def test_settings_travel_to_server_workers_pickled():
    s = Settings.from_env({"POLICYCHAT_ALLOWED_ORIGINS": "https://shop.example", "POLICYCHAT_LLM": "ollama"})
    assert pickle.loads(pickle.dumps(s)) == s


# --- at the command line ---------------------------------------------------------------------------
def test_an_unknown_precision_is_one_clear_line(cli, corpus_db):
    proc = cli("ask", "how long do you keep my data?", "--db", str(corpus_db), "--json",
                   env={"POLICYCHAT_EMBED_PRECISION": "half"})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "POLICYCHAT_EMBED_PRECISION must be one of auto, fp32, bf16" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.returncode == 2 and "ValueError" not in proc.stderr
    # the server refuses to start rather than answer every question with a 500
    serve = cli("serve", "--db", str(corpus_db), "--port", "1", env={"POLICYCHAT_EMBED_PRECISION": "half"})
    assert serve.returncode == 2 and "POLICYCHAT_EMBED_PRECISION must be one of" in serve.stderr
    ok = cli("ask", "how long do you keep my data?", "--db", str(corpus_db), "--json",
                 env={"POLICYCHAT_EMBED_PRECISION": "fp32"})
    assert ok.returncode == 0 and json.loads(ok.stdout)["citations"]


@pytest.mark.parametrize("name,value,message", [
    ("POLICYCHAT_MAX_TOKENS", "abc", "POLICYCHAT_MAX_TOKENS must be a whole number, not 'abc'"),
    ("POLICYCHAT_MAX_TOKENS", "5", "POLICYCHAT_MAX_TOKENS must be at least 16, not '5'"),
    ("POLICYCHAT_LLM_TIMEOUT", "soon", "POLICYCHAT_LLM_TIMEOUT must be a number, not 'soon'"),
    ("POLICYCHAT_LLM_TIMEOUT", "-1", "POLICYCHAT_LLM_TIMEOUT must be at least 0.1, not '-1'"),
    ("POLICYCHAT_LLM", "anthropic:claude-3", "POLICYCHAT_LLM names an unknown provider 'anthropic' "
                                             "(known: ollama, openai)"),
    ("POLICYCHAT_PORT", "http", "POLICYCHAT_PORT must be a whole number, not 'http'"),
])
def test_every_setting_is_checked_before_any_work(cli, corpus_db, name, value, message):
    proc = cli("policies", "--db", str(corpus_db), env={name: value})
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"policychat: error: {message}"


def test_a_bad_worker_count_stops_serve_before_it_indexes(cli, tmp_path):
    proc = cli("serve", "--db", str(tmp_path / "db"), "--workers", "0")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "policychat: error: --workers must be at least 1"
    assert not (tmp_path / "db").exists()
