"""The quick-add confirmation (the ack's own text), worded once per stage, kind and
language and kept: the text still changes with every post-it and is escaped."""

from types import SimpleNamespace

from bot.listeners.commands import _reply


def stage(name=None, key="purchase", id=3):
    return SimpleNamespace(id=id, key=key, name=name)


def post_it(text, kind="pain", stage_id=3):
    return SimpleNamespace(stage_id=stage_id, kind=kind, text=text)


def test_each_reply_carries_its_own_text_escaped():
    stages = [stage(key="awareness", id=1), stage()]
    first = _reply(post_it("payment fails"), True, stages, "en")
    second = _reply(post_it("<!here> {stage} & {text} \x00"), True, stages, "en")
    assert first == "✓ Added to Purchase: Pain point “payment fails”"
    assert second == "✓ Added to Purchase: Pain point “&lt;!here&gt; {stage} &amp; {text} \x00”"


def test_the_wording_follows_the_stage_name_language_and_duplicates():
    assert "Checkout" in _reply(post_it("a"), True, [stage("Checkout")], "en")
    assert "Paiement" in _reply(post_it("a"), True, [stage("Paiement")], "en")  # renamed
    assert _reply(post_it("a"), True, [stage()], "fr") == \
        "✓ Ajouté à Achat : Point de douleur « a »"
    assert _reply(post_it("a"), False, [stage()], "en").startswith("Already added")
    assert "&lt;b&gt;" in _reply(post_it("a"), True, [stage("<b>")], "en")
