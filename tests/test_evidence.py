"""Evidence expansion around list intros (assistant/evidence.py)."""
from assistant.evidence import Evidence, expand_list_intros, list_intro_of
from index.records import Chunk, Unit

TEXT = ("Your rights\n"
        "You can email us at privacy@example.com and ask:\n"
        "- To delete your personal details from our system\n"
        "- To receive a copy of your personal details\n"
        "We collect the following categories:\n"
        "- Your name and postal address\n")


def _units() -> list[Unit]:
    units, pos = [], 0
    for line in TEXT.splitlines(keepends=True):
        body = line.rstrip("\n")
        start = pos + (2 if body.startswith("- ") else 0)
        if pos > 0:
            units.append(Unit("c1", start, pos + len(body), TEXT[start:pos + len(body)]))
        pos += len(line)
    return units


class FakeStore:
    def __init__(self):
        self.calls = 0

    def units_in(self, chunk_id):
        self.calls += 1
        return _units()


CHUNK = Chunk(id="c1", policy="p", version=None, current=True, section="Your rights", start=0,
              end=len(TEXT), text=TEXT)


def _ev(unit: Unit) -> Evidence:
    return Evidence(unit, CHUNK, 0.7, 0.6, 0.1)


def test_list_intro_of_finds_the_nearest_colon_line():
    units = _units()
    assert list_intro_of(units[1], units).text.endswith("and ask:")
    assert list_intro_of(units[4], units).text == "We collect the following categories:"
    assert list_intro_of(units[0], units) is None


def test_an_item_brings_an_intro_that_says_where_to_send_it():
    units = _units()
    out = expand_list_intros([_ev(units[1])], FakeStore())
    assert [e.unit.text for e in out] == [units[0].text, units[1].text]


def test_an_item_under_a_plain_intro_stays_alone_without_asking_the_store():
    units = _units()
    store = FakeStore()
    out = expand_list_intros([_ev(units[4])], store)
    assert [e.unit.text for e in out] == [units[4].text]
    assert store.calls == 0


def test_a_chosen_intro_is_replaced_by_its_items():
    units = _units()
    out = expand_list_intros([_ev(units[3])], FakeStore())
    assert [e.unit.text for e in out] == [units[4].text]


# --- answer types a passage must hold, and phrases -----------------------------------------------
from assistant.evidence import of_required_type, phrase_overlap, question_pairs  # noqa: E402
from assistant.lexicon import required_answer_type  # noqa: E402


def _ev_text(text: str) -> Evidence:
    return Evidence(Unit("c1", 0, len(text), text), CHUNK, 0.7, 0.6, 0.1)


def test_how_many_years_needs_a_duration():
    scored = [_ev_text("We retain your data as long as your account is active."),
              _ev_text("Records are deleted two (2) years after the account is closed.")]
    kept = of_required_type("how many years do you keep my data?", scored)
    assert [e.unit.text for e in kept] == [scored[1].unit.text]
    assert of_required_type("how many years do you keep my data?", scored[:1]) == []


def test_how_much_does_it_cost_needs_an_amount():
    assert required_answer_type("how much does a session cost") is not None
    assert of_required_type("how much does a session cost", [_ev_text("To match you with a Pal.")]) == []
    assert of_required_type("how much does a session cost", [_ev_text("A session costs $40.")])


def test_when_was_it_updated_needs_a_year_even_in_markdown_italics():
    kept = of_required_type("when was the policy last revised?",
                            [_ev_text("The date of the last revision appears at the end of this page."),
                             _ev_text("_This document was last updated on May 24, 2018_")])
    assert [e.unit.text for e in kept] == ["_This document was last updated on May 24, 2018_"]


def test_other_questions_keep_every_candidate():
    scored = [_ev_text("We share data with payment processors.")]
    assert required_answer_type("how long do you keep my data?") is None
    assert of_required_type("who receives my payment data?", scored) == scored


class FlatIdf:
    def idf(self, term):
        return 1.0


def test_phrase_overlap_rewards_the_words_side_by_side():
    pairs = question_pairs("which companies use google analytics?")
    assert ("googl", "analyt") in pairs
    assert phrase_overlap(pairs, "Our Platform uses Google Analytics, a web analytics service.", FlatIdf()) == 1.0
    assert phrase_overlap(pairs, "partners such as Google, and providers of analytics", FlatIdf()) == 0.0
    assert phrase_overlap(set(), "anything", FlatIdf()) == 0.0
