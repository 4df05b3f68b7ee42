"""What trains: the head, the backbone's top N blocks, or everything; the rest is frozen in eval mode.

Blocks come from timm's own grouping where the network has one (stem, each block, with the final
convolution folded into the last), else from the module tree: plain Sequential/ModuleList
containers are opened and each normalization layer joins the layer before it. Frozen parts stay in
eval mode during training, so their BatchNorm statistics never move.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from advcat.models.heads import head_name

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def backbone_blocks(net: nn.Module) -> list[list[str]]:
    """The network's blocks below the head, bottom to top, each a list of module names."""
    head = head_name(net)
    matcher = getattr(net, "group_matcher", None)
    if callable(matcher):
        from timm.models import group_modules

        groups = group_modules(net, matcher(coarse=False))
        blocks = [[n for n in names if n != head and not n.startswith(head + ".")]
                  for _, names in sorted(groups.items())]
        return [block for block in blocks if block]
    return _tree_blocks(net, head)


def _tree_blocks(net: nn.Module, head: str) -> list[list[str]]:
    units: list[tuple[str, nn.Module]] = []

    def visit(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            full = f"{prefix}{name}"
            if full == head:
                continue
            if type(child) in (nn.Sequential, nn.ModuleList) or (head.startswith(full + ".")):
                visit(child, full + ".")
            elif any(True for _ in child.parameters()):
                units.append((full, child))

    visit(net, "")
    blocks: list[list[str]] = []
    for name, module in units:
        if blocks and isinstance(module, _NORMS):
            blocks[-1].append(name)
        else:
            blocks.append([name])
    return blocks


@dataclass
class FreezePlan:
    """The modules that train (names in the network) and the parameter groups for the optimizer."""

    head: nn.Module
    trainable: list[nn.Module]
    head_params: list[nn.Parameter]
    block_params: list[nn.Parameter]


def freeze(net: nn.Module, blocks: int) -> FreezePlan:
    """Freeze `net` except its head and top `blocks` blocks (-1: everything trains)."""
    head = net.get_submodule(head_name(net))
    for param in net.parameters():
        param.requires_grad_(False)
    if blocks == -1:
        roots: list[nn.Module] = [net]
    else:
        found = backbone_blocks(net)
        if blocks > len(found):
            raise ValueError(
                f"unfreeze={blocks}, but the backbone has only {len(found)} blocks below its head"
            )
        names = [name for block in found[len(found) - blocks:] for name in block] if blocks else []
        roots = [head, *(net.get_submodule(name) for name in names)]
    for root in roots:
        for param in root.parameters():
            param.requires_grad_(True)
    head_ids = {id(p) for p in head.parameters()}
    trainable = [p for p in net.parameters() if p.requires_grad]
    return FreezePlan(
        head=head, trainable=roots,
        head_params=[p for p in trainable if id(p) in head_ids],
        block_params=[p for p in trainable if id(p) not in head_ids],
    )


def set_modes(net: nn.Module, plan: FreezePlan) -> None:
    """Train mode for the parts that learn, eval mode (fixed BatchNorm, no dropout) elsewhere."""
    net.eval()
    for root in plan.trainable:
        root.train()
