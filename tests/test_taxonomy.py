"""Categories, their classes and the maps to other taxonomies."""

from __future__ import annotations

from convguard import Category, CategoryClass
from convguard import _taxonomy as tx


class TestClasses:
    def test_every_category_has_exactly_one_class(self) -> None:
        """Terminable, protective and informational split the categories."""
        groups = (tx.TERMINABLE, tx.PROTECTIVE, tx.INFORMATIONAL)
        assert set().union(*groups) == set(Category)
        assert sum(len(g) for g in groups) == len(Category)
        assert {c.value for c in CategoryClass} == {"terminable", "protective", "informational"}

    def test_categories_are_strings(self) -> None:
        """Category members compare equal to their string values."""
        assert isinstance(Category.ABUSE, str)
        assert Category("abuse") is Category.ABUSE
        assert "self_harm_risk" in tx.PROTECTIVE


class TestMaps:
    def test_openai_categories(self) -> None:
        """All 13 OpenAI moderation categories map; the minors one is terminable."""
        assert len(tx.OPENAI_TO_CATEGORY) == 13
        assert tx.OPENAI_TO_CATEGORY["sexual/minors"] is Category.CHILD_SEXUAL_CONTENT
        assert tx.OPENAI_TO_CATEGORY["self-harm/intent"] in tx.PROTECTIVE
        assert set(tx.category_to_openai("self_harm_risk")) == {
            "self-harm",
            "self-harm/intent",
            "self-harm/instructions",
        }
        assert tx.category_to_openai("abuse") == ()

    def test_llama_guard_codes(self) -> None:
        """S4 and S9 are terminable, S11 protective; all 14 hazards are named."""
        assert list(tx.LLAMA_GUARD_HAZARDS) == [f"S{i}" for i in range(1, 15)]
        assert tx.LLAMA_GUARD_TO_CATEGORY["S4"] in tx.TERMINABLE
        assert tx.LLAMA_GUARD_TO_CATEGORY["S9"] in tx.TERMINABLE
        assert tx.LLAMA_GUARD_TO_CATEGORY["S11"] in tx.PROTECTIVE
        assert tx.category_to_llama_guard("sexual") == ("S3", "S12")
        assert tx.category_to_llama_guard("abuse") == ()
