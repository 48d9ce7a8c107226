"""Your own Week-5 model: declared once in ``week5_model.toml``, used by every notebook.

Put a file called ``week5_model.toml`` in the folder that holds the notebooks::

    track = "images"                  # the data your model reads: images, text or tabular
    code = "week5/skin_cnn.py"        # the file that defines your model's class
    class = "SkinCNN"                 # the class's name in that file
    weights = "week5/skin_cnn.pth"    # your trained state_dict: torch.save(model.state_dict(), path)

    [arguments]                       # optional: keyword arguments of the class
    width = 32

Paths are relative to the folder of ``week5_model.toml``. Without the file, each track's reference
model is used. The model must keep the *model contract* of its track (docs/design.md, "The model
contract"): it takes a batch of the track's input and returns logits of shape ``(batch, 2)``.
:func:`declared_model` checks that when it loads the model, and every way it can be broken gets one
line that says what is wrong and what to do.

The weights are loaded with ``weights_only=True`` and strictly (every tensor of the class, nothing
else). Your code runs in your own notebook kernel only: the grader never imports it.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from helpers.artifacts import load_into
from helpers.data import VOCAB_SIZE
from helpers.errors import Day26Error

DECLARATION_FILE = Path("week5_model.toml")  # beside the notebooks, like artifacts/
NUM_CLASSES = 2  # every track is a two-class problem: the model returns two logits per sample
KEYS = ("track", "code", "class", "weights", "arguments")


@dataclass(frozen=True)
class Declaration:
    """What ``week5_model.toml`` says: the track's data, the class and where it lives, the weights."""

    file: Path
    track: str
    code: Path
    class_name: str
    weights: Path
    arguments: dict = field(default_factory=dict)

    def build(self) -> nn.Module:
        """A new, untrained instance of the declared class (its weights are not loaded)."""
        model_class = _declared_class(self)
        try:
            model = model_class(**self.arguments)
        except Exception as error:  # the learner's constructor can fail in any way
            raise Day26Error(
                f"{self.file}: {self.class_name}(**arguments) failed: {type(error).__name__}: {error}. "
                "Check [arguments] against the class's __init__."
            ) from None
        if not isinstance(model, nn.Module):
            raise Day26Error(f"{self.file}: {self.class_name} is not a torch.nn.Module. Declare your model's class.")
        return model

    def description(self) -> str:
        """One line naming the model, for headings and cards."""
        return f"your own model {self.class_name} ({self.code.name}, weights {self.weights.name})"


