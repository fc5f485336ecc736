"""Store.rank_units (get + numpy) against Chroma's filtered ANN query: the same head, never worse."""
import pytest

from index.store import Store, open_client

QUESTIONS = ["how long do you keep my data?", "who receives my payment details", "can I delete my account"]


@pytest.fixture(scope="module")
def store(corpus_db):
    return Store(open_client(corpus_db))


@pytest.mark.parametrize("question", QUESTIONS)
def test_rank_units_matches_the_filtered_chroma_query(store, embedder, question):
    vector = embedder.embed_query(question)
    chunk_ids = store.chunks.get(where={"policy": "aliexpress"}, include=[])["ids"][:8]
    for where in ({"policy": "podpartner"}, {"chunk_id": {"$in": chunk_ids}}):
        exact = store.rank_units(vector, 10, where)
        chroma = store.query_units(vector, 10, where)
        assert len(exact) == len(chroma) == 10
        # Chroma's HNSW is approximate: the head agrees, the tail may only be better here
        assert [(u.chunk_id, u.start) for u, _, _ in exact[:5]] == [(u.chunk_id, u.start) for u, _, _ in chroma[:5]]
        assert [s for _, _, s in exact[:5]] == pytest.approx([s for _, _, s in chroma[:5]], abs=1e-4)
        sims = [s for _, _, s in exact]
        assert sims == sorted(sims, reverse=True)
        assert all(a >= b - 1e-4 for a, b in zip(sims, (s for _, _, s in chroma)))
        assert all(h.policy == exact[0][1].policy for _, h, _ in exact)


def test_rank_units_with_no_match_is_empty(store, embedder):
    assert store.rank_units(embedder.embed_query("anything"), 5, {"policy": "no-such-policy"}) == []


def test_unit_centrality_ranks_the_generic_sentences_of_a_policy_first(store):
    gen = store.generations()["podpartner"]
    centrality = store.unit_centrality(gen)
    units = store.units.get(where={"gen": gen}, include=[])["ids"]
    assert len(centrality) == len(units) > 50
    assert abs(sum(centrality.values()) / len(centrality)) < 1e-4          # centred on the policy's mean
    texts = {(u.chunk_id, u.start): u.text for u, _, _ in
             store.rank_units(store.units.get(where={"gen": gen}, include=["embeddings"], limit=1)["embeddings"][0],
                              len(units), {"gen": gen})}
    ranked = sorted(centrality, key=centrality.get, reverse=True)
    # the most central sentences are about personal data in general, the least are specific lines
    assert any("personal data" in texts[k].lower() for k in ranked[:5]), [texts[k] for k in ranked[:5]]
    assert store.unit_centrality("no-such-generation") == {}


def test_texts_live_in_metadata_and_older_indexes_with_documents_still_read(store, tmp_path, embedder):
    """Texts are stored as metadata (no Chroma full-text index to build); an index written
    before that, with the texts as documents, must still answer."""
    got = store.units.get(where={"policy": "podpartner"}, include=["documents", "metadatas"], limit=5)
    assert got["ids"] and all(doc is None for doc in got["documents"])
    assert all(meta["text"] for meta in got["metadatas"])

    old = Store(open_client(tmp_path / "old"))
    vector = embedder.embed_query("how long do you keep my data?")
    meta = {"policy": "p", "gen": "g1", "chunk_id": "p:0", "version": "", "current": True,
            "start": 0, "end": 22, "section": "Retention", "tokens": 5}
    old.chunks.add(ids=["p:0"], embeddings=[vector.tolist()], documents=["We keep data 2 years."],
                   metadatas=[meta])
    unit_meta = {k: v for k, v in meta.items() if k != "tokens"}
    old.units.add(ids=["p:0:0"], embeddings=[vector.tolist()], documents=["We keep data 2 years."],
                  metadatas=[unit_meta])
    (unit, header, score), = old.rank_units(vector, 3, {"gen": "g1"})
    assert unit.text == "We keep data 2 years." and header.section == "Retention" and score > 0.99
    assert [u.text for u, _ in old.unit_rows_of("g1")[0]] == ["We keep data 2 years."]
    assert old.chunk_rows(["g1"])[0].chunk.text == "We keep data 2 years."
    assert old.query_units(vector, 1, None)[0][0].text == "We keep data 2 years."
