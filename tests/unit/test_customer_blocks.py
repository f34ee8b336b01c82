"""Day-2 Block Kit (bot/customer_blocks.py) stays within Slack's limits whatever the size of
the map or of the customer list, never names participants, and escapes user text."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from bot.customer_blocks import (
    feedback_view,
    invitation_blocks,
    progress_blocks,
    review_view,
)
from workflows.validation import PAGE_ITEMS, Coverage, CustomerProgress, ReviewItem, ReviewPage


def page(index: int, total: int, items: int, *, text: str = "x" * 500) -> ReviewPage:
    return ReviewPage(index, total, 1, 1, "Students", None, 10 + index, "awareness", None, 1, 1,
                      tuple(ReviewItem(n, "touchpoint" if n % 2 else "step",
                                       f"{n} {text} <!here>", "website" if n % 2 else None,
                                       "not_quite", "c" * 500) for n in range(items)),
                      missing="m" * 500, feeling=-2, feeling_text="f" * 500)


@dataclass
class FakeCustomer:
    id: int = 7
    user_id: str | None = "UC1"
    name: str | None = None
    email: str | None = None
    customer_type: str = "Students <!channel>"
    channel_focus: str | None = None
    language: str = "fr"
    invited_at: object = None
    done_at: object = None


def test_a_full_review_page_is_well_under_100_blocks_and_prefilled():
    view = review_view(FakeCustomer(), page(0, 3, PAGE_ITEMS), "fr")
    assert len(view["blocks"]) <= 40
    assert view["submit"]["text"] == "Enregistrer" and view["close"]["text"] == "Plus tard"
    radios = [b for b in view["blocks"] if b.get("block_id", "").startswith("verdict_")]
    assert len(radios) == PAGE_ITEMS
    assert radios[0]["element"]["initial_option"]["value"] == "not_quite"
    assert all(len(b["label"]["text"]) <= 2000 for b in view["blocks"] if "label" in b)
    last = review_view(FakeCustomer(), page(2, 3, 0), "en")
    assert last["submit"]["text"] == "Finish"
    assert [b.get("block_id") for b in last["blocks"]][-3:] == ["missing", "feeling",
                                                                 "feeling_text"]
    assert '"c":7' in last["private_metadata"] and '"i":2' in last["private_metadata"]


def test_the_invitation_fits_a_message_whatever_the_map():
    pages = [page(n, 60, PAGE_ITEMS) for n in range(60)]
    text, blocks = invitation_blocks(FakeCustomer(), "W <!here>", pages)
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000
                                     for b in blocks)
    assert "<!here>" not in str(blocks) and "&lt;!here&gt;" in str(blocks)
    assert blocks[-1]["elements"][0]["value"] == "7"


def test_progress_of_many_customers_fits_a_message():
    rows = [CustomerProgress(FakeCustomer(id=n, user_id=None if n % 2 else f"U{n}",
                                          name="Ana", email=f"a{n}@example.org"), 0, 5)
            for n in range(60)]
    workshop = SimpleNamespace(id=1, name="W")
    blocks = progress_blocks(workshop, rows, "en", links={1: "http://x/review/t"})
    assert len(blocks) <= 50
    assert "http://x/review/t" in str(blocks)


def test_the_feedback_modal_fits_and_names_no_customer():
    group = SimpleNamespace(id=3)
    stage = SimpleNamespace(name=None, key="purchase")
    items = [(SimpleNamespace(id=n, text="fix <@U1>", kind="step", author_id="customer:4"),
              SimpleNamespace(text="orig") if n % 2 else None, stage) for n in range(80)]
    figures = Coverage(3, 10, 5, 3, 2, 4, 3, 80, 0, 0)
    view = feedback_view(group, items, figures, "en")
    assert len(view["blocks"]) <= 100
    assert "customer:4" not in str(view) and "&lt;@U1&gt;" in str(view)
    assert "50% confirmed" in str(view)