def read_declaration(path: str | Path = DECLARATION_FILE) -> Declaration | None:
    """The declaration in ``path``, or None when there is no such file (the reference model is used)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise Day26Error(
            f"{path}: not valid TOML ({error}). Compare it with the example in helpers/week5.py."
        ) from None
    unknown = sorted(set(content) - set(KEYS))
    if unknown:
        raise Day26Error(f"{path}: unknown key(s) {', '.join(unknown)}. The keys are: {', '.join(KEYS)}.")
    missing = [key for key in KEYS[:4] if not isinstance(content.get(key), str) or not content[key].strip()]
    if missing:
        raise Day26Error(f"{path}: {', '.join(missing)} missing or empty. Each of track, code, class, weights is text.")
    arguments = content.get("arguments", {})
    if not isinstance(arguments, dict):
        raise Day26Error(f"{path}: arguments must be a table ([arguments] with one name = value per line).")
    folder = path.parent
    declaration = Declaration(
        path, content["track"], folder / content["code"], content["class"], folder / content["weights"], arguments
    )
    for name, file in (("code", declaration.code), ("weights", declaration.weights)):
        if not file.is_file():
            raise Day26Error(f"{path}: {name} = '{content[name]}' names no file (looked for {file}).")
    return declaration


def _declared_class(declaration: Declaration) -> type:
    """Import the declared file as a module and return the declared class from it."""
    module_name = f"week5_{declaration.code.stem}"
    spec = importlib.util.spec_from_file_location(module_name, declaration.code)
    if spec is None or spec.loader is None:
        raise Day26Error(f"{declaration.file}: {declaration.code} cannot be imported. The code must be a .py file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so dataclasses and pickling-free copies inside it work
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise Day26Error(
            f"{declaration.code}: importing it failed: {type(error).__name__}: {error}. Fix the file, then run again."
        ) from None
    model_class = getattr(module, declaration.class_name, None)
    if not isinstance(model_class, type):
        classes = sorted(name for name, value in vars(module).items() if isinstance(value, type))
        raise Day26Error(
            f"{declaration.file}: {declaration.code.name} has no class '{declaration.class_name}' "
            f"(it defines: {', '.join(classes) or 'no class'})."
        )
    return model_class


def check_model_contract(model: nn.Module, example: torch.Tensor, where: str, vocabulary: int | None = None) -> None:
    """Raise one clear line when ``model`` breaks its track's contract on the batch ``example``.

    The contract: the model takes a batch of the track's input and returns logits of shape
    ``(batch, 2)``. ``vocabulary`` is the number of token ids of a text track (ids 0 to
    ``vocabulary - 1``): the model must take the highest one (an embedding of positions may be smaller;
    the one that reads the tokens may not).
    """
    model.eval()
    if vocabulary is not None:  # a batch of the highest token id: an embedding too small for it fails
        tables = [
            (name, layer) for name, layer in model.named_modules() if isinstance(layer, nn.Embedding | nn.EmbeddingBag)
        ]
        small = [(name, layer.num_embeddings) for name, layer in tables if layer.num_embeddings < vocabulary]
        try:
            with torch.no_grad():
                model(torch.full_like(example, vocabulary - 1))
        except IndexError:
            named = ", ".join(f"'{name}' has {rows} rows" for name, rows in small) or "an embedding is too small"
            raise Day26Error(
                f"{where}: the token id {vocabulary - 1} does not fit the model ({named}): the track's token ids go "
                f"up to {vocabulary - 1}. Give the token embedding {vocabulary} rows and train it on the course data."
            ) from None
        except Exception:
            pass
    model.eval()
    try:
        with torch.no_grad():
            output = model(example)
    except Exception as error:  # the learner's forward can fail in any way
        raise Day26Error(
            f"{where}: the model fails on a batch of shape {tuple(example.shape)} ({example.dtype}): "
            f"{type(error).__name__}: {error}. Its forward must take one batch of the track's input."
        ) from None
    if not isinstance(output, torch.Tensor):
        raise Day26Error(f"{where}: forward returns a {type(output).__name__}, not a tensor. Return the logits only.")
    batch = example.shape[0]
    if tuple(output.shape) in ((batch,), (batch, 1)):
        raise Day26Error(
            f"{where}: forward returns one score per sample (shape {tuple(output.shape)}). Return logits over the "
            f"{NUM_CLASSES} classes, shape ({batch}, {NUM_CLASSES}): end with nn.Linear(..., {NUM_CLASSES}) and "
            "train with nn.CrossEntropyLoss."
        )
    if tuple(output.shape) != (batch, NUM_CLASSES):
        raise Day26Error(
            f"{where}: forward returns shape {tuple(output.shape)} for a batch of {batch}; the contract is "
            f"({batch}, {NUM_CLASSES}), one logit per class."
        )
    if not output.is_floating_point():
        raise Day26Error(f"{where}: forward returns {output.dtype} values. Return float logits.")


def declared_model(declaration: Declaration, example: torch.Tensor, vocabulary: int | None = VOCAB_SIZE) -> nn.Module:
    """Build the declared class, load its weights (``weights_only=True``, strict) and check the contract
    on ``example`` (a batch of the track's input). ``vocabulary`` is None for tracks without tokens."""
    model = load_into(declaration.build, declaration.weights)
    check_model_contract(model, example, str(declaration.file), vocabulary)
    return model
