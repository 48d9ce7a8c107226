"""helpers.same_model and the kernel-long memory of helpers.measure.correct_per_sample: the same model on
the same split is measured once; any change to what the model computes with measures it again."""

from __future__ import annotations

import torch
import torch.nn.utils.prune as prune
from torch import nn

from helpers.data import Dataset
from helpers.measure import correct_per_sample
from helpers.same_model import dataset_digest, model_digest


class Counted(nn.Module):
    """An MLP that counts its forward calls (in a list: a plain number would be part of its digest)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
        self.scale = scale
        self.calls: list[int] = []

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(features))
        return self.layers(features) * self.scale


def _dataset(seed: int = 0) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    return Dataset(torch.randn(200, 10, generator=generator), torch.randint(0, 2, (200,), generator=generator), "t")


def test_the_same_model_on_the_same_split_is_measured_once():
    torch.manual_seed(0)
    model, data = Counted(), _dataset()
    first = correct_per_sample(model, data)
    calls = len(model.calls)
    assert calls > 0
    twin = Counted()
    twin.load_state_dict(model.state_dict())  # another object, the same weights
    assert (correct_per_sample(twin, _dataset()) == first).all() and twin.calls == []
    assert len(model.calls) == calls


def test_a_changed_weight_a_setting_another_split_or_a_hook_measures_again():
    torch.manual_seed(0)
    model, data = Counted(), _dataset()
    correct_per_sample(model, data)
    digest = model_digest(model)
    with torch.no_grad():
        model.layers[0].weight[0, 0] += 1e-3
    assert model_digest(model) != digest
    model.calls.clear()
    correct_per_sample(model, data)
    assert model.calls  # measured again
    scaled = Counted(scale=2.0)
    scaled.load_state_dict(model.state_dict())
    assert model_digest(scaled) != model_digest(model)  # a plain setting of the model's class counts
    assert dataset_digest(_dataset(1)) != dataset_digest(data)
    model.layers[0].register_forward_hook(lambda layer, inputs, output: output * 2)  # changes what it computes
    assert model_digest(model) is None
    model.calls.clear()
    correct_per_sample(model, data)
    once = len(model.calls)
    correct_per_sample(model, data)
    assert once > 0 and len(model.calls) == 2 * once  # measured both times


def test_a_pruning_mask_counts_as_the_weight_it_makes():
    def pruned(remove: bool) -> Counted:
        torch.manual_seed(0)
        model = Counted()
        prune.l1_unstructured(model.layers[0], "weight", amount=0.5)  # weight_orig and weight_mask, and a hook
        if remove:
            prune.remove(model.layers[0], "weight")  # the zeros now in the weight itself
        return model

    masked, removed = pruned(remove=False), pruned(remove=True)
    reloaded = Counted()
    reloaded.load_state_dict(removed.state_dict())
    assert model_digest(masked) is not None
    assert model_digest(masked) == model_digest(removed) == model_digest(reloaded)
    torch.manual_seed(0)
    assert model_digest(Counted()) != model_digest(masked)  # the zeros count
