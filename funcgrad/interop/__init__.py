"""Move weights between PyTorch and funcgrad: ``state_dict`` <-> nested params and buffers.

``"m0.weight"`` in a state_dict becomes ``params["m0"]["weight"]``, and back. Torch's buffers
(BatchNorm's running statistics) come apart from the parameters, as funcgrad keeps them:
``from_torch(torch_model, like=model)`` returns ``(params, buffers)`` for a model with buffers,
and ``to_torch(params, buffers)`` puts them back into one state_dict. Values are copied exactly
(same dtype, same bits), so a model run with copied weights gives PyTorch's numbers. PyTorch is
imported only when these functions run; it is not a runtime dependency.

``convert`` turns a torch model into funcgrad source; the files it writes import
:mod:`funcgrad.interop.runtime` (``Converted``, ``Children``), which needs no torch.

Example:
    >>> import torch, funcgrad as fg
    >>> params = fg.interop.from_torch(torch.nn.Linear(3, 2))
    >>> sorted(params), params["weight"].shape
    (['bias', 'weight'], (2, 3))
    >>> sorted(fg.interop.to_torch(params))
    ['bias', 'weight']
"""

from funcgrad.interop import runtime
from funcgrad.interop._convert import Conversion, convert
from funcgrad.interop._errors import ConversionError, NnxConversionError, StateDictMismatchError
from funcgrad.interop._nnx import NamedLayers, nnx_routes, to_nnx
from funcgrad.interop._state_dict import check_state_dict, from_torch, to_torch

__all__ = [
    "Conversion",
    "ConversionError",
    "NamedLayers",
    "NnxConversionError",
    "StateDictMismatchError",
    "check_state_dict",
    "convert",
    "from_torch",
    "nnx_routes",
    "runtime",
    "to_nnx",
    "to_torch",
]
