"""Labels, comparisons and diffs through the CLI and the API, over the real indexed corpus."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ui.insights_api import CompareOut, DiffOut, LabelOut
from insights.records import ROW_KEYS
from tests.conftest import run_cli

pytestmark = pytest.mark.filterwarnings("ignore:SSR mode is not supported.*")
ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "eval" / "labels"
ALLOWED = "http://shop.example"
# Agreement of the labels with the hand-written expected labels (eval/labels/), measured
# 2026-12-02 (docs/labels.md); the gates sit a little below.
STATED_AGREEMENT_GATE = 0.90   # measured 65/68 = 0.956
FACT_RECALL_GATE = 0.45        # measured 9/17 = 0.53 (facts come only from the cited passages)


@pytest.fixture(scope="module")
def insights(ctx):
    from insights.service import Insights

    return Insights(lambda: ctx.store)


@pytest.fixture(scope="module")
def sources(ctx):
    return ctx.store.source_texts()


def cli_json(ctx, *args: str) -> dict:
    done = run_cli("--db", str(ctx.db_dir), *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_verbatim(citations: list[dict], sources: dict[str, str]) -> int:
    for c in citations:
        assert sources[c["policy"]][c["start"]:c["end"]] == c["quote"], c
    return len(citations)


# --- label ------------------------------------------------------------------------------------
def test_label_json_every_row_cited_verbatim(ctx, sources):
    policies = ctx.store.policies()
    checked = 0
    for pid, policy in policies.items():
        for version in policy.versions:
            args = ("label", pid) + (("--version", version.label) if version.label else ())
            data = cli_json(ctx, *args)
            LabelOut.model_validate(data)
            assert data["schema"] == "policychat.label/1" and data["version"] == version.label
            assert [r["key"] for r in data["rows"]] == list(ROW_KEYS)
            for row in data["rows"]:
                if row["stated"]:
                    assert 1 <= len(row["citations"]) <= 3 and row["score"] >= row["threshold"]
                    assert row["summary"] and row["summary"] != "Not stated"
                    for f in row["facts"]:
                        quote = row["citations"][f["citation"] - 1]["quote"]
                        assert f["text"] in quote, (f, quote)
                else:
                    assert row["citations"] == [] and row["summary"] == "Not stated"
                    assert row["score"] < row["threshold"]
                assert all(c["version"] == version.label for c in row["citations"])
                checked += assert_verbatim(row["citations"], sources)
    assert checked > 60


def test_label_markdown_and_text(ctx):
    md = run_cli("--db", str(ctx.db_dir), "label", "alipartnership", "--format", "md")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("### Privacy label: AliPartnership Privacy Policy (version 2018-05-24, current)")
    assert "| # | Practice | What the policy says | Facts | Sources |" in md.stdout
    assert "**Sources**" in md.stdout and "support@alipartnership.com" in md.stdout
    text = run_cli("--db", str(ctx.db_dir), "label", "alibaba", "--version", "2018-05-25")
    assert text.returncode == 0 and text.stdout.startswith("Alibaba Privacy Policy · version 2018-05-25")


def test_label_errors_are_one_line(ctx):
    for args, needle in ((("label", "nope"), "unknown policy 'nope'"),
                         (("label", "alibaba", "--version", "1999"), "no version '1999'"),
                         (("label", "alibaba", "--json", "--format", "md"), "contradict"),
                         (("compare", "alibaba"), "at least two"),
                         (("diff", "podpartner"), "one version only")):
        done = run_cli("--db", str(ctx.db_dir), *args)
        assert done.returncode == 2, (args, done.stdout)
        assert needle in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_labels_are_stored_with_the_policy_at_index_time(ctx, insights):
    store = ctx.store
    gens = store.generations()
    for pid in store.policies():
        gen, document = store.stored_labels(pid)
        assert gen == gens[pid]
        assert json.loads(document)["labeler"] == insights.labeler.signature


def test_a_changed_policy_gets_a_new_label(tmp_path, embedder):
    from index.config import BUNDLED_CORPUS
    from index.pipeline import Indexer
    from index.store import Store, open_client
    from insights.service import IndexLabels, Insights

    policy = tmp_path / "podpartner.txt"
    text = (BUNDLED_CORPUS / "podpartner.txt").read_text(encoding="utf-8")
    policy.write_text(text, encoding="utf-8")
    store = Store(open_client(tmp_path / "db"))
    Indexer(store, lambda: embedder, labels=IndexLabels()).run([policy])
    before = Insights(lambda: store).label("podpartner").row("contact")
    assert before.stated and any(f.text == "service@podpartner.com" for f in before.facts)
    policy.write_text(text.replace("service@podpartner.com", "privacy@podpartner.example"), encoding="utf-8")
    Indexer(store, lambda: embedder, labels=IndexLabels()).run([policy])
    gen, _ = store.stored_labels("podpartner")
    assert gen == store.generations()["podpartner"]
    after = Insights(lambda: store).label("podpartner").row("contact")
    assert [f.text for f in after.facts if f.kind == "email"] == ["privacy@podpartner.example"]


# --- expected labels written by hand (eval/labels/) ---------------------------------------
def test_labels_agree_with_the_hand_written_expectations(insights):
    judged = agreed = facts = facts_found = 0
    misses = []
    for path in sorted(EXPECTED.glob("*.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        for version, rows in expected["versions"].items():
            label = insights.label(expected["policy"], None if version == "undated" else version)
            for key, want in rows.items():
                row = label.row(key)
                if want["stated"] is not None:
                    judged += 1
                    agreed += row.stated == want["stated"]
                    if row.stated != want["stated"]:
                        misses.append(f"{expected['policy']}@{version} {key}: stated={row.stated}")
                for fact in want.get("facts", []):
                    facts += 1
                    found = any(fact.lower() in f.text.lower() for f in row.facts)
                    facts_found += found
                    if not found:
                        misses.append(f"{expected['policy']}@{version} {key}: no fact {fact!r}")
    assert judged >= 50 and facts >= 10
    assert agreed / judged >= STATED_AGREEMENT_GATE, misses
    assert facts_found / facts >= FACT_RECALL_GATE, misses


# --- compare and diff ---------------------------------------------------------------------
def test_compare_five_policies(ctx, sources):
    ids = ["alibaba", "aliexpress", "alipartnership", "alopal", "podpartner"]
    data = cli_json(ctx, "compare", *ids)
    CompareOut.model_validate(data)
    assert [p["policy"] for p in data["policies"]] == ids
    assert [r["key"] for r in data["rows"]] == list(ROW_KEYS)
    numbers = {c["n"] for c in data["citations"]}
    for row in data["rows"]:
        assert len(row["cells"]) == 5
        for cell in row["cells"]:
            assert (cell["citation"] in numbers) == cell["stated"]
            if not cell["stated"]:
                assert cell["text"] == "not stated"
                if any(c["stated"] for c in row["cells"]):
                    assert "not_stated" in cell["flags"]
    assert_verbatim(data["citations"], sources)
    flagged = [c for r in data["rows"] for c in r["cells"] if "most_third_parties" in c["flags"]]
    assert all(r["key"] == "share" for r in data["rows"] for c in r["cells"] if "most_third_parties" in c["flags"])
    assert len(flagged) < 5   # a flag that marks every policy says nothing


def test_diff_json(ctx, sources):
    data = cli_json(ctx, "diff", "alibaba")
    DiffOut.model_validate(data)
    assert (data["from"], data["to"]) == ("2018-05-25", "2019-01-17")
    checked = sum(assert_verbatim(s["added"] + s["removed"], sources) for s in data["sections"])
    assert checked == data["counts"]["sentences_added"] + data["counts"]["sentences_removed"]
    same = cli_json(ctx, "diff", "alibaba", "--from", "2018-05-25", "--to", "2019-01-17")
    assert same == data


# --- the API ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(ctx, tmp_path_factory):
    from ui.feedback import FeedbackStore
    from index.settings import Settings
    from ui.server import create_app

    app = create_app(ctx, Settings(allowed_origins=(ALLOWED,), rate_capacity=0),
                     feedback=FeedbackStore(tmp_path_factory.mktemp("api") / "feedback.sqlite3"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_api_label_compare_diff(client, ctx):
    label = client.get("/api/policies/alopal/label", headers={"Origin": ALLOWED})
    assert label.status_code == 200 and label.headers["access-control-allow-origin"] == ALLOWED
    assert label.json() == cli_json(ctx, "label", "alopal")
    old = client.get("/api/policies/alibaba/label", params={"version": "2018-05-25"}).json()
    assert old["version"] == "2018-05-25" and not old["current"]
    cmp = client.get("/api/compare", params={"ids": "alopal,podpartner"})
    assert cmp.status_code == 200 and len(cmp.json()["policies"]) == 2
    diff = client.get("/api/policies/alibaba/diff", params={"from": "2018-05-25", "to": "2019-01-17"})
    assert diff.status_code == 200 and diff.json()["counts"]["removed"] >= 3
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/policies/{policy_id}/label", "/api/compare", "/api/policies/{policy_id}/diff"} <= set(paths)


@pytest.mark.parametrize("path, status, needle", [
    ("/api/policies/nope/label", 404, "unknown policy 'nope'"),
    ("/api/policies/alibaba/label?version=1999", 404, "no version '1999'"),
    ("/api/compare?ids=alibaba", 422, "at least two"),
    ("/api/compare?ids=alibaba,nope", 404, "unknown policy 'nope'"),
    ("/api/compare", 422, "is required"),
    ("/api/policies/podpartner/diff", 409, "one version only"),
    ("/api/policies/alibaba/diff?from=x", 404, "no version 'x'"),
])
def test_api_errors_are_clean(client, path, status, needle):
    response = client.get(path)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"] and "Traceback" not in response.text


def test_api_insights_share_the_ask_rate_limit(ctx, tmp_path):
    from ui.feedback import FeedbackStore
    from index.settings import Settings
    from ui.server import create_app

    app = create_app(ctx, Settings(rate_capacity=2, rate_period=3600.0),
                     feedback=FeedbackStore(tmp_path / "feedback.sqlite3"))
    with TestClient(app, raise_server_exceptions=False) as c:
        codes = [c.get("/api/policies/alopal/label").status_code for _ in range(3)]
        assert codes[:2] == [200, 200] and codes[2] == 429
        assert c.get("/api/compare?ids=alopal,podpartner").headers.get("retry-after")


def test_chat_change_answers_use_the_diff_alignment(insights, sources):
    answer = insights.answer_change("alibaba", "What changed about cookies?")
    contract = answer.to_contract()
    assert not contract["abstained"] and "E. Cookies" in contract["answer"]
    assert {c["version"] for c in contract["citations"]} == {"2018-05-25", "2019-01-17"}
    assert_verbatim(contract["citations"], sources)
    assert insights.answer_change("podpartner", "What changed about cookies?") is None


def test_the_chat_answers_what_changed_from_the_same_alignment(ctx, sources):
    """The assistant the app builds (ui.context) routes "what changed …" to the version diff."""
    from ui.context import AppContext

    app_ctx = AppContext(db_dir=ctx.db_dir)
    app_ctx.__dict__["embedder"] = ctx.embedder
    answer = app_ctx.assistant.ask("What changed about cookies in the alibaba policy?")
    assert not answer.abstained and "E. Cookies" in answer.text
    assert {c.version for c in answer.citations} == {"2018-05-25", "2019-01-17"}
    assert_verbatim([c.to_dict() for c in answer.citations], sources)
