"""What ``import convguard`` loads: what a turn needs, and the rest on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import convguard as cg

# Loaded on first use only: none of them serves a turn of the sync guard.
LAZY = (
    "asyncio",
    "convguard._aio",
    "convguard._records",
    "convguard._replay",
    "convguard._tools",
    "convguard.detectors._async_runner",
    "convguard.detectors.moderation",
    "convguard.formats",
    "convguard.testing",
)


def loaded_after(code: str) -> list[str]:
    """Return which of LAZY a fresh interpreter has loaded after running *code*."""
    report = f"import json, sys; print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"], capture_output=True, text=True, check=True
    ).stdout
    loaded: list[str] = json.loads(out)
    return loaded


class TestImportIsLight:
    def test_import_loads_none_of_the_lazy_modules(self) -> None:
        """import convguard loads neither asyncio nor the records, tools, formats or testing kit."""
        assert loaded_after("import convguard") == []

    def test_a_sync_turn_loads_none_of_them_either(self) -> None:
        """A turn of the sync guard with the built-in detectors needs none of them."""
        code = "import convguard as cg; cg.Guard().start().send('Hello there')"
        assert loaded_after(code) == []

    @pytest.mark.parametrize(
        ("name", "module"),
        [
            ("AsyncGuard", "convguard._aio"),
            ("ConversationRecord", "convguard._records"),
            ("end_conversation_tool", "convguard._tools"),
            ("formats", "convguard.formats"),
            ("testing", "convguard.testing"),
        ],
    )
    def test_a_lazy_name_loads_its_module_on_first_use(self, name: str, module: str) -> None:
        """Touching a lazy public name imports its module then, and only then."""
        assert module in loaded_after(f"import convguard; convguard.{name}")

    def test_moderation_loads_on_first_use(self) -> None:
        """The moderation adapters load when one of their names is first used."""
        code = "import convguard; convguard.detectors.LlamaGuardDetector"
        assert "convguard.detectors.moderation" in loaded_after(code)


class TestLazyNames:
    def test_a_lazy_class_shows_the_public_path(self) -> None:
        """A class imported on first use shows convguard.X, as the eager ones do."""
        assert repr(cg.AsyncGuard) == "<class 'convguard.AsyncGuard'>"
        assert cg.Replay.__module__ == "convguard"

    def test_the_moderation_names_are_those_of_the_module(self) -> None:
        """convguard.detectors re-exports the moderation module's own objects."""
        assert cg.detectors.parse_llama_guard is cg.detectors.moderation.parse_llama_guard

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        """A name that is neither eager nor lazy raises AttributeError naming it."""
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = cg.no_such_name
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = cg.detectors.no_such_name
