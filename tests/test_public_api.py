"""The public surface: exactly these names, shown under ``convguard``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import convguard as cg

PUBLIC = {
    "Action",
    "AsyncConversation",
    "AsyncGuard",
    "AsyncPostgresStore",
    "AsyncStore",
    "Branch",
    "Category",
    "CategoryClass",
    "ConfigurationError",
    "Conversation",
    "ConversationEndedError",
    "ConversationRecord",
    "ConversationTree",
    "ConvguardError",
    "DetectionContext",
    "Detector",
    "DetectorError",
    "DetectorFailure",
    "Evidence",
    "Feedback",
    "FeedbackRecord",
    "FeedbackReview",
    "Finding",
    "FindingRecord",
    "FormatError",
    "Guard",
    "GuidanceTemplates",
    "InvalidMessageError",
    "InvalidOperationError",
    "LastResortPolicy",
    "MemoryStore",
    "Message",
    "MessageRecord",
    "Policy",
    "PolicyConfig",
    "PolicyState",
    "PostgresStore",
    "Replay",
    "ReplayBranch",
    "Role",
    "SQLiteStore",
    "StateRecord",
    "Status",
    "Store",
    "StoreConflictError",
    "StoreCorruptError",
    "StoreError",
    "StoreUnavailableError",
    "ToolResult",
    "Turn",
    "UnknownConversationError",
    "UnknownMessageError",
    "Verdict",
    "VerdictRecord",
    "WayForward",
    "__version__",
    "default_detectors",
    "detectors",
    "end_conversation_tool",
    "formats",
    "report_risk_tool",
    "review_feedback",
    "stores",
    "testing",
}


class TestSurface:
    def test_all_is_exactly_the_public_surface(self) -> None:
        """__all__ lists the public names, sorted, and each one exists."""
        assert set(cg.__all__) == PUBLIC
        assert cg.__all__ == sorted(cg.__all__)
        for name in cg.__all__:
            assert hasattr(cg, name)

    def test_public_classes_show_the_public_path(self) -> None:
        """Reprs and docs say convguard.Verdict, not convguard._policy.Verdict."""
        for name in cg.__all__:
            obj = getattr(cg, name)
            if isinstance(obj, type):
                assert obj.__module__ == "convguard", name
        assert repr(cg.Verdict) == "<class 'convguard.Verdict'>"

    @pytest.mark.parametrize("package", ["detectors", "formats", "stores", "testing"])
    def test_subpackage_names_show_a_public_path(self, package: str) -> None:
        """Reprs say convguard.detectors.LexiconDetector, not a private module's path."""
        module = importlib.import_module(f"convguard.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) or inspect.isfunction(obj):
                assert not any(p.startswith("_") for p in obj.__module__.split(".")), name
        assert repr(cg.detectors.LexiconDetector) == "<class 'convguard.detectors.LexiconDetector'>"

    def test_version(self) -> None:
        """The version comes from the installed metadata."""
        assert cg.__version__[0].isdigit()

    def test_init_is_plain(self) -> None:
        """No postponed annotations in __init__ (they would hide import errors)."""
        init = Path(cg.__file__).read_text(encoding="utf-8")
        assert "from __future__" not in init

    def test_import_stays_light(self) -> None:
        """Importing convguard loads no optional dependency, nor the testing kit until used."""
        code = (
            "import sys, convguard; "
            "print(sorted(m for m in ('rich', 'psycopg', 'psycopg_pool', 'hypothesis', "
            "'pytest', 'convguard.testing') if m in sys.modules)); "
            "print(convguard.testing.ScriptedDetector.__name__)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.split() == ["[]", "ScriptedDetector"]


def public_modules() -> list[str]:
    """Every importable module of convguard whose dotted name has no ``_`` part."""
    found = [
        info.name
        for info in pkgutil.walk_packages(cg.__path__, "convguard.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return sorted(["convguard", *found])


class TestNamespaces:
    def test_the_public_modules_are_found(self) -> None:
        """The walk finds every public module, so the checks below cover them all."""
        assert {
            "convguard",
            "convguard.detectors",
            "convguard.detectors.moderation",
            "convguard.formats",
            "convguard.formats.anthropic",
            "convguard.formats.chatgpt",
            "convguard.formats.claude",
            "convguard.formats.jsonl",
            "convguard.formats.openai",
            "convguard.stores",
            "convguard.testing",
            "convguard.testing.strategies",
        } <= set(public_modules())

    @pytest.mark.parametrize("name", public_modules())
    def test_dir_shows_only_the_public_names(self, name: str) -> None:
        """dir() of a public module lists its sorted __all__, and every name in it exists."""
        module = importlib.import_module(name)
        names: list[str] = module.__all__
        assert dir(module) == sorted(names)
        for public in names:
            assert hasattr(module, public), public

    @pytest.mark.parametrize(
        ("name", "helper"),
        [
            ("convguard", "TYPE_CHECKING"),
            ("convguard", "importlib"),
            ("convguard", "PackageNotFoundError"),
            ("convguard", "version"),
            ("convguard.testing", "importlib"),
            ("convguard.testing", "TYPE_CHECKING"),
        ],
    )
    def test_package_helpers_are_gone(self, name: str, helper: str) -> None:
        """The packages users import from hold no helper imports at all."""
        assert not hasattr(importlib.import_module(name), helper)

    def test_submodules_stay_reachable(self) -> None:
        """Hiding helpers from dir() leaves the public subpackages importable as attributes."""
        assert cg.detectors.moderation.LlamaGuardDetector is cg.detectors.LlamaGuardDetector
        assert "moderation" in dir(cg.detectors)
        assert "testing" in dir(cg)
