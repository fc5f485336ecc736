"""Settings from the environment (index/config.py, index/embed.py, ui/cli.py): every command
checks them before any work, and a bad one is one clear line, never a traceback or a server
that answers every question with a 500."""
import json

import pytest

from index.embed import PrecisionSettingError, bf16_is_fast, resolve_precision


def test_precision_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("POLICYCHAT_EMBED_PRECISION", raising=False)
    assert resolve_precision() == ("bf16" if bf16_is_fast() else "fp32")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("BF16") == "bf16"
    monkeypatch.setenv("POLICYCHAT_EMBED_PRECISION", "fp32")
    assert resolve_precision() == "fp32"
    assert resolve_precision("bf16") == "bf16"
    monkeypatch.setenv("POLICYCHAT_EMBED_PRECISION", "half")
    with pytest.raises(PrecisionSettingError, match="auto, fp32, bf16"):
        resolve_precision()


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
])
def test_every_numeric_setting_is_checked_before_any_work(cli, corpus_db, name, value, message):
    proc = cli("policies", "--db", str(corpus_db), env={name: value})
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"policychat: error: {message}"
