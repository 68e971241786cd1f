"""Loss functions with PyTorch's semantics and ``reduction="mean" | "sum" | "none"``.

Each is a pure function with ``torch.nn.functional``'s name, argument names and positional order
(``input``, ``target``, ``weight``, ..., without the deprecated ``size_average``/``reduce``);
differentiate it with ``jax.grad`` like any other. Each runs inside ``jax.named_scope(<its name>)``,
so a jaxpr's ``name_stack`` (and ``fg.graph``) groups its operations. The logit losses stay finite for
logits of any size (``|z| >= 100`` included).

Where funcgrad is stricter than torch: for the regression losses (``l1_loss``, ``mse_loss``,
``huber_loss``, ``smooth_l1_loss``) and the binary cross-entropies, ``input`` and ``target`` must
have the same shape (torch broadcasts them with a warning), and so must ``weight`` for the
element-wise losses.

One module per family: ``_regression`` (L1, MSE, Huber, smooth L1), ``_binary`` (binary
cross-entropies), ``_cross_entropy`` (cross-entropy, NLL), ``_likelihood`` (KL divergence, Poisson and
Gaussian NLL), ``_margin`` (ranking, hinge, soft and multi-class margins, cosine embedding),
``_triplet``, ``_ctc`` and ``_linear_cross_entropy`` (cross-entropy of a linear projection's
logits). Their ``torch.nn`` module forms are in ``fg.nn`` (``fg.nn.CrossEntropyLoss``).

Class indices outside ``[0, C)`` (other than ``ignore_index``) of ``cross_entropy``, ``nll_loss`` and
``multi_margin_loss`` raise ``IndexError`` in an eager call,
as torch does. Under ``jax.jit`` the labels are traced values and cannot be inspected, so such an
example's loss is NaN (and so is a ``"mean"`` or ``"sum"`` over it): a bad label is never silently
counted as some other class. Check labels when the data is loaded.

The notes contrast the loss of one sample with the average loss over a set. Functionally, write the
per-sample loss for one example and ``vmap`` it, then take the mean yourself:

    >>> import jax, jax.numpy as jnp
    >>> per_sample = jax.vmap(lambda z, y: mse_loss(z, y, reduction="sum"))
    >>> z, y = jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.zeros((2, 2))
    >>> per_sample(z, y).tolist(), float(per_sample(z, y).mean())
    ([5.0, 25.0], 15.0)
"""

from funcgrad.losses._binary import binary_cross_entropy, binary_cross_entropy_with_logits
from funcgrad.losses._common import Reduction
from funcgrad.losses._cross_entropy import cross_entropy, nll_loss
from funcgrad.losses._ctc import ctc_loss
from funcgrad.losses._likelihood import gaussian_nll_loss, kl_div, poisson_nll_loss
from funcgrad.losses._linear_cross_entropy import linear_cross_entropy
from funcgrad.losses._margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
)
from funcgrad.losses._regression import huber_loss, l1_loss, mse_loss, smooth_l1_loss
from funcgrad.losses._triplet import triplet_margin_loss, triplet_margin_with_distance_loss

__all__ = [
    "Reduction",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
