"""The LangChain adapter returns the same chunks as our retriever, with exact offsets."""
from assistant.langchain_retriever import PolicyRetriever
from assistant.records import Scope


def test_langchain_retriever_matches_ours(ctx):
    lc = PolicyRetriever(retriever=ctx.retriever, k=3, policy="alipartnership")
    docs = lc.invoke("who receives my payment data")
    ours = ctx.retriever.search("who receives my payment data", Scope(("alipartnership",)), 3)
    assert [d.metadata["id"] for d in docs] == [h.chunk.id for h in ours]
    source = ctx.retriever.sources["alipartnership"]
    for d in docs:
        assert d.page_content == source[d.metadata["start"]:d.metadata["end"]]
        assert d.metadata["policy"] == "alipartnership"
    assert any("Stripe" in d.page_content for d in docs)
